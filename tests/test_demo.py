"""``fleet demo`` (fleet/demo.py): the README's first command, as a newcomer runs it.

The demo starts on an empty SQLite file, loads Kupang's reference data, prints where to
look and how to sign in, and its simulated trucks appear and move on the public API.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from serverproc import FLEET, free_port, wait_until

pytestmark = pytest.mark.slow

TRUCKS = 6


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    env = {
        **os.environ,
        "FLEET_INSTANCE_PATH": str(tmp_path / "instance"),
        "FLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(FLEET), "demo", "--no-browser", "--port", str(port), "--trucks", str(TRUCKS)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        proc.wait(15)


def _fix_times(url: str) -> dict[str, str]:
    try:
        answer = requests.get(f"{url}/api/v1/trucks", timeout=5)
    except requests.ConnectionError:
        return {}
    features = answer.json()["features"] if answer.ok else []
    return {f["properties"]["id"]: f["properties"]["fix_time"] for f in features}


def test_the_demo_serves_moving_trucks_and_says_how_to_sign_in(
    demo: tuple[str, Path],
) -> None:
    url, log = demo
    assert wait_until(lambda: len(_fix_times(url)) >= TRUCKS - 1, 90), log.read_text()[-2000:]
    first = _fix_times(url)
    assert wait_until(lambda: sum(_fix_times(url).get(t) != f for t, f in first.items()) >= 3, 30)
    printed = log.read_text()
    assert f"public map:  {url}/" in printed
    login = re.search(r"user (\S+), password (\S+)\)", printed)
    assert login is not None, printed
    assert (log.parent / "instance" / "demo_login.txt").exists()
    page = requests.get(f"{url}/", timeout=5)
    assert page.ok and "Kapan truk datang" in page.text
