"""A load-generator process: many ``/live`` viewers on one asyncio loop, recording receipts.

Every viewer gets the same bytes for a broadcast, so each distinct message is parsed
once per process and a receipt costs a CRC and two appends; that keeps the generator
far below the server's CPU and its receipt times close to the moment of arrival.
Times are ``time.monotonic()``, the same clock in every process of the machine.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from _wsclient import live_client

__all__ = ["Recorder", "run_viewers"]

#: Viewers that open their websocket at once; more overflows the server's listen queue.
JOIN_WAVE = 100


@dataclass
class Recorder:
    """Receipts of ``positions`` messages: each distinct message is parsed once."""

    messages: list[list[tuple[str, int]]] = field(default_factory=list)
    index: dict[int, int] = field(default_factory=dict)
    which: list[int] = field(default_factory=list)
    at: list[float] = field(default_factory=list)

    def on_event(self, raw: bytes, now: float) -> None:
        if not raw.startswith(b'["positions"'):
            return
        crc = zlib.crc32(raw)
        slot = self.index.get(crc)
        if slot is None:
            trucks = json.loads(raw)[1]["trucks"]
            slot = self.index[crc] = len(self.messages)
            self.messages.append([(t["id"], fix_epoch(t["fix_time"])) for t in trucks])
        self.which.append(slot)
        self.at.append(now)


def fix_epoch(iso: str) -> int:
    return round(datetime.fromisoformat(iso).timestamp())


async def _lag_probe(lags: list[float], period_s: float = 0.05) -> None:
    """How late the event loop wakes up: a busy generator delays every receipt."""
    while True:
        began = time.monotonic()
        await asyncio.sleep(period_s)
        lags.append(time.monotonic() - began - period_s)


async def run_viewers(host: str, port: int, clients: int, out: Path) -> None:
    """Join ``clients`` viewers in waves, print ``ready JOINED FAILED``, record until a
    line arrives on stdin, then write the receipts to ``out`` (a pickle)."""
    from_loop = asyncio.get_running_loop()
    recorder, tasks, failed = Recorder(), [], 0
    for wave in range(0, clients, JOIN_WAVE):
        joins = [from_loop.create_future() for _ in range(min(JOIN_WAVE, clients - wave))]
        tasks += [asyncio.create_task(live_client(host, port, recorder.on_event, j)) for j in joins]
        results = await asyncio.gather(*joins, return_exceptions=True)
        failed += sum(isinstance(r, BaseException) for r in results)
    print(f"ready {clients - failed} {failed}", flush=True)
    lags: list[float] = []
    probe = asyncio.create_task(_lag_probe(lags))
    cpu0 = time.process_time()
    await from_loop.run_in_executor(None, sys.stdin.readline)
    cpu_s = time.process_time() - cpu0
    probe.cancel()
    for task in tasks:
        task.cancel()
    state = {"messages": recorder.messages, "which": recorder.which, "at": recorder.at}
    out.write_bytes(pickle.dumps({**state, "lags": lags, "cpu_s": cpu_s}))
