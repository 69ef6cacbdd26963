"""A loopback TCP proxy that can cut a server off (fault drills): open connections are
dropped and new ones refused until it is restored, while the server itself keeps running
for everyone else (the shared PostgreSQL of the test suite)."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

CHUNK_BYTES = 65536


@dataclass
class TcpProxy:
    target: tuple[str, int]
    refused: int = 0
    """Connections turned away while cut."""
    listen_host: str = "127.0.0.1"
    """Where it listens: loopback, or the host's end of a test network namespace."""
    _listener: socket.socket = field(init=False, repr=False)
    _open: set[socket.socket] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _cut: bool = field(default=False, init=False)

    def start(self) -> TcpProxy:
        self._listener = socket.create_server((self.listen_host, 0))
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            for sock in self._open:
                _drop(sock)

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def stop(self) -> None:
        self.cut()
        self._listener.close()  # the accept thread ends with it

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._cut:
                    self.refused += 1
                    _drop(client)
                    continue
                try:
                    server = socket.create_connection(self.target, timeout=5)
                except OSError:
                    _drop(client)
                    continue
                server.settimeout(None)
                self._open.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(CHUNK_BYTES):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                for sock in (source, sink):
                    self._open.discard(sock)
                    _drop(sock)


def _drop(sock: socket.socket) -> None:
    """Close now; shutdown first, so that a pump thread blocked in recv() wakes up."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
