"""A minimal Socket.IO v5 client over Engine.IO v4 websockets, on asyncio streams.

Thousands of map viewers cannot each be a thread, and a full client library costs
more CPU per message than the server does to send it, which would make the load
generator the bottleneck. This client does only what a viewer of ``/live`` does:
open the websocket, join one namespace, answer Engine.IO pings, and hand each event
frame to a callback with the monotonic time it was read. Only loopback, no TLS.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable

__all__ = ["EventSink", "live_client"]

#: Called with the raw event frame after the namespace prefix (``["positions",{...}]``)
#: and the monotonic time at which the frame had been read.
EventSink = Callable[[bytes, float], None]

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def _frame(payload: bytes, opcode: int = TEXT) -> bytes:
    """A client frame: final, masked (RFC 6455 requires clients to mask)."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    key = int.from_bytes((mask * (size // 4 + 1))[:size], "big") if size else 0
    body = (int.from_bytes(payload, "big") ^ key).to_bytes(size, "big") if size else b""
    return header + mask + body


async def _read_message(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One whole message (continuations joined); server frames are never masked."""
    parts: list[bytes] = []
    first_opcode = 0
    while True:
        b0, b1 = await reader.readexactly(2)
        size = b1 & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await reader.readexactly(8))
        payload = await reader.readexactly(size) if size else b""
        opcode = b0 & 0x0F
        if opcode >= CLOSE:  # control frames may arrive between fragments
            return opcode, payload
        first_opcode = first_opcode or opcode
        parts.append(payload)
        if b0 & 0x80:
            return first_opcode, b"".join(parts)


async def _handshake(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        writer.close()
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
    return reader, writer


async def live_client(
    host: str,
    port: int,
    on_event: EventSink,
    joined: asyncio.Future[None],
    namespace: str = "/live",
) -> None:
    """Join ``namespace`` and feed its events to ``on_event`` until the server closes.

    ``joined`` is resolved once the namespace accepted the client (or failed with the
    reason), so a caller can wait until every client is in before starting a clock.
    """
    reader, writer = await _handshake(host, port)
    prefix = f"42{namespace},".encode()
    accepted = f"40{namespace},".encode()
    refused = f"44{namespace},".encode()
    try:
        while True:
            opcode, data = await _read_message(reader)
            now = time.monotonic()
            if opcode == PING:
                writer.write(_frame(data, PONG))
            elif opcode == CLOSE:
                return
            elif data.startswith(prefix):
                on_event(data[len(prefix) :], now)
            elif data == b"2":
                writer.write(_frame(b"3"))
            elif data.startswith(b"0{"):
                writer.write(_frame(accepted))
            elif data.startswith(accepted) and not joined.done():
                joined.set_result(None)
            elif data.startswith(refused) and not joined.done():
                joined.set_exception(ConnectionRefusedError(data.decode(errors="replace")))
                return
            elif data == b"1":
                return
    finally:
        writer.close()
