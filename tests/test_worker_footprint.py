"""A web worker loads only what serving needs: its memory is paid once per worker."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SERVE_ONE_REGISTRATION = """
import sys
import gunicorn.app.wsgiapp  # as in a gunicorn worker, which imports wsgi after gunicorn
from app import create_app
from app.extensions import db

app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://", "OUTBOX_AUTODISPATCH": False})
with app.app_context():
    db.create_all()
    response = app.test_client().post(
        "/register", json={"email": "ann@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 202, response.data
    weak = app.test_client().post(
        "/register", json={"email": "bob@example.com", "password": "password1"}
    )
    assert weak.status_code == 400, weak.data
unwanted = ("alembic", "zxcvbn", "requests")
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in unwanted)))
"""


def test_a_gunicorn_worker_loads_neither_alembic_nor_zxcvbns_matchers_nor_requests():
    result = subprocess.run(
        [sys.executable, "-c", SERVE_ONE_REGISTRATION],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # The common-password check still works (bob's password was refused) without them;
    # requests is for webhook events only, and they are off here.
    assert result.stdout.split() == []


def test_the_flask_command_still_has_the_migrations(app):
    assert "db" in app.cli.commands or "migrate" in app.extensions
    assert "migrate" in app.extensions
