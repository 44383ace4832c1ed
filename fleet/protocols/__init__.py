"""Device protocols: HTTP payloads in, validated ``fleet.fix.Fix`` values out.

Each module is a pure decoder (no Flask, no SQL); the HTTP layer passes it the
request's parts and stores what comes back.
"""

from fleet.protocols.batch import BatchDecoded, Rejected, decode_batch
from fleet.protocols.osmand import OsmAndRequest, decode_osmand

__all__ = ["BatchDecoded", "OsmAndRequest", "Rejected", "decode_batch", "decode_osmand"]
