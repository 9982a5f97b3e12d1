"""Settings are checked when a process starts: a bad one stops it with one line naming it."""

import os
import subprocess
import sys

import pytest

from tests.support.server import ROOT
from tests.support.smtp import free_port

GOOD_KEY = "a-production-secret-key-0123456789-abcdefgh"

# One bad variable per row; the rest of the environment is a valid production one.
BAD_SETTINGS = [
    ("MAIL_PORT", "abc"),
    ("MAIL_PORT", "0"),
    ("MAIL_PORT", "65536"),
    ("MAIL_TIMEOUT", "-5"),
    ("CONFIRM_TOKEN_MAX_AGE", "0"),
    ("RESET_TOKEN_MAX_AGE", "-1"),
    ("ACCESS_TOKEN_MAX_AGE", "1h"),
    ("EMAIL_REVERT_TOKEN_MAX_AGE", "0"),
    ("VERIFICATION_CODE_LENGTH", "5"),
    ("VERIFICATION_CODE_LENGTH", "11"),
    ("VERIFICATION_CODE_MAX_AGE", "0"),
    ("VERIFICATION_CODE_MAX_ATTEMPTS", "0"),
    ("VERIFICATION_CODE_MAX_ATTEMPTS", "21"),
    ("RATELIMIT_CONFIRM_CODE", "10/minit"),
    ("OUTBOX_SWEEP_SECONDS", "0"),
    ("OUTBOX_MAX_ATTEMPTS", "0"),
    ("OUTBOX_RETRY_BASE_SECONDS", "-30"),
    ("OUTBOX_LEASE_SECONDS", "5"),  # not longer than MAIL_TIMEOUT (10)
    ("MAIL_USE_SSL", "true"),  # with MAIL_USE_TLS=true below
    ("MAIL_BACKEND", "sendmail"),
    ("RATELIMIT_LOGIN", "10/minit"),
    ("RATELIMIT_REGISTER", "ten per minute"),
    ("RATELIMIT_LOGIN_PER_ADDRESS", "10/minute;x"),
    ("RATELIMIT_ENABLED", "flase"),
    ("RATELIMIT_STORAGE_URI", "redis//localhost:6379"),
    ("PREVENT_ENUMERATION", "maybe"),
    ("APP_ENV", "prod"),
    ("LOG_FORMAT", "xml"),
    ("METRICS_TOKEN", "short"),
    ("CONFIRM_URL_TEMPLATE", "myapp://confirm"),
    ("PUBLIC_BASE_URL", "example.com"),
    ("DATABASE_URL", "postgres://localhost/app"),
    ("ARGON2_TIME_COST", "0"),
    ("PROXY_FIX_X_FOR", "-1"),
    ("SECRET_KEY", "short"),
    ("WEBHOOK_SECRET", "whsec_dG9vIHNob3J0"),  # base64 of 9 bytes: too short a key
    ("WEBHOOK_URL", "ftp://hooks.example.com/accounts"),
    ("WEBHOOK_URL", "https://hooks.example.com/accounts"),  # without WEBHOOK_SECRET
    ("WEBHOOK_TIMEOUT", "0"),
]
COMMANDS = {
    "import wsgi": [sys.executable, "-c", "import wsgi"],
    "flask outbox list": [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "list"],
}


def _production_env(tmp_path, **changes) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "RATELIMIT_"))}
    env.update(
        APP_ENV="production",
        SECRET_KEY=GOOD_KEY,
        DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}",
        PUBLIC_BASE_URL="https://accounts.example.com",
        MAIL_SERVER="127.0.0.1",
        MAIL_USE_TLS="true",
        METRICS_TOKEN="a-long-metrics-token-0123456789",
        LOG_FORMAT="json",
    )
    env.update(changes)
    return env


def _run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        COMMANDS[command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS, ids=[f"{n}={v}" for n, v in BAD_SETTINGS])
def test_a_bad_setting_stops_the_start_with_one_line_naming_it(tmp_path, command, name, value):
    result = _run(command, _production_env(tmp_path, **{name: value}))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"configuration error: {name} "), lines[0]


@pytest.mark.live_server
def test_gunicorn_stops_on_a_bad_setting_instead_of_restarting_workers(tmp_path):
    command = [
        sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{free_port()}",
        "--workers", "2", "--no-control-socket",
    ]  # fmt: skip
    env = _production_env(tmp_path, MAIL_PORT="abc")
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "configuration error: MAIL_PORT " in result.stderr
    assert "Traceback" not in result.stderr


def test_a_secret_value_is_never_echoed(tmp_path):
    result = _run("import wsgi", _production_env(tmp_path, METRICS_TOKEN="s3cr3t"))
    assert "METRICS_TOKEN" in result.stderr and "s3cr3t" not in result.stderr


def test_several_bad_settings_are_named_on_the_same_line(tmp_path):
    result = _run("import wsgi", _production_env(tmp_path, MAIL_PORT="abc", LOG_FORMAT="xml"))
    [line] = result.stderr.strip().splitlines()
    assert "MAIL_PORT" in line and "LOG_FORMAT" in line


@pytest.mark.parametrize("command", COMMANDS)
def test_a_valid_production_config_starts(tmp_path, command):
    result = _run(command, _production_env(tmp_path))
    if command == "flask outbox list":
        # Exits 0 once it reached the database: the schema is missing, so migrate first.
        migrate = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
        env = _production_env(tmp_path)
        subprocess.run(migrate, cwd=ROOT, env=env, capture_output=True, check=True, timeout=120)
        result = _run(command, env)
        assert "pending=0" in result.stdout
    assert result.returncode == 0, result.stderr
    assert "configuration error" not in result.stderr
