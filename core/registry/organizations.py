"""The union tree (工会组织): create, update, move a subtree, dissolve, merge a duplicate into its twin.

Every node but the city federation has a parent, and its kind says where it may sit (``PARENT_KINDS``). A node's
``path`` is the ids from the root down to itself (``/1/7/42/``) and ``depth`` its distance from the root, so a
subtree is one indexed range scan and moving one is one UPDATE, however large it is.

Plain functions: the caller owns the transaction; each change is audited with the contact phone masked.
"""
from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, crypto
from core.auth import subtree_bounds
from core.db import Base, utcnow
from core.errors import Conflict, InvalidInput, NotFound
from core.masking import mask_phone
from core.models.organization import KINDS, Organization
from core.models.region import Region
from core.registry import regions
from core.tenancy import require_tenant

#: Where each kind may sit. A grassroots union sits under a federation or an industry union; the reservoirs
#: under the federation whose area they hold members for (GLOSSARY.md).
PARENT_KINDS: dict[str, tuple[str, ...]] = {
    "city_federation": (),
    "county_federation": ("city_federation",),
    "street_federation": ("county_federation", "city_federation"),
    "industry_union": ("city_federation", "county_federation", "industry_union"),
    "grassroots_union": ("city_federation", "county_federation", "street_federation", "industry_union"),
    "city_enterprise_committee": ("city_federation",),
    "service_centre_committee": ("county_federation",),
    "grid_union": ("street_federation", "county_federation"),
}
#: Fields ``update`` changes; the tree (parent, path), status and merges have operations of their own.
EDITABLE = (
    "name", "kind", "joint", "region", "chairman_name", "contact_name", "contact_phone", "legal_person_cert_no",
    "term_ends_on",
)
#: Tables where a row that would, once repointed to the twin, repeat one of the twin's rows says nothing the
#: twin's row does not: a role held at both the duplicate and the twin. Such rows are dropped on a merge; in any
#: other table they stop the merge (409) for a person to sort out.
REDUNDANT_ON_MERGE = frozenset({"role_grant"})


def organization_by_id(session: Session, organization_id: int, *, field: str | None = None) -> Organization:
    """The tenant's organization ``organization_id``; NotFound, or a field error on ``field`` when a body named
    it (a parent, a twin)."""
    organization = session.scalar(sa.select(Organization).where(Organization.id == organization_id))
    if organization is None:
        if field:
            raise InvalidInput(f"no organization {organization_id}", errors={field: ["no such organization"]})
        raise NotFound(f"no organization {organization_id}")
    return organization


def subtree(organization: Organization) -> sa.Select:
    """``organization`` and everything under it, in path order: one range scan on ``(tenant_id, path)``."""
    low, high = subtree_bounds(organization.path)
    return (
        sa.select(Organization)
        .where(Organization.path >= low, Organization.path < high)
        .order_by(Organization.path)
    )


def phone_index(phone: str) -> str:
    """The blind index of a contact phone, for ``contact_phone_index == phone_index(...)``."""
    return crypto.blind_index("phone", _normalise_phone(phone))


def snapshot(organization: Organization) -> dict:
    """What the audit trail keeps of an organization: every field, the phone masked."""
    return {
        "name": organization.name,
        "kind": organization.kind,
        "joint": organization.joint,
        "region_id": organization.region_id,
        "parent_id": organization.parent_id,
        "path": organization.path,
        "chairman_name": organization.chairman_name,
        "contact_name": organization.contact_name,
        "contact_phone": mask_phone(organization.contact_phone) if organization.contact_phone else None,
        "legal_person_cert_no": organization.legal_person_cert_no,
        "term_ends_on": organization.term_ends_on.isoformat() if organization.term_ends_on else None,
        "status": organization.status,
        "merged_into_id": organization.merged_into_id,
    }


# --- create, update ----------------------------------------------------------------------------------------------


