"""One row of a tenant's table, found by its id: the lookup every registry and plugin needs, written once.

The tenancy listener scopes the query, so another tenant's id is simply not found.
"""
from __future__ import annotations

import re
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.errors import NotFound

Row = TypeVar("Row")


def by_id(session: Session, model: type[Row], row_id: int, *, lock: bool = False) -> Row:
    """The ``model`` row ``row_id`` of the tenant in scope; NotFound ("no formation drive 7") otherwise.

    ``lock``: lock the row until the transaction ends and read it afresh, so a step that checks ``If-Match`` next
    sees the version the previous holder of the lock wrote, not the one this session read earlier.
    """
    statement = sa.select(model).where(model.id == row_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    found = session.scalars(statement).one_or_none()
    if found is None:
        raise NotFound(f"no {_words(model.__name__)} {row_id}")
    return found


def _words(class_name: str) -> str:
    """``FormationDrive`` -> ``formation drive``: the model as the error message names it."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", class_name).lower()
