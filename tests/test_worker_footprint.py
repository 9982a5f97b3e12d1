"""A web worker loads only what serving needs: its memory is paid once per worker."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


COUNT_MALLOC_ARENAS = r"""
import ctypes, os, runpy, sys, tempfile, threading

if sys.argv[1] == "with-gunicorn-conf":
    runpy.run_path("gunicorn.conf.py")  # as the gunicorn master loads it
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
together = threading.Barrier(8)

def allocate():
    together.wait()
    blocks = [libc.malloc(4096) for _ in range(500)]
    together.wait()  # every thread holds its blocks at once
    for block in blocks:
        libc.free(block)

threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
path = os.path.join(tempfile.mkdtemp(), "malloc.xml")
report = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, report)
libc.fclose(report)
print(open(path).read().count("<heap nr="))
"""


def _malloc_arenas(*args: str, env: dict | None = None) -> int:
    result = subprocess.run(
        [sys.executable, "-c", COUNT_MALLOC_ARENAS, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def test_gunicorn_workers_threads_share_two_malloc_arenas():
    import ctypes

    if not hasattr(ctypes.CDLL(None), "malloc_info"):
        pytest.skip("not glibc: there are no per-thread malloc arenas to limit")
    env = {key: value for key, value in os.environ.items() if key != "MALLOC_ARENA_MAX"}
    # Eight threads allocating at once get arenas of their own; under gunicorn.conf.py, two.
    assert _malloc_arenas("bare", env=env) > 2
    assert _malloc_arenas("with-gunicorn-conf", env=env) <= 2