def create(
    session: Session,
    *,
    name: str,
    kind: str,
    parent: Organization | None = None,
    region: Region | None = None,
    joint: bool = False,
    chairman_name: str = "",
    contact_name: str = "",
    contact_phone: str | None = None,
    legal_person_cert_no: str = "",
    term_ends_on: dt.date | None = None,
    actor=None,
) -> Organization:
    """Create a node of the tree: the city federation (no parent, one per tenant) or a node under ``parent``."""
    _check_place(kind, parent, joint)
    if kind == "city_federation":
        root = session.scalar(
            sa.select(Organization).where(Organization.kind == "city_federation", Organization.status == "active")
        )
        if root is not None:
            raise Conflict(f"this tenant's city federation is {root.name}", errors={"kind": ["there is one already"]})
    organization = Organization(
        name=name.strip(),
        kind=kind,
        joint=joint,
        region_id=region.id if region is not None else None,
        parent_id=parent.id if parent is not None else None,
        depth=parent.depth + 1 if parent is not None else 0,
        chairman_name=chairman_name,
        contact_name=contact_name,
        legal_person_cert_no=legal_person_cert_no,
        term_ends_on=term_ends_on,
        status="active",
    )
    _set_phone(organization, contact_phone)
    session.add(organization)
    session.flush()
    regions.set_path(session, organization, f"{parent.path if parent is not None else '/'}{organization.id}/")
    audit.record(session, "organization.create", obj=organization, after=snapshot(organization), actor=actor)
    return organization


def update(session: Session, organization: Organization, changes: dict, *, actor=None) -> Organization:
    """Change the fields in ``changes`` (keys of ``EDITABLE``; ``region`` is a Region or None)."""
    _require_active(organization)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput("these fields cannot be changed here", errors={key: ["not editable"] for key in unknown})
    before = snapshot(organization)
    kind, joint = changes.get("kind", organization.kind), changes.get("joint", organization.joint)
    if kind != organization.kind:
        _check_kind_change(session, organization, kind)
    if kind != organization.kind or joint != organization.joint:
        _check_place(kind, _parent(session, organization), joint)
    for key, value in changes.items():
        if key == "region":
            organization.region_id = value.id if value is not None else None
        elif key == "contact_phone":
            _set_phone(organization, value)
        elif key == "name":
            organization.name = value.strip()
        else:
            setattr(organization, key, value)
    session.flush()
    audit.record(session, "organization.update", obj=organization, before=before, after=snapshot(organization),
                 actor=actor)
    return organization


def _check_place(kind: str, parent: Organization | None, joint: bool) -> None:
    """May a ``kind`` sit under ``parent``? Raises a field error naming what is wrong."""
    if kind not in KINDS:
        raise InvalidInput(f"no kind {kind!r}", errors={"kind": [f"one of {', '.join(KINDS)}"]})
    if joint and kind != "grassroots_union":
        raise InvalidInput("only a grassroots union can be joint", errors={"joint": [
            "a joint union (联合工会) is a grassroots union that covers several units"]})
    allowed = PARENT_KINDS[kind]
    if not allowed:
        if parent is not None:
            raise InvalidInput("the city federation is the root", errors={"parent_id": [
                "the city federation has no parent"]})
        return
    if parent is None:
        raise InvalidInput(f"a {kind} needs a parent", errors={"parent_id": [
            "required: every organization but the city federation has a parent"]})
    if parent.status != "active":
        raise InvalidInput(f"{parent.name} is {parent.status}", errors={"parent_id": [
            f"{parent.name} is {parent.status}, not active"]})
    if parent.kind not in allowed:
        raise InvalidInput(f"a {kind} cannot sit under a {parent.kind}", errors={"parent_id": [
            f"a {kind} sits under a {' or '.join(allowed)}; {parent.name} is a {parent.kind}"]})


def _check_kind_change(session: Session, organization: Organization, kind: str) -> None:
    if "city_federation" in (kind, organization.kind):
        raise InvalidInput("the city federation stays the city federation", errors={"kind": [
            "a city federation cannot become another kind, nor another kind a city federation"]})
    children = session.scalars(
        sa.select(Organization.kind).where(Organization.parent_id == organization.id, Organization.status == "active")
        .distinct()
    ).all()
    misplaced = sorted(child for child in children if kind not in PARENT_KINDS[child])
    if misplaced:
        raise InvalidInput(f"a {kind} cannot hold what {organization.name} holds", errors={"kind": [
            f"{organization.name} has children of kind {', '.join(misplaced)}, which cannot sit under a {kind}"]})


def _set_phone(organization: Organization, phone: str | None) -> None:
    phone = _normalise_phone(phone) if phone else None
    organization.contact_phone = phone
    organization.contact_phone_index = crypto.blind_index("phone", phone) if phone else None


def _normalise_phone(phone: str) -> str:
    return "".join(ch for ch in phone if ch not in " -")


def _parent(session: Session, organization: Organization) -> Organization | None:
    if organization.parent_id is None:
        return None
    return organization_by_id(session, organization.parent_id)


def _require_active(organization: Organization) -> None:
    if organization.status != "active":
        raise Conflict(f"{organization.name} is {organization.status}", errors={"status": [organization.status]},
                       code=f"organization_{organization.status}")


