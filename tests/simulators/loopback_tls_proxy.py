"""A test-only HTTPS ``CONNECT`` proxy on loopback that lets an unchanged vendor client reach a
simulator at the vendor's real hostname.

Some vendor clients hard-code ``https://<vendor host>/...`` and offer no switch for another base URL
(PyBambooHR builds ``https://api.bamboohr.com/...`` in its constructor).  Such a client still honours
the standard ``HTTPS_PROXY`` and ``REQUESTS_CA_BUNDLE`` environment of ``requests``, so a test sets
those (with ``monkeypatch``) and this proxy:

* accepts ``CONNECT <host>:443`` only for the hostnames it was given, answers ``200`` and then
  terminates TLS itself with a certificate for that hostname issued by a throw-away ``trustme`` CA
  (the client verifies it against :attr:`ca_bundle`, so certificate checking stays on);
* forwards the decrypted bytes to the simulator's plain-HTTP loopback address;
* refuses every other destination, and every non-``CONNECT`` request, with ``403`` / ``405``
  without opening any connection: it can never reach past this machine (the targets themselves
  must be loopback addresses, checked at construction).

``tunnels`` counts tunnels opened and ``refused`` lists refused destinations, for assertions.
"""
from __future__ import annotations

import asyncio
import ipaddress
import os
import ssl
import tempfile
import threading
from urllib.parse import urlsplit

import trustme

_LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LoopbackTlsProxy:
    """``routes`` maps a vendor hostname (e.g. ``api.bamboohr.com``) to a loopback simulator URL."""

    def __init__(self, routes: dict[str, str]) -> None:
        self.routes: dict[str, tuple[str, int]] = {}
        for host, url in routes.items():
            parts = urlsplit(url)
            if parts.scheme != "http" or not parts.hostname or not _is_loopback(parts.hostname):
                raise ValueError(f"proxy target for {host} must be a plain-HTTP loopback URL, got {url!r}")
            self.routes[host.lower()] = (parts.hostname, parts.port or 80)
        self.ca = trustme.CA()
        self._server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(*self.routes).configure_cert(self._server_ctx)
        self._dir = tempfile.TemporaryDirectory(prefix="sim-proxy-")
        self.ca_bundle = os.path.join(self._dir.name, "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_bundle)
        self.url = ""
        self.tunnels = 0
        self.refused: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._tasks: set[asyncio.Task] = set()
        self._thread = threading.Thread(target=self._run, daemon=True, name="tls-proxy")

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> "LoopbackTlsProxy":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("proxy did not start within 10 s")
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._dir.cleanup()

    def __enter__(self) -> "LoopbackTlsProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        await self._stop.wait()
        server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await server.wait_closed()

    # ---- one client ----------------------------------------------------------------------
    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._tunnel(reader, writer)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                asyncio.TimeoutError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        words = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        if len(words) != 3 or words[0].upper() != "CONNECT":
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return
        host, _, port = words[1].rpartition(":")
        target = self.routes.get(host.lower()) if port == "443" else None
        if target is None:
            self.refused.append(words[1])
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await writer.start_tls(self._server_ctx)
        up_reader, up_writer = await asyncio.open_connection(*target)
        self.tunnels += 1
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            up_writer.close()

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while chunk := await src.read(65536):
                dst.write(chunk)
                await dst.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            dst.close()
