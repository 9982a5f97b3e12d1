"""SECRET_KEY checks at start-up, and key rotation for access tokens."""

import os
import subprocess
import sys

import pytest

from app import ConfigError, create_app
from config import DEVELOPMENT_SECRET_KEY
from tests.support.accounts import PASSWORD
from tests.support.server import ROOT

GOOD_KEY = "a-production-secret-key-0123456789-abcdefgh"
BAD_KEYS = {
    "missing": None,
    "short": "too-short-0123456789",
    "development default": DEVELOPMENT_SECRET_KEY,
}


@pytest.mark.parametrize("key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_production_refuses_an_unsafe_secret_key(key):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app("production", {"SECRET_KEY": key, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_starts_with_a_proper_secret_key():
    app = create_app("production", {"SECRET_KEY": GOOD_KEY, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["ENV_NAME"] == "production"


def _import_wsgi(tmp_path, key):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(APP_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}")
    if key is not None:
        env["SECRET_KEY"] = key
    return subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_wsgi_exits_with_a_one_line_reason(tmp_path, key):
    result = _import_wsgi(tmp_path, key)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # a reason, not a traceback
    assert lines[0].startswith("configuration error: SECRET_KEY")


def test_wsgi_imports_with_a_proper_key(tmp_path):
    result = _import_wsgi(tmp_path, GOOD_KEY)
    assert result.returncode == 0, result.stderr


def _login(client):
    response = client.post("/login", json={"email": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 200
    return response.json["access_token"]


def _me(client, token):
    return client.get("/me", headers={"Authorization": f"Bearer {token}"})


def test_access_token_survives_a_rotation_until_the_old_key_is_dropped(app_factory, make_user):
    old_key = "old-secret-key-0123456789-0123456789-abcdef"
    new_key = "new-secret-key-0123456789-0123456789-abcdef"
    make_user("ann@example.com", PASSWORD)
    token = _login(app_factory(SECRET_KEY=old_key).test_client())

    rotated = app_factory(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[old_key]).test_client()
    assert _me(rotated, token).status_code == 200
    fresh = _login(rotated)

    dropped = app_factory(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[]).test_client()
    refused = _me(dropped, token)
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "unauthorized"
    # A token issued during the rotation is signed with the new key and outlives the old one.
    assert _me(dropped, fresh).status_code == 200
