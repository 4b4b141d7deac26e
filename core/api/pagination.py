"""Pagination: ``?page=&page_size=`` in, the page's items out, totals in the ``X-Pagination`` header.

Totals are counted exactly up to ``COUNT_CEILING`` rows (or up to the end of the page asked for, when that is
further). Beyond it counting stops: ``total`` is then a lower bound, the header says so with
``"total_is_lower_bound": true``, and ``last_page``/``total_pages`` are lower bounds too, while ``next_page``
is still exact. An exact count of a city's whole union tree (50,000 rows) cost more than the page itself
(docs/performance.md); nobody pages through 10,000 rows, they filter.
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from flask import after_this_request, has_request_context
from sqlalchemy.orm import Session

#: Rows counted at most beyond which a list's total is reported as "at least".
COUNT_CEILING = 10_000
HEADER = "X-Pagination"


def page_of(session: Session, statement: sa.Select, pagination_parameters) -> list:
    """Run ``statement`` for the requested page and tell flask-smorest the total for ``X-Pagination``.

    Use with ``@blp.paginate()``; the statement must have a deterministic ``order_by``.
    """
    offset = (pagination_parameters.page - 1) * pagination_parameters.page_size
    # One row more than needed tells "exactly this many" from "at least this many"; counting past the end of the
    # requested page keeps next_page exact on a deep page.
    limit = max(COUNT_CEILING, offset + pagination_parameters.page_size) + 1
    counted = session.scalar(
        sa.select(sa.func.count()).select_from(statement.order_by(None).limit(limit).subquery())
    )
    pagination_parameters.item_count = counted
    if counted == limit and has_request_context():
        after_this_request(_mark_lower_bound)
    return list(session.scalars(statement.limit(pagination_parameters.page_size).offset(offset)))


def _mark_lower_bound(response):
    if HEADER in response.headers:
        metadata = json.loads(response.headers[HEADER])
        metadata["total_is_lower_bound"] = True
        response.headers[HEADER] = json.dumps(metadata)
    return response
