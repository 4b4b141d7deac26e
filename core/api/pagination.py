"""Pagination: ``?page=&page_size=`` in, the page's items out, totals in the ``X-Pagination`` header."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session


def page_of(session: Session, statement: sa.Select, pagination_parameters) -> list:
    """Run ``statement`` for the requested page and tell flask-smorest the total for ``X-Pagination``.

    Use with ``@blp.paginate()``; the statement must have a deterministic ``order_by``.
    """
    total = session.scalar(sa.select(sa.func.count()).select_from(statement.order_by(None).subquery()))
    pagination_parameters.item_count = total
    offset = (pagination_parameters.page - 1) * pagination_parameters.page_size
    return list(session.scalars(statement.limit(pagination_parameters.page_size).offset(offset)))
