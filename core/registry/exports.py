"""Exports (导出) of units, organizations and members of a subtree, as rows under the import's columns.

An export is the file the import reads: the same columns (``core.registry.columns``), coded fields as their
Chinese labels, organizations and units by full name, regions by name (by code where two regions share a name).
So a subtree exported and imported into an empty tenant exports again the same (``tests/core/test_exports.py``).

Rows are read ``YIELD`` at a time and handed on as they come: ``core.spreadsheets.write_xlsx`` writes each to a
temporary file, so an export of a city's roster keeps memory flat.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from core.auth.scope import subtree_filter
from core.masking import mask_id_number, mask_phone
from core.models.membership import Membership
from core.models.organization import Organization
from core.models.person import Person
from core.models.region import Region
from core.models.unit import HEAD_COUNTS, Unit
from core.registry import columns, units
from core.registry.imports import Scope

#: Rows fetched at a time.
YIELD = 1000


def _region_labels(session: Session) -> dict[int, str]:
    """Each region as a cell names it: its name, or its code where another region has the same name."""
    regions = session.execute(sa.select(Region.id, Region.name, Region.code)).all()
    counts: dict[str, int] = {}
    for _id, name, _code in regions:
        counts[name] = counts.get(name, 0) + 1
    return {region_id: name if counts[name] == 1 else code for region_id, name, code in regions}


def _organization_names(session: Session) -> dict[int, str]:
    return dict(session.execute(sa.select(Organization.id, Organization.name)).all())


def rows(session: Session, kind: str, scope: Scope, subtree: str | None = None, *, full: bool = False
         ) -> Iterator[dict]:
    """The rows of ``kind`` the caller may see (``scope``), under the organization whose path is ``subtree`` when
    given. ``full``: ID numbers and phones in full (the caller may read them; the API records the export), else
    masked."""
    return {"units": _units, "organizations": _organizations, "members": _members}[kind](session, scope, subtree, full)


def _units(session, scope, subtree, full) -> Iterator[dict]:
    regions, names = _region_labels(session), _organization_names(session)
    statement = sa.select(Unit).where(units.within(scope.roots, scope.areas)).order_by(Unit.name, Unit.id)
    if subtree is not None:
        roots = (subtree,)
        statement = statement.where(units.within(roots, units.federation_areas(session, roots)))
    for unit in session.scalars(statement.execution_options(yield_per=YIELD)):
        yield {
            "name": unit.name, "credit_code": unit.credit_code, "registration_number": unit.registration_number,
            "organization_code": unit.organization_code, "region": regions.get(unit.region_id, ""),
            "industry": columns.label("industry", unit.industry),
            "economic_type": columns.label("economic_type", unit.economic_type),
            "address": unit.address, "legal_representative": unit.legal_representative,
            **{count: getattr(unit, count) for count in HEAD_COUNTS},
            "has_union": columns.label("has_union", "yes" if unit.has_union else "no"),
            "organization": names.get(unit.organization_id, ""),
        }


def _organizations(session, scope, subtree, full) -> Iterator[dict]:
    regions, names = _region_labels(session), _organization_names(session)
    statement = (
        sa.select(Organization)
        .where(Organization.status == "active", subtree_filter(Organization.path, scope.roots))
        .order_by(Organization.depth, Organization.path)
    )
    if subtree is not None:
        statement = statement.where(subtree_filter(Organization.path, (subtree,)))
    for organization in session.scalars(statement.execution_options(yield_per=YIELD)):
        phone = organization.contact_phone
        yield {
            "name": organization.name, "kind": columns.label("kind", organization.kind),
            "joint": columns.label("joint", "yes" if organization.joint else "no"),
            "parent": names.get(organization.parent_id, ""), "region": regions.get(organization.region_id, ""),
            "chairman_name": organization.chairman_name, "contact_name": organization.contact_name,
            "contact_phone": (phone if full else mask_phone(phone)) if phone else "",
            "legal_person_cert_no": organization.legal_person_cert_no, "term_ends_on": organization.term_ends_on,
        }


_PERSON = (Person.name, Person.id_number, Person.phone, Person.ethnicity, Person.education, Person.political_status,
           Person.native_place, Person.household_type, Person.employment_form, Person.position, Person.title,
           Person.remarks)


def _members(session, scope, subtree, full) -> Iterator[dict]:
    """People with a current membership (active or retained) in the subtree, by organization, then name."""
    names = _organization_names(session)
    statement = (
        sa.select(*_PERSON, Membership.organization_id, Membership.started_on, Unit.name, Unit.credit_code,
                  Unit.registration_number, Unit.organization_code)
        .join(Membership, sa.and_(Membership.person_id == Person.id, Membership.status != "ended"))
        .join(Organization, Organization.id == Membership.organization_id)
        .outerjoin(Unit, Unit.id == Membership.unit_id)
        .where(subtree_filter(Organization.path, scope.roots))
        .order_by(Organization.path, Person.name, Person.id)
    )
    if subtree is not None:
        statement = statement.where(subtree_filter(Organization.path, (subtree,)))
    for (name, id_number, phone, ethnicity, education, political_status, native_place, household_type,
         employment_form, position, title, remarks, organization_id, started_on, unit_name, *codes) in session.execute(
            statement.execution_options(yield_per=YIELD)):
        yield {
            "name": name, "id_number": id_number if full else mask_id_number(id_number),
            "phone": (phone if full else mask_phone(phone)) if phone else "",
            "ethnicity": ethnicity, "education": columns.label("education", education),
            "political_status": political_status, "native_place": native_place,
            "household_type": columns.label("household_type", household_type),
            "employment_form": columns.label("employment_form", employment_form),
            "position": position, "title": title, "organization": names.get(organization_id, ""),
            "unit": unit_name or "", "unit_code": next((code for code in codes if code), ""),
            "joined_on": started_on, "remarks": remarks,
        }


@click.command("export")
@click.argument("kind", type=click.Choice(("units", "organizations", "members")))
@click.option("--tenant", "slug", required=True, help="the tenant's slug")
@click.option("--organization", "organization_id", type=int, help="the subtree to export (default: the whole tenant)")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="default: <kind>.xlsx here")
@with_appcontext
def export_command(kind, slug, organization_id, output):
    """Export KIND of a tenant to xlsx, in the import's columns, numbers in full; the export is on record."""
    from core import audit, spreadsheets, tenancy
    from core.registry import organizations

    output = output or Path(f"{kind}.xlsx")
    state = current_app.extensions["gonghui"]
    with state.db.unit_of_work() as session:
        with tenancy.platform_scope("cli: find the tenant to export"):
            tenant = tenancy.tenant_by_slug_any(session, slug)
        with tenancy.tenant_scope(tenant), output.open("wb") as out:
            subtree = organizations.organization_by_id(session, organization_id) if organization_id else None
            audit.record(session, f"export.{kind}", obj=subtree, actor="cli",
                         after={"organization_id": organization_id, "full": True})
            items = rows(session, kind, Scope(("/",)), subtree.path if subtree is not None else None, full=True)
            for chunk in spreadsheets.write_xlsx(columns.SETS[kind], items, sheet_title=columns.TITLES[kind]):
                out.write(chunk)
    click.echo(f"wrote {output}")
