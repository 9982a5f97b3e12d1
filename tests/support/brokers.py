"""A test's view of a Celery broker (Redis or RabbitMQ): a queue of its own and its depth."""

import uuid

from tests.support.smtp import free_port


class Broker:
    """A broker URL and a queue name unique to one test, so parallel runs never share tasks."""

    def __init__(self, kind: str, url: str):
        self.kind = kind
        self.url = url
        self.queue = f"test-{uuid.uuid4().hex[:12]}"

    def dead_url(self) -> str:
        """A URL of the same kind where nothing listens."""
        if self.kind == "redis":
            return f"redis://127.0.0.1:{free_port()}/0"
        return f"amqp://guest:guest@127.0.0.1:{free_port()}//"

    def depth(self) -> int:
        """Tasks waiting in the queue (on RabbitMQ: ready ones; those a worker holds are not)."""
        if self.kind == "redis":
            import redis

            with redis.Redis.from_url(self.url) as client:
                return client.llen(self.queue)
        from amqp.exceptions import NotFound
        from kombu import Connection

        with Connection(self.url, connect_timeout=3) as connection:
            try:
                _, count, _ = connection.default_channel.queue_declare(self.queue, passive=True)
            except NotFound:  # nothing was ever queued
                return 0
            return count

    def drained(self) -> bool:
        """Nothing waiting, and (Redis) nothing held unacknowledged by a worker."""
        if self.depth():
            return False
        if self.kind == "redis":
            import redis

            with redis.Redis.from_url(self.url) as client:
                return not client.hlen("unacked")
        # RabbitMQ hands a dead worker's unacknowledged tasks back at once: depth says it all.
        return True

    def remove(self) -> None:
        """Delete this test's queue and exchange (RabbitMQ keeps them; Redis is flushed)."""
        if self.kind != "rabbitmq":
            return
        from kombu import Connection

        with Connection(self.url, connect_timeout=3) as connection:
            channel = connection.default_channel
            channel.queue_delete(self.queue)
            channel.exchange_delete(self.queue)
