"""Response helpers shared by blueprints."""

from __future__ import annotations

from flask import Response

__all__ = ["attachment"]


def attachment(body: str | bytes, mimetype: str, filename: str) -> Response:
    """A download: the browser saves it under ``filename``."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
