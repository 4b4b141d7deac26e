"""The object an id in the URL path names, found before the route parses its body.

Every route with an object id answers an outsider the same way whatever the body says: a malformed body must not
tell them more (422) than an id that does not exist (404). So a blueprint resolves the id in a ``before_request``,
in one order everywhere: the caller's permission (401, 403), then the object (404), then the caller's data scope
over it (404 too: another subtree's or another tenant's object is not even confirmed).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import g, request
from sqlalchemy.orm import Session

from core.app import db_session
from core.auth import check
from core.errors import NotFound, Unauthorized
from core.models.user import User

Found = TypeVar("Found")


def resolve_path_object(
    blueprint,
    argument: str,
    *,
    into: str,
    find: Callable[[Session, int], Found | None],
    visible: Callable[[User, Found], bool],
    permission: str | None = None,
    hidden: str = "not found",
) -> None:
    """Before every route of ``blueprint`` whose path has ``argument``, keep the object it names as ``g.<into>``.

    ``permission``: checked first, so a caller without it anywhere gets 401 or 403 before any lookup; without one
    the caller need only be signed in (a worker reading their own application). ``find(session, id)`` raises
    NotFound, or returns None when a missing object should read like a hidden one. ``visible(user, found)``: the
    caller's data scope; False is a 404 with ``hidden`` (``{id}`` is the id), the same for a foreign tenant's id.
    """

    @blueprint.before_request
    def resolve() -> None:
        object_id = (request.view_args or {}).get(argument)
        if object_id is None:
            return
        user = g.get("user")
        if permission is not None:
            check(user, permission)
        elif user is None:
            raise Unauthorized("sign in or send an API token")
        found = find(db_session(), object_id)
        if found is None or not visible(user, found):
            raise NotFound(hidden.format(id=object_id))
        setattr(g, into, found)
