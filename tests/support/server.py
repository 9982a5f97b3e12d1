"""A real server process (gunicorn) serving the app on a free loopback port, for tests."""

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.smtp import free_port

ROOT = Path(__file__).resolve().parents[2]
TEST_SECRET_KEY = "live-server-secret-key-0123456789-0123456789"


def stop_process(process: subprocess.Popen | None) -> None:
    """Ask a server process to stop (SIGTERM), and kill it if it has not within 10 s."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class LiveServer:
    """gunicorn with the production config, pointed at a test's database and SMTP server."""

    def __init__(
        self,
        database_url: str,
        smtp_port: int,
        *,
        workers: int = 2,
        threads: int = 4,
        log_path: Path | None = None,
        **env,
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "APP_ENV": "production",
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATABASE_URL": database_url,
            "PUBLIC_BASE_URL": "http://testserver.example",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "MAIL_TIMEOUT": "5",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "1024",
            "RATELIMIT_ENABLED": "false",
            **{key: str(value) for key, value in env.items()},
        }
        self.workers = workers
        self.threads = threads
        self.log_path = log_path  # the server's stderr (its log) goes there when given
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "LiveServer":
        command = [
            sys.executable, "-m", "gunicorn", "wsgi:app",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            "--threads", str(self.threads),
            # Several masters on one machine would fight over ~/.gunicorn's control socket.
            "--no-control-socket",
            "--graceful-timeout", "2",
            "--log-level", "warning",
        ]  # fmt: skip
        log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115
        try:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stderr=log)
        finally:
            if log:
                log.close()  # the child holds its own copy
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                requests.get(f"{self.url}/healthz", timeout=1)
                return self
            except (requests.ConnectionError, requests.Timeout):
                # A first answer slower than the poll timeout (a loaded machine) is not up yet.
                time.sleep(0.1)
            except BaseException:
                self.stop()  # never leave the process behind
                raise
        self.stop()
        raise RuntimeError("server did not start in time")

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
