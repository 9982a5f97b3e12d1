"""Bounded waiting for something another thread or process does."""

import time


def wait_until(predicate, timeout: float = 10.0, what: str = "the condition") -> None:
    """Poll predicate() until it is true; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
