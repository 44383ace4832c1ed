"""What a peer engine gives back for one trace (runs in the Python 3.12 venv).

Kept free of numpy and of the project's packages: ``run_peers.py`` runs where neither
is installed, and the result crosses back to the benchmark as plain JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PeerMatch"]


@dataclass(frozen=True)
class PeerMatch:
    """Per fix: the matched point (WGS84, ``None`` when the engine left it unmatched) and
    the engine's street edge as our way id (``None`` when it did not say)."""

    lon: list[float | None]
    lat: list[float | None]
    way_id: list[int | None]
    match_s: float
    error: str | None = None

    @classmethod
    def failed(cls, n_fixes: int, match_s: float, error: str) -> PeerMatch:
        """A trace the engine refused as a whole: every fix unmatched, and why."""
        none: list[None] = [None] * n_fixes
        return cls(list(none), list(none), list(none), match_s, error)

    def as_json(self) -> dict[str, object]:
        return {
            "lon": self.lon,
            "lat": self.lat,
            "way_id": self.way_id,
            "match_s": self.match_s,
            "error": self.error,
        }
