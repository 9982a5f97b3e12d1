"""A TCP server that accepts connections and never says a word: a hung SMTP server."""

import socket
import threading

from tests.support.smtp import free_port


class SilentServer:
    """Accepts connections and holds them open without sending the SMTP greeting."""

    def __init__(self):
        self.port = free_port()
        self.connections: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> "SilentServer":
        self._thread.start()
        return self

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections.append(connection)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for connection in self.connections:
            connection.close()
        self._listener.close()
