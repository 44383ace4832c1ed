"""The JSON batch API for devices that buffer fixes while offline.

(The OsmAnd protocol is served by ``fleet.api.osmand``, in front of Flask.)
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, request

from fleet.api.errors import Failure, error, failure_response
from fleet.api.gate import admit, fix_rules, ingest
from fleet.extensions import csrf_exempt
from fleet.fix import FixError
from fleet.protocols import decode_batch
from fleet.runtime import get_runtime

__all__ = ["bp"]

bp = Blueprint("ingest", __name__)

_NO_DEVICE = Failure(
    401,
    "a valid device identifier is required",
    "Authorization",
    headers={"WWW-Authenticate": "Bearer"},
)


@bp.post("/api/v1/pings")
@csrf_exempt
def pings() -> Response:
    """A batch of buffered fixes from one device, stored all-or-nothing per fix."""
    received_at = datetime.now(UTC)
    runtime = get_runtime()
    device = admit(runtime, _bearer(), request.remote_addr, _NO_DEVICE)
    if isinstance(device, Failure):
        return failure_response(device)
    try:
        decoded = decode_batch(
            request.get_data(cache=False),
            received_at=received_at,
            rules=fix_rules(current_app.config),
            max_fixes=current_app.config["MAX_BATCH"],
        )
    except FixError as exc:
        return error(400, exc.reason, exc.field)
    result = ingest(runtime, device, decoded.fixes, received_at)
    rejected = [{"index": r.index, "field": r.field, "error": r.reason} for r in decoded.rejected]
    return jsonify(
        stored=len(result.stored),
        duplicates=len(result.duplicates),
        duplicate_indexes=sorted(result.duplicates),
        rejected=rejected,
    )


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
