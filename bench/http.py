"""A minimal HTTP/1.1 keep-alive client for the load loops.

httpx spends milliseconds of CPU per call on these two cores: measured
against the same no-op, 32 clients on httpx reached 120-300 req/s (one
shared pool, or one client each) where plain keep-alive sockets reached
530. The load generator shares the machine with what it measures, so it
must be as cheap as possible: this sends a POST with a JSON body and reads
the status line, headers and body (content-length or chunked), nothing more.
Each caller takes an idle connection (or opens one) and puts it back after.
"""

from __future__ import annotations

import asyncio

# Header lines or body chunks in one answer: restate's are a handful.
_MAX_LINES = 1_000


class CallFailed(RuntimeError):
    pass


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.reusable = True

    async def post(self, host: str, path: str, body: bytes) -> tuple[int, bytes]:
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n".encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked = 0, False
        for _ in range(_MAX_LINES):
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                self.reusable = False
        else:
            raise ConnectionError(f"over {_MAX_LINES} header lines")
        if not chunked:
            return status, await self.reader.readexactly(length)
        return status, await self._chunks()

    async def _chunks(self) -> bytes:
        parts = []
        for _ in range(_MAX_LINES):
            size = int((await self.reader.readline()).split(b";")[0], 16)
            if not size:
                await self.reader.readline()  # the empty trailer
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()
        raise ConnectionError(f"over {_MAX_LINES} chunks")

    def close(self) -> None:
        self.writer.close()


class RawHttp:
    """POSTs to one host:port, reusing idle connections."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._idle: list[_Connection] = []

    async def post(self, path: str, body: bytes) -> bytes:
        """The response body; CallFailed on a non-2xx status."""
        conn = self._idle.pop() if self._idle else _Connection(
            *await asyncio.open_connection(self.host, self.port))
        try:
            status, content = await conn.post(self.host, path, body)
        except BaseException:
            conn.close()
            raise
        if conn.reusable:
            self._idle.append(conn)
        else:
            conn.close()
        if status >= 300:
            raise CallFailed(f"POST {path}: {status} {content[:200].decode(errors='replace')}")
        return content

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
            try:
                await conn.writer.wait_closed()
            except OSError:
                pass