# --- move, dissolve, merge ---------------------------------------------------------------------------------------


def move(session: Session, organization: Organization, new_parent: Organization, *, actor=None) -> Organization:
    """Move ``organization`` and its whole subtree under ``new_parent``: one UPDATE rewrites every descendant's
    path and depth."""
    _require_active(organization)
    if new_parent.path.startswith(organization.path):
        where = "itself" if new_parent.id == organization.id else f"{new_parent.name}, which is under it"
        raise InvalidInput("an organization cannot move under its own subtree", errors={"parent_id": [
            f"{organization.name} cannot move under {where}"]})
    _check_place(organization.kind, new_parent, organization.joint)
    if new_parent.id == organization.parent_id:
        return organization
    before = snapshot(organization)
    old_path, new_path = organization.path, f"{new_parent.path}{organization.id}/"
    moved = _rewrite_descendants(session, old_path, new_path, new_parent.depth + 1 - organization.depth)
    organization.parent_id, organization.path, organization.depth = new_parent.id, new_path, new_parent.depth + 1
    session.flush()
    audit.record(session, "organization.move", obj=organization, before=before,
                 after={**snapshot(organization), "descendants_moved": moved}, actor=actor)
    return organization


def _rewrite_descendants(session: Session, old_prefix: str, new_prefix: str, depth_delta: int) -> int:
    """Replace ``old_prefix`` by ``new_prefix`` in the path of every node strictly below ``old_prefix``, in one
    UPDATE on the ``(tenant_id, path)`` index. Their versions move too: a client holding an ETag of one of them
    read a place in the tree that is no longer so."""
    low, high = subtree_bounds(old_prefix)
    result = session.execute(
        sa.update(Organization)
        .where(Organization.path > low, Organization.path < high)
        .values(
            path=sa.literal(new_prefix, sa.String) + sa.func.substr(Organization.path, len(old_prefix) + 1),
            depth=Organization.depth + depth_delta,
            version=Organization.version + 1,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    _expire(session, {Organization.__table__})
    return result.rowcount


def dissolve(session: Session, organization: Organization, *, actor=None) -> Organization:
    """Dissolve (撤销) an organization. Refused while it has active children: move or dissolve them first."""
    _require_active(organization)
    if organization.kind == "city_federation":
        raise Conflict("the city federation cannot be dissolved", errors={"kind": ["city_federation"]})
    children = session.scalars(
        sa.select(Organization.name)
        .where(Organization.parent_id == organization.id, Organization.status == "active")
        .order_by(Organization.path)
    ).all()
    if children:
        raise Conflict(
            f"{organization.name} still has active organizations under it ({len(children)}): move or dissolve "
            "them first",
            errors={"children": children[:10]},
            code="has_active_children",
        )
    before = snapshot(organization)
    organization.status = "dissolved"
    session.flush()
    audit.record(session, "organization.dissolve", obj=organization, before=before, after=snapshot(organization),
                 actor=actor)
    return organization


def merge(session: Session, duplicate: Organization, twin: Organization, *, actor=None) -> dict[str, int]:
    """Merge ``duplicate`` into ``twin``, the same union entered twice: every reference to the duplicate, in core
    tables and plugin tables alike, now points at the twin; the duplicate's children move under the twin; the
    duplicate is kept, marked merged, with ``merged_into_id``. Returns the rows repointed per ``table.column``."""
    _require_active(duplicate)
    _require_active(twin)
    if duplicate.id == twin.id:
        raise InvalidInput("an organization cannot merge into itself", errors={"into_id": ["the same organization"]})
    if twin.path.startswith(duplicate.path):
        raise InvalidInput(f"{twin.name} is under {duplicate.name}", errors={"into_id": [
            "the twin cannot be under the duplicate"]})
    if twin.kind != duplicate.kind:
        raise InvalidInput(f"a {duplicate.kind} merges only into a {duplicate.kind}", errors={"into_id": [
            f"{twin.name} is a {twin.kind}, {duplicate.name} a {duplicate.kind}"]})
    before = snapshot(duplicate)
    _rewrite_descendants(session, duplicate.path, twin.path, twin.depth - duplicate.depth)
    repointed = _repoint_references(session, duplicate.id, twin.id)
    duplicate.status, duplicate.merged_into_id = "merged", twin.id
    session.flush()
    audit.record(session, "organization.merge", obj=duplicate, before=before,
                 after={**snapshot(duplicate), "repointed": repointed}, actor=actor)
    return repointed


def references() -> list[sa.Column]:
    """Every column, in core and in every loaded plugin, with a foreign key to ``organization.id``, but those of
    tables marked ``info={"append_only": True}``: a ledger says where things stood when they happened, and a merge
    does not rewrite history (the membership ledger keeps "joined the duplicate")."""
    target = Organization.__table__.c.id
    return sorted(
        (
            fk.parent
            for table in Base.metadata.tables.values()
            if not table.info.get("append_only")
            for fk in table.foreign_keys
            if fk.column is target
        ),
        key=lambda column: (column.table.name, column.name),
    )


def _repoint_references(session: Session, duplicate_id: int, twin_id: int) -> dict[str, int]:
    """One UPDATE per referencing column, within the tenant. ``organization.parent_id`` is among them: that is
    the duplicate's children moving under the twin (their paths were rewritten just before)."""
    tenant_id = require_tenant().id
    repointed: dict[str, int] = {}
    for column in references():
        table = column.table
        within = [column == duplicate_id]
        if "tenant_id" in table.c:
            within.append(table.c.tenant_id == tenant_id)
        _drop_or_refuse_collisions(session, column, within, twin_id)
        result = session.execute(
            sa.update(table).where(*within).values({column.name: twin_id}).execution_options(synchronize_session=False)
        )
        if result.rowcount:
            repointed[f"{table.name}.{column.name}"] = result.rowcount
    _expire(session, {column.table for column in references()})
    return repointed


def _drop_or_refuse_collisions(session: Session, column: sa.Column, within: list, twin_id: int) -> None:
    """Rows that, repointed, would break a unique key of their table together with one of the twin's rows."""
    table = column.table
    for key in _unique_keys_with(column):
        twin_row = table.alias("twin_row")
        clash = sa.exists().where(
            twin_row.c[column.name] == twin_id,
            *[twin_row.c[other.name] == other for other in key if other is not column],
        )
        if table.name in REDUNDANT_ON_MERGE:
            session.execute(sa.delete(table).where(*within, clash).execution_options(synchronize_session=False))
            continue
        count = session.scalar(sa.select(sa.func.count()).select_from(table).where(*within, clash))
        if count:
            raise Conflict(
                f"{count} rows of {table.name} would repeat rows the twin already has",
                errors={"into_id": [f"{table.name}: {count} rows would break the unique key on "
                                    f"{', '.join(c.name for c in key)}"]},
                code="merge_conflict",
            )


def _unique_keys_with(column: sa.Column) -> list[list[sa.Column]]:
    table = column.table
    keys = [list(c.columns) for c in table.constraints if isinstance(c, sa.UniqueConstraint)]
    keys += [list(i.columns) for i in table.indexes if i.unique and i.dialect_options["postgresql"]["where"] is None]
    return [key for key in keys if any(c is column for c in key)]


def _expire(session: Session, tables: set) -> None:
    """Bulk UPDATEs bypass the identity map: forget what it holds of the rows they may have changed."""
    for obj in list(session.identity_map.values()):
        if sa.inspect(obj).mapper.local_table in tables:
            session.expire(obj)


# --- a tree from a description: the demo, a city's first import ------------------------------------------------


def plant(session: Session, spec: dict, *, parent: Organization | None = None, actor=None) -> Organization:
    """Create the tree ``spec`` describes under ``parent``, keeping what exists (same name under the same parent,
    or the active city federation). ``spec``: the fields of ``create``, ``region`` as a division code, and
    ``children``, a list of specs."""
    fields = {key: value for key, value in spec.items() if key not in ("children", "region")}
    existing = sa.select(Organization).where(Organization.status == "active")
    if parent is None:
        existing = existing.where(Organization.kind == "city_federation")
    else:
        existing = existing.where(Organization.parent_id == parent.id, Organization.name == spec["name"])
    organization = session.scalar(existing)
    if organization is None:
        region = session.scalar(sa.select(Region).where(Region.code == spec["region"])) if "region" in spec else None
        organization = create(session, parent=parent, region=region, actor=actor, **fields)
    for child in spec.get("children", ()):
        plant(session, child, parent=organization, actor=actor)
    return organization


def load_demo(session: Session, slug: str, *, actor=None) -> Organization:
    """The demo tenant ``slug``'s city: its divisions and a small union tree (``core/data/regions/demo_unions.json``:
    the city and county federations, industry unions, street federations, grassroots unions independent and
    joint, and the reservoirs). Idempotent."""
    demo = json.loads((regions.DATA / "demo_unions.json").read_text(encoding="utf-8"))[slug]
    regions.load_city(session, demo["city"], actor=actor)
    return plant(session, demo["tree"], actor=actor)
