"""Device ingestion over HTTP: the OsmAnd protocol and the JSON batch API."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, jsonify, request

from fleet.api.errors import error
from fleet.extensions import csrf_exempt
from fleet.fix import Fix, FixError
from fleet.pipeline import Accepted, Arrival, accept_many
from fleet.protocols import decode_batch, decode_osmand
from fleet.runtime import Runtime, get_runtime
from fleet.store.devices import DeviceRef, find_device
from fleet.validate import FixRules

__all__ = ["bp", "fix_rules"]

bp = Blueprint("ingest", __name__)

OSMAND_METHODS = ["GET", "POST", "PUT", "HEAD"]
#: A disabled or new device takes effect within this many seconds.
DEVICE_CACHE_S = 5.0
DEVICE_CACHE_SIZE = 10_000


def fix_rules() -> FixRules:
    config = current_app.config
    rules: FixRules = config.get("_FIX_RULES") or FixRules(
        max_future_s=config["MAX_FUTURE_S"],
        max_speed_mps=config["MAX_SPEED_MPS"],
        local_tz=ZoneInfo(config["LOCAL_TZ"]),
    )
    config["_FIX_RULES"] = rules
    return rules


@bp.route("/osmand", methods=OSMAND_METHODS)
@bp.route("/osmand/", methods=OSMAND_METHODS)
@csrf_exempt
def osmand() -> Response:
    """One fix or heartbeat; 200 with an empty body only once it is committed."""
    received_at = datetime.now(UTC)
    try:
        decoded = decode_osmand(
            query=request.args,
            body=request.get_data(cache=False),
            content_type=request.content_type,
            received_at=received_at,
            rules=fix_rules(),
        )
    except FixError as exc:
        return error(400, exc.reason, exc.field)
    runtime = get_runtime()
    probing = _probing(runtime)
    if probing is not None:
        return probing
    device = _device(runtime, decoded.device_id)
    if device is None:
        _failed_lookup(runtime)
        status = 404 if decoded.json_mode else 400
        field = "device_id" if decoded.json_mode else "id"
        return error(status, "unknown or disabled device", field)
    limited = _rate_limited(runtime, device)
    if limited is not None:
        return limited
    fixes = [] if decoded.fix is None else [(0, decoded.fix)]
    _ingest(runtime, device, fixes, received_at)
    return Response(status=200)


@bp.post("/api/v1/pings")
@csrf_exempt
def pings() -> Response:
    """A batch of buffered fixes from one device, stored all-or-nothing per fix."""
    received_at = datetime.now(UTC)
    runtime = get_runtime()
    probing = _probing(runtime)
    if probing is not None:
        return probing
    token = _bearer()
    device = _device(runtime, token) if token else None
    if device is None:
        _failed_lookup(runtime)
        response = error(401, "a valid device identifier is required", "Authorization")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    limited = _rate_limited(runtime, device)
    if limited is not None:
        return limited
    try:
        decoded = decode_batch(
            request.get_data(cache=False),
            received_at=received_at,
            rules=fix_rules(),
            max_fixes=current_app.config["MAX_BATCH"],
        )
    except FixError as exc:
        return error(400, exc.reason, exc.field)
    result = _ingest(runtime, device, decoded.fixes, received_at)
    rejected = [{"index": r.index, "field": r.field, "error": r.reason} for r in decoded.rejected]
    return jsonify(
        stored=len(result.stored),
        duplicates=len(result.duplicates),
        duplicate_indexes=sorted(result.duplicates),
        rejected=rejected,
    )


def _ingest(
    runtime: Runtime, device: DeviceRef, fixes: Sequence[tuple[int, Fix]], received_at: datetime
) -> Accepted:
    """Commit the raw fixes (the acknowledgement), then have them processed."""
    arrival = Arrival(device, fixes, received_at)
    result: Accepted = runtime.commits.run_batched(accept_many, arrival)
    if result.stored:
        runtime.worker.after_commit(device.truck_id)
    return result


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _device(runtime: Runtime, identifier: str) -> DeviceRef | None:
    """The enabled device with this identifier, looked up at most every few seconds."""
    now = time.monotonic()
    cached = runtime.devices.get(identifier)
    if cached is not None and cached[1] > now:
        device: DeviceRef | None = cached[0]
    else:
        with runtime.db.read() as session:
            device = find_device(session, identifier)
        if len(runtime.devices) > DEVICE_CACHE_SIZE:
            runtime.devices.clear()
        runtime.devices[identifier] = (device, now + DEVICE_CACHE_S)
    return device if device is not None and device.enabled else None


def _probing_key() -> str:
    return f"unknown-device:{request.remote_addr}"


def _probing(runtime: Runtime) -> Response | None:
    """429 for an address that keeps naming unknown devices: guessing identifiers must
    not cost a database read each, nor succeed by brute force."""
    wait_s = runtime.limiter.waiting(_probing_key())
    if wait_s <= 0:
        return None
    response = error(429, "too many unknown device identifiers from this address")
    response.headers["Retry-After"] = str(max(1, round(wait_s)))
    return response


def _failed_lookup(runtime: Runtime) -> None:
    runtime.limiter.allow(_probing_key())


def _rate_limited(runtime: Runtime, device: DeviceRef) -> Response | None:
    wait_s = runtime.limiter.allow(str(device.id))
    if wait_s <= 0:
        return None
    response = error(429, "too many requests from this device; slow down")
    response.headers["Retry-After"] = str(max(1, round(wait_s)))
    return response
