"""Who may see and run an import batch (导入批次), as the API (``core.api.imports``) and the staff pages
(``core.web.import_pages``) both ask it.

An import of a kind needs every permission of ``imports.PERMISSIONS[kind]`` and touches the subtrees where the
caller holds the first; a batch is seen by whoever holds that first permission over the subtree it was uploaded
in, and by no one else (an id outside the caller's subtrees does not exist for them). The import's work itself is
``core.registry.imports``'.
"""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.auth.permissions import check
from core.auth.scope import in_scope, scope_filter, scope_paths
from core.errors import Forbidden
from core.models.import_batch import ImportBatch
from core.models.user import User
from core.registry import imports, units

#: Files up to this size are checked and applied in the request; bigger ones in a job.
SYNC_BYTES = 512 * 1024
#: What reading each kind of export needs.
READ = {"units": "units.read", "organizations": "organizations.read", "members": "people.read"}


def caller_scope(session: Session, user: User | None, kind: str, permissions) -> imports.Scope:
    """``user``'s scope for ``kind``: the subtrees where they hold the first of ``permissions`` (all needed) and,
    for units, their federations' areas."""
    for permission in permissions:
        check(user, permission)
    roots = scope_paths(user, permissions[0])
    if not roots:
        raise Forbidden(f"you do not have the permission {permissions[0]} at an active organization")
    areas = units.federation_areas(session, roots) if kind == "units" else ()
    return imports.Scope(tuple(roots), tuple(areas))


def visible(user: User | None) -> sa.ColumnElement:
    """A WHERE clause on ``ImportBatch``: the batches ``user`` may see."""
    return sa.or_(*[
        sa.and_(ImportBatch.kind == kind, scope_filter(user, permissions[0], ImportBatch.scope_path))
        for kind, permissions in imports.PERMISSIONS.items()
    ])


def visible_batch(session: Session, user: User | None, batch_id: int) -> ImportBatch | None:
    """The batch ``batch_id`` if ``user`` may see it; None if it does not exist or is outside their subtrees."""
    batch = session.scalar(sa.select(ImportBatch).where(ImportBatch.id == batch_id))
    if batch is None or not in_scope(user, imports.PERMISSIONS[batch.kind][0], batch.scope_path):
        return None
    return batch


def after_commit(session: Session, send: Callable[[], object]) -> None:
    """Queue a job once ``session``'s transaction has committed: a job that ran first would find nothing."""
    sa.event.listen(session, "after_commit", lambda _session: send(), once=True)
