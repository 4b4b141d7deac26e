"""The organization tree (组织树): browse it from the caller's own subtrees down, search it by name, read a node,
and, for holders of ``organizations.manage`` there, move a subtree or merge a duplicate into its twin.

Browsing needs no script: ``?open=1,7`` names the nodes shown expanded, and each node's expand link toggles its
own id, so it works the same inside WeChat's web view. A node outside the caller's subtrees is 404, in a sibling
county as in another tenant. Moving and merging take two steps: the form, then a page that says what will happen
(how many organizations move with it) and asks to confirm. The contact phone is always masked here.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from core.app import db_session
from core.auth import WHOLE_TENANT, in_scope, require, require_in_scope, scope_filter, scope_paths, subtree_bounds
from core.errors import DomainError, Forbidden
from core.masking import mask_phone
from core.models.organization import Organization
from core.models.region import Region
from core.registry import organizations
from core.web import core_pages, render_page
from core.web.auth_pages import signed_in_page
from core.web.staff.common import KINDS, STATUSES, Refusal, int_arg, stale, version_matches

READ, MANAGE = "organizations.read", "organizations.manage"
#: Most names a search shows: a longer list means the name typed is too short.
SEARCH_LIMIT = 50


def _open_ids() -> list[int]:
    return [int(part) for part in request.args.get("open", "").split(",") if part.isdigit()][:50]


def _roots(session) -> list[Organization]:
    """The top of what the caller sees: the city federation for a tenant-wide role, else the organizations
    their roles are held at."""
    roots = scope_paths(g.user, READ)
    statement = sa.select(Organization).order_by(Organization.path)
    if roots == WHOLE_TENANT:
        return list(session.scalars(statement.where(Organization.parent_id.is_(None))))
    return list(session.scalars(statement.where(Organization.path.in_(roots)))) if roots else []


def _child_counts(session, ids) -> dict[int, int]:
    if not ids:
        return {}
    return dict(session.execute(
        sa.select(Organization.parent_id, sa.func.count())
        .where(Organization.parent_id.in_(ids), Organization.status == "active")
        .group_by(Organization.parent_id)
    ).all())


@core_pages.get("/organizations")
@signed_in_page
@require(READ)
def organization_tree():
    session = db_session()
    query = request.args.get("q", "").strip()
    found = None
    if query:
        found = list(session.scalars(
            sa.select(Organization)
            .where(scope_filter(g.user, READ, Organization.path), Organization.name.contains(query, autoescape=True))
            .order_by(Organization.path).limit(SEARCH_LIMIT)
        ))
    roots = _roots(session)
    opened = set(_open_ids())
    children: dict[int, list[Organization]] = {}
    if opened:
        # Only nodes the caller may read: an id of another subtree in ``open`` shows nothing.
        for child in session.scalars(
            sa.select(Organization)
            .where(Organization.parent_id.in_(opened), Organization.status == "active",
                   scope_filter(g.user, READ, Organization.path))
            .order_by(Organization.kind, Organization.name)
        ):
            children.setdefault(child.parent_id, []).append(child)
    shown = [o.id for o in roots] + [c.id for batch in children.values() for c in batch]
    return render_page(
        "core/staff/organizations.html", roots=roots, children=children, counts=_child_counts(session, shown),
        opened=opened, query=query, found=found, limit=SEARCH_LIMIT, kinds=KINDS, statuses=STATUSES,
        toggle=lambda node_id: ",".join(str(i) for i in sorted(opened ^ {node_id})),
    )


def readable(organization_id: int) -> Organization:
    """The organization, if the caller may read it; 404 otherwise, as if it did not exist."""
    organization = organizations.organization_by_id(db_session(), organization_id)
    require_in_scope(g.user, READ, organization.path)
    return organization


def _manageable(organization_id: int) -> Organization:
    organization = readable(organization_id)
    if not in_scope(g.user, MANAGE, organization.path):
        raise Forbidden(_("You may not change %(name)s.", name=organization.name))
    return organization


def _ancestors(session, organization: Organization) -> list[Organization]:
    """The nodes above ``organization`` the caller may read, root first (the breadcrumb)."""
    ids = [int(part) for part in organization.path.strip("/").split("/")[:-1]]
    if not ids:
        return []
    found = session.scalars(sa.select(Organization).where(
        Organization.id.in_(ids), scope_filter(g.user, READ, Organization.path)))
    return sorted(found, key=lambda o: o.depth)


def _move_targets(session, organization: Organization) -> list[Organization]:
    """Where ``organization`` may move: active nodes the caller manages, of a kind it may sit under, outside
    its own subtree, other than its parent."""
    low, high = subtree_bounds(organization.path)
    return list(session.scalars(
        sa.select(Organization)
        .where(scope_filter(g.user, MANAGE, Organization.path), Organization.status == "active",
               Organization.kind.in_(organizations.PARENT_KINDS[organization.kind]),
               sa.not_(sa.and_(Organization.path >= low, Organization.path < high)),
               Organization.id != (organization.parent_id or 0))
        .order_by(Organization.path).limit(500)
    ))


def _twins(session, organization: Organization) -> list[Organization]:
    """What ``organization`` may merge into: active nodes of its kind the caller manages, not under it."""
    low, high = subtree_bounds(organization.path)
    return list(session.scalars(
        sa.select(Organization)
        .where(scope_filter(g.user, MANAGE, Organization.path), Organization.status == "active",
               Organization.kind == organization.kind,
               sa.not_(sa.and_(Organization.path >= low, Organization.path < high)))
        .order_by(Organization.name).limit(500)
    ))


def _detail(organization: Organization, template: str = "core/staff/organization.html", refusal=None, status=200,
            **context):
    session = db_session()
    manage = organization.status == "active" and in_scope(g.user, MANAGE, organization.path)
    children = list(session.scalars(
        sa.select(Organization).where(Organization.parent_id == organization.id,
                                      scope_filter(g.user, READ, Organization.path))
        .order_by(Organization.kind, Organization.name)
    ))
    region = session.get(Region, organization.region_id) if organization.region_id else None
    merged_into = session.get(Organization, organization.merged_into_id) if organization.merged_into_id else None
    body = render_page(
        template, organization=organization, ancestors=_ancestors(session, organization), children=children,
        region=region, merged_into=merged_into, kinds=KINDS, statuses=STATUSES, manage=manage,
        masked_phone=mask_phone(organization.contact_phone) if organization.contact_phone else "",
        move_options=[(o.id, o.name) for o in _move_targets(session, organization)] if manage else [],
        twin_options=[(o.id, o.name) for o in _twins(session, organization)] if manage else [],
        refusal=refusal, form=request.form if refusal else {}, **context,
    )
    return body, status


@core_pages.get("/organizations/<int:organization_id>")
@signed_in_page
@require(READ)
def organization_detail(organization_id):
    return _detail(readable(organization_id))


def _named(field: str) -> Organization:
    """The organization a form names (a new parent, a twin): a field error unless the caller may manage it."""
    named_id = int_arg(field)
    if named_id is None:
        raise _FieldError(field, _("Choose an organization."))
    try:
        named = organizations.organization_by_id(db_session(), named_id, field=field)
    except DomainError:
        named = None
    if named is None or not in_scope(g.user, MANAGE, named.path):
        raise _FieldError(field, _("No such organization in your area."))
    return named


class _FieldError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.refusal = Refusal(_("Check the fields marked below."), {field: message})


def _change(organization_id: int, action: str, field: str):
    """The move and merge forms: check, ask to confirm, then do it."""
    organization = _manageable(organization_id)
    session = db_session()
    try:
        target = _named(field)
    except _FieldError as error:
        return _detail(organization, refusal=error.refusal, status=422, action=action)
    if not version_matches(organization):
        return _detail(organization, refusal=stale(), status=409, action=action)
    low, high = subtree_bounds(organization.path)
    below = session.scalar(sa.select(sa.func.count()).where(
        Organization.path > low, Organization.path < high, Organization.status == "active"))
    if request.form.get("confirm") != "yes":
        return render_page("core/staff/organization_confirm.html", organization=organization, target=target,
                           action=action, field=field, below=below, kinds=KINDS)
    try:
        if action == "move":
            organizations.move(session, organization, target, actor=g.user)
            flash(_("%(name)s and the %(count)s organizations under it now sit under %(target)s.",
                    name=organization.name, count=below, target=target.name))
        else:
            organizations.merge(session, organization, target, actor=g.user)
            flash(_("%(name)s is merged into %(target)s.", name=organization.name, target=target.name))
    except DomainError as error:
        session.rollback()
        refusal = Refusal.of(error)
        if field in refusal.fields:  # the registry's reason names kinds by their codes: say it in the page's words
            refusal.fields[field] = _(
                "It cannot sit under this organization: the kinds do not fit, or it is under %(name)s itself.",
                name=organization.name) if action == "move" else _(
                "A duplicate merges only into an active organization of its own kind that is not under it.")
        return refused_detail(organization_id, refusal, action)
    return redirect(url_for("core_pages.organization_detail", organization_id=organization.id), code=303)


def refused_detail(organization_id: int, refusal: Refusal, action: str):
    organization = readable(organization_id)
    return _detail(organization, refusal=refusal, status=refusal.status, action=action)


@core_pages.post("/organizations/<int:organization_id>/move")
@signed_in_page
@require(MANAGE)
def organization_move(organization_id):
    return _change(organization_id, "move", "parent_id")


@core_pages.post("/organizations/<int:organization_id>/merge")
@signed_in_page
@require(MANAGE)
def organization_merge(organization_id):
    return _change(organization_id, "merge", "into_id")

