"""ETags from row versions: a read says which version it saw, a write must name the version it changes.

``If-Match`` missing on a write is 428, a stale one is 412. The version column also guards the UPDATE itself
(``core.db.Versioned``), so two writers that pass this check at the same moment still cannot both win.
"""
from __future__ import annotations

from flask import g, request

from core.errors import PreconditionFailed, PreconditionRequired


def etag_of(obj) -> str:
    return f'"{type(obj).__name__.lower()}-{obj.id}-v{obj.version}"'


def set_etag(obj) -> None:
    """Send ``obj``'s ETag with this response."""
    g.etag = etag_of(obj)


def require_if_match(obj) -> None:
    """Refuse a write unless the client names ``obj``'s current version."""
    if not request.if_match:
        raise PreconditionRequired(
            "send the ETag you read in an If-Match header", errors={"If-Match": ["missing"]}
        )
    current = etag_of(obj)
    if not request.if_match.contains(current.strip('"')):
        raise PreconditionFailed(
            "someone changed this since you read it; read it again", errors={"If-Match": ["stale"]}
        )
