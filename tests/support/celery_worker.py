"""Real `celery worker` and `celery beat` processes with the production config, for tests."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from tests.support.server import ROOT, TEST_SECRET_KEY


class CeleryProcess:
    """`celery -A wsgi.celery_app worker|beat`, pointed at a test's database, SMTP and broker."""

    def __init__(
        self,
        command: str,
        *,
        database_url: str,
        smtp_port: int,
        broker_url: str,
        workdir: Path,
        **env,
    ):
        self.command = command
        self.workdir = workdir
        self.env = {
            **os.environ,
            "APP_ENV": "production",
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "PUBLIC_BASE_URL": "http://testserver.example",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "1024",
            "RATELIMIT_ENABLED": "false",
            **{key: str(value) for key, value in env.items()},
        }
        self.output: list[str] = []
        self.process: subprocess.Popen | None = None

    def _argv(self) -> list[str]:
        base = [sys.executable, "-m", "celery", "-A", "wsgi.celery_app"]
        if self.command == "worker":
            return [
                *base, "worker", "--pool", "threads", "--concurrency", "2",
                "--without-heartbeat", "--without-gossip", "--without-mingle",
                "--hostname", f"test-{uuid.uuid4().hex[:8]}@%h", "--loglevel", "INFO",
            ]  # fmt: skip
        return [
            *base, "beat", "--schedule", str(self.workdir / f"beat-{uuid.uuid4().hex[:8]}"),
            "--max-interval", "1", "--loglevel", "INFO",
        ]  # fmt: skip

    def start(self) -> "CeleryProcess":
        self.process = subprocess.Popen(
            self._argv(),
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._collect, args=(self.process,), daemon=True).start()
        return self

    def _collect(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.output.append(line.rstrip())
        process.stdout.close()

    def wait_ready(self, timeout: float = 30) -> "CeleryProcess":
        marker = " ready." if self.command == "worker" else "beat: Starting"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(marker in line for line in self.output):
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        log = "\n".join(self.output[-40:])
        self.stop()
        raise RuntimeError(f"celery {self.command} did not start:\n{log}")

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, no cleanup; as if the machine died."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def request_stop(self) -> None:
        """Ask for a cold shutdown (a warm one waits for running tasks and the broker poll)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.request_stop()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
