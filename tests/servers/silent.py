"""A server that never answers: what a hook's timeouts are tested against.

``with SilentServer() as silent:`` listens on a free loopback port (``silent.port``,
``silent.url(scheme)``), accepts every connection, reads what the client sends and answers
nothing; ``silent.accepted`` counts the connections (a hook's attempts). After ``hold`` seconds
a connection is closed: a client without a timeout then fails with "connection closed" rather
than hanging the test run, so a test asserting "timed out" goes red.

``SilentServer(accept=False)`` does not even complete TCP handshakes (its accept queue is kept
full, so the kernel drops new SYNs): a client's connect waits, which tests connect timeouts.
After ``hold`` seconds the port is closed and a client still trying gets "connection refused".
"""
from __future__ import annotations

import select
import socket
import threading


class SilentServer:
    def __init__(self, hold: float = 8.0, accept: bool = True):
        self.hold = hold
        self.accept = accept
        self.accepted = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16 if accept else 0)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._fillers: list[socket.socket] = []

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.accepted += 1
            thread = threading.Thread(target=self._hold, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _hold(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        waited = 0.0
        with conn:
            while waited < self.hold and not self._stop.is_set():
                try:
                    if conn.recv(65536) == b"":
                        return  # the client gave up
                except OSError:
                    waited += 0.2

    def _fill(self) -> None:
        """Connect until a handshake no longer completes: the accept queue is full."""
        for _ in range(16):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self._fillers.append(filler)
            _, writable, _ = select.select([], [filler], [], 0.3)
            if not writable:  # its SYN was dropped: so will the client's be
                return
        raise RuntimeError("SilentServer: the accept queue did not fill up")

    def _close_later(self) -> None:
        self._stop.wait(self.hold)
        self._close()

    def _close(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._sock.close()

    def __enter__(self) -> SilentServer:
        if not self.accept:
            self._fill()
        thread = threading.Thread(target=self._serve if self.accept else self._close_later, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        if self.accept:
            self._close()
