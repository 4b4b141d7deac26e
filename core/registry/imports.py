"""Imports (导入) of units, organizations and members from a spreadsheet: check every row, show the plan, apply it
in one transaction or not at all.

A file is read streamed (``core.spreadsheets.read``). The **check** reads every row, validates it with the
registry's own rules and says what applying it would do: ``created``, ``updated`` or ``unchanged``, or every
error by row and column. The **apply** does it, in the caller's one transaction; a row that has become wrong since
the check (someone changed the registry in between) rejects the whole file and nothing is written. Units and
organizations are read again for the apply; members, the big files, are not: the check keeps the checked rows in a
spool next to the upload (``spool_path``), and the apply reads those.

Matching: a unit by its credit code (or registration number or organisation code; by its exact name when the row
has none), an organization by its full name, a person by their ID number. A blank cell never overwrites a stored
value, and a row that says what is stored already is ``unchanged``: nothing is written and nothing audited, so the
same file uploaded twice changes nothing the second time.

Units and organizations go through the registry's functions (``units.create``, ``organizations.update`` ...), one
savepoint per row, each change audited as usual. The check runs them too, inside a savepoint it rolls back: the
plan is what the functions would do, not a guess at it. Members are the big files (a city's roster), so new people
and their memberships are written in bulk (``_Members``: ``COPY`` on PostgreSQL) after the same checks the
registry functions make (``id_numbers.parse``, ``people.field_errors``, ``people.normalise_phone``); people who
exist already go through ``people.update`` and ``memberships.join``. Every member who joins, in bulk or not, is
announced to the tenant's plugins with ``events.MembershipStarted``, once, in the apply's transaction. Every applied
import leaves one ``import.apply`` audit record with its counts.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from core import audit, crypto, events, id_numbers, spreadsheets
from core.db import utcnow
from core.errors import Conflict, DomainError, InvalidInput
from core.jobs import actor as job_actor
from core.models.import_batch import ImportBatch
from core.models.membership import Membership, MembershipEntry
from core.models.organization import RESERVOIR_KINDS, Organization
from core.models.person import Person
from core.models.region import Region
from core.models.unit import HEAD_COUNTS, Unit
from core.registry import columns, memberships, organizations, people, units

log = logging.getLogger(__name__)

KINDS = ("units", "organizations", "members")
#: What a caller needs to import each kind; the first one's subtrees bound what the import may touch.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "units": ("units.manage",),
    "organizations": ("organizations.manage",),
    "members": ("memberships.manage", "people.manage"),
}
#: Cell errors a batch keeps (the count keeps going): enough to fix a file, small enough for one JSON column.
ERRORS_KEPT = 1000
#: Rows validated, looked up and written together: one query per kind of lookup per batch.
BATCH_ROWS = 1000
#: Largest upload (B1's reader refuses anything bigger, with a message).
MAX_BYTES = 60 * 1024 * 1024
#: Organization names a members import remembers the lookup of (a file names a few hundred; a hostile one more).
HOLDERS_KEPT = 10_000
#: Progress is written every this many rows (PostgreSQL only, in a transaction of its own).
PROGRESS_EVERY = 5000


# --- scope, report ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What an import may touch, from its caller's roles: the union-tree subtrees at ``roots`` ("/": the whole
    tenant) and, for units, the areas of the federations among them (``units.federation_areas``). Plain data, kept
    on the batch, so a job checks with the caller's scope without the caller."""

    roots: tuple[str, ...]
    areas: tuple[str, ...] = ()

    @property
    def whole(self) -> bool:
        return "/" in self.roots

    def covers(self, path: str | None) -> bool:
        return self.whole or (path is not None and any(path.startswith(root) for root in self.roots))

    def narrowest_common(self) -> str:
        """The deepest path above every root: where a batch lives in the tree."""
        if self.whole or not self.roots:
            return "/"
        parts = [root.strip("/").split("/") for root in self.roots]
        common = []
        for level in zip(*parts):
            if len(set(level)) != 1:
                break
            common.append(level[0])
        return "/" + "".join(f"{part}/" for part in common)

    def as_json(self) -> dict:
        return {"roots": list(self.roots), "areas": list(self.areas)}

    @classmethod
    def from_json(cls, data: dict) -> "Scope":
        return cls(tuple(data.get("roots") or ()), tuple(data.get("areas") or ()))


class RowErrors(Exception):
    """What is wrong with one row: column key -> messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass
class Report:
    """What a check or an apply found, row by row, as counts and the first ``ERRORS_KEPT`` cell errors."""

    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_rows: int = 0
    error_count: int = 0
    errors: list[dict] = field(default_factory=list)
    message: str = ""

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def row_errors(self, number: int, errors: dict[str, list[str]]) -> None:
        self.error_rows += 1
        headers = {column.key: column.header for column in columns.SETS.get(self.kind, ())}
        for key, messages in errors.items():
            for message in messages:
                self.error_count += 1
                if len(self.errors) < ERRORS_KEPT:
                    self.errors.append({"row": number, "column": key, "header": headers.get(key, key),
                                        "message": message})

    def file_error(self, error: InvalidInput) -> None:
        """The file as a whole cannot be read (``SpreadsheetError``): row 0, or the row the reader names."""
        self.message = error.message
        for where, messages in (error.errors or {"file": [error.message]}).items():
            number = int(where.split()[1]) if re.fullmatch(r"row \d+", where) else 0
            for message in messages:
                self.error_count += 1
                self.errors.append({"row": number, "column": where, "header": "", "message": message})

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def error_dict(self) -> dict[str, list[str]]:
        """The errors in the API's shape: ``{"row 7.id_number": [...]}``."""
        shaped: dict[str, list[str]] = {}
        for error in self.errors:
            where = f"row {error['row']}.{error['column']}" if error["row"] else error["column"]
            shaped.setdefault(where, []).append(error["message"])
        return shaped


class Rejected(InvalidInput):
    """Applying found errors: nothing was written."""

    def __init__(self, report: Report):
        super().__init__(report.message or f"{report.error_rows} 行有错误，整个文件未导入", errors=report.error_dict())
        self.report = report


# --- cells --------------------------------------------------------------------------------------------------------

_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?$")


def parse_date(text: str) -> dt.date:
    """2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日 or 20240301; ``ValueError`` otherwise."""
    text = text.strip()
    match = _DATE.match(text)
    try:
        if match:
            return dt.date(*map(int, match.groups()))
        if re.fullmatch(r"\d{8}", text):
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        pass
    raise ValueError("日期，如 2024-03-01")


def _count(text: str) -> int:
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        raise ValueError("一个整数") from None
    if not number.is_integer():
        raise ValueError("一个整数")
    return int(number)


def _required(row: spreadsheets.Row, keys, errors: dict) -> None:
    for key in keys:
        if not row.values.get(key) and key not in row.problems:
            errors.setdefault(key, []).append("必填")


def _cell_problems(row: spreadsheets.Row) -> dict[str, list[str]]:
    return {key: [problem] for key, problem in row.problems.items()}


def _decoded(row: spreadsheets.Row, keys, out: dict, errors: dict) -> None:
    """Coded cells as their codes into ``out``; a cell that names no code is an error."""
    for key in keys:
        text = row.values.get(key)
        if text:
            try:
                out[key] = columns.decode(key, text)
            except ValueError as error:
                errors.setdefault(key, []).append(f"应为{error}")


#: Registry field names -> the import's column keys.
_COLUMN_OF = {"region_id": "region", "organization_id": "organization", "parent_id": "parent", "keeper_id": "organization"}


def _as_row_errors(error: DomainError) -> RowErrors:
    errors: dict[str, list[str]] = {}
    for key, messages in (error.errors or {"name": [error.message]}).items():
        errors.setdefault(_COLUMN_OF.get(key, key), []).extend(str(m) for m in messages)
    return RowErrors(errors)


# --- lookups -------------------------------------------------------------------------------------------------------


class _Regions:
    """The tenant's regions by code and by name (a city has a few thousand)."""

    def __init__(self, session: Session):
        self.by_code: dict[str, Region] = {}
        self.by_name: dict[str, list[Region]] = {}
        for region in session.scalars(sa.select(Region)):
            self.by_code[region.code] = region
            self.by_name.setdefault(region.name, []).append(region)

    def find(self, text: str) -> Region:
        region = self.by_code.get(text.strip().upper())
        if region is not None:
            return region
        named = self.by_name.get(text.strip(), [])
        if len(named) == 1:
            return named[0]
        if named:
            raise ValueError(f"有 {len(named)} 个区域叫{text}：请填区划代码")
        raise ValueError(f"没有这个区域：{text}")


class _OrganizationNames:
    """The tenant's active organizations by full name; organizations created by the import join it."""

    def __init__(self, session: Session):
        self.by_name: dict[str, list[Organization]] = {}
        for organization in session.scalars(sa.select(Organization).where(Organization.status == "active")):
            self.add(organization)

    def add(self, organization: Organization) -> None:
        self.by_name.setdefault(organization.name, []).append(organization)

    def named(self, name: str) -> Organization | None:
        """The one active organization named ``name``, or None; several is an error."""
        found = self.by_name.get(name.strip(), [])
        if len(found) > 1:
            raise ValueError(f"有 {len(found)} 个工会组织叫这个名字，无法确定是哪一个")
        return found[0] if found else None

    def find(self, name: str, scope: Scope) -> Organization:
        """The organization a cell names, if the caller may act on it; else as if it did not exist."""
        organization = self.named(name)
        if organization is None or not scope.covers(organization.path):
            raise ValueError(f"没有这个工会组织：{name}")
        return organization


# --- the kinds ---------------------------------------------------------------------------------------------------


class _RegistryRows:
    """Units and organizations: each row through the registry's own functions, in a savepoint of its own."""

    def __init__(self, session: Session, scope: Scope, report: Report, actor):
        self.session, self.scope, self.report, self.actor = session, scope, report, actor
        self.regions = _Regions(session)
        self.organizations = _OrganizationNames(session)
        self.seen: dict[str, int] = {}

    def run(self, rows) -> None:
        for row in rows:
            self.report.rows += 1
            savepoint = self.session.begin_nested()
            try:
                outcome = self.row(row)
            except RowErrors as error:
                savepoint.rollback()
                self.report.row_errors(row.number, error.errors)
                continue
            except DomainError as error:
                savepoint.rollback()
                self.report.row_errors(row.number, _as_row_errors(error).errors)
                continue
            if outcome == "unchanged":
                savepoint.rollback()  # the registry function may have written an audit record of no change
            else:
                savepoint.commit()
            self.report.count(outcome)

    def first_seen(self, key: str, number: int, column: str, what: str) -> None:
        earlier = self.seen.setdefault(key, number)
        if earlier != number:
            raise RowErrors({column: [f"与第 {earlier} 行的{what}相同"]})

    def region(self, row, errors) -> Region | None:
        text = row.values.get("region")
        if not text:
            return None
        try:
            return self.regions.find(text)
        except ValueError as error:
            errors.setdefault("region", []).append(str(error))
            return None

    def organization(self, row, key: str, errors) -> Organization | None:
        text = row.values.get(key)
        if not text:
            return None
        try:
            return self.organizations.find(text, self.scope)
        except ValueError as error:
            errors.setdefault(key, []).append(str(error))
            return None


class _UnitRows(_RegistryRows):
    TEXT = ("name", "credit_code", "registration_number", "organization_code", "address", "legal_representative")

    def row(self, row: spreadsheets.Row) -> str:
        errors = _cell_problems(row)
        _required(row, ("name",), errors)
        fields = {key: row.values[key] for key in self.TEXT if row.values.get(key)}
        coded: dict[str, str] = {}
        _decoded(row, ("industry", "economic_type", "has_union"), coded, errors)
        fields.update({key: coded[key] for key in ("industry", "economic_type") if key in coded})
        if "has_union" in coded:
            fields["has_union"] = coded["has_union"] == "yes"
        for key in HEAD_COUNTS:
            if row.values.get(key):
                try:
                    fields[key] = _count(row.values[key])
                except ValueError as error:
                    errors.setdefault(key, []).append(f"应为{error}")
        region = self.region(row, errors)
        if region is not None:
            fields["region"] = region
        union = self.organization(row, "organization", errors)
        if errors:
            raise RowErrors(errors)
        existing = self.match(row, fields)
        if existing is None:
            unit = units.create(self.session, organization=union, actor=self.actor, **fields)
            self.still_within(unit)
            return "created"
        before = units.snapshot(existing)
        if fields:
            units.update(self.session, existing, fields, actor=self.actor)
        if union is not None and union.id != existing.organization_id:
            units.set_covering_union(self.session, existing, union, actor=self.actor)
        self.still_within(existing)
        return "unchanged" if units.snapshot(existing) == before else "updated"

    def match(self, row, fields) -> Unit | None:
        """The unit this row is: by the first of its codes, else by its exact name. Checking the codes here
        names a wrong one before the lookup."""
        for code in units.CODES:
            if code in fields:
                try:
                    value = {"credit_code": units.check_credit_code, "registration_number": units.check_registration_number,
                             "organization_code": units.check_organization_code}[code](fields[code])
                except InvalidInput as error:
                    raise _as_row_errors(error) from None
                self.first_seen(f"{code}:{value}", row.number, code, "代码")
                unit = self.session.scalar(sa.select(Unit).where(getattr(Unit, code) == value))
                if unit is not None:
                    return self.visible(unit, code)
                return None
        name = " ".join(fields["name"].split())
        self.first_seen(f"name:{name}", row.number, "name", "单位名称")
        found = self.session.scalars(sa.select(Unit).where(Unit.name == name).limit(2)).all()
        if len(found) > 1:
            raise RowErrors({"name": ["有多个单位叫这个名字：请填统一社会信用代码"]})
        return self.visible(found[0], "name") if found else None

    def visible(self, unit: Unit, column: str) -> Unit:
        if self.session.scalar(sa.select(Unit.id).where(Unit.id == unit.id, self.within())) is None:
            raise RowErrors({column: ["已有单位登记了它，且不在您的管辖范围内"]})
        return unit

    def within(self):
        return units.within(self.scope.roots, self.scope.areas)

    def still_within(self, unit: Unit) -> None:
        """A unit the import registers or changes must stay where its importer can see it (as in the API)."""
        self.session.flush()
        if self.session.scalar(sa.select(Unit.id).where(Unit.id == unit.id, self.within())) is None:
            column = "organization" if unit.organization_id is not None else "region"
            raise RowErrors({column: ["单位须由您管辖范围内的工会覆盖，或位于您所在总工会的区域内且尚未建会"]})


class _OrganizationRows(_RegistryRows):
    TEXT = ("chairman_name", "contact_name", "contact_phone", "legal_person_cert_no")

    def run(self, rows) -> None:
        """Parents before children, wherever they stand in the file: an organization file is small (a city's
        tree), so it is read whole and ordered first."""
        rows = list(rows)
        position = {}
        for row in rows:
            position.setdefault(row.values.get("name", "").strip(), row)
        ordered, placed = [], set()

        def place(row, trail=()):
            if row.number in placed or row.number in trail:
                return
            parent = position.get(row.values.get("parent", "").strip())
            if parent is not None and parent is not row:
                place(parent, (*trail, row.number))
            placed.add(row.number)
            ordered.append(row)

        for row in rows:
            place(row)
        super().run(ordered)

    def row(self, row: spreadsheets.Row) -> str:
        errors = _cell_problems(row)
        _required(row, ("name", "kind"), errors)
        fields = {key: row.values[key] for key in self.TEXT if row.values.get(key)}
        coded: dict[str, str] = {}
        _decoded(row, ("kind", "joint"), coded, errors)
        if "kind" in coded:
            fields["kind"] = coded["kind"]
        if "joint" in coded:
            fields["joint"] = coded["joint"] == "yes"
        if row.values.get("term_ends_on"):
            try:
                fields["term_ends_on"] = parse_date(row.values["term_ends_on"])
            except ValueError as error:
                errors.setdefault("term_ends_on", []).append(f"应为{error}")
        region = self.region(row, errors)
        if region is not None:
            fields["region"] = region
        parent = self.organization(row, "parent", errors)
        name = " ".join(row.values.get("name", "").split())
        try:
            existing = self.organizations.named(name) if name else None
        except ValueError as error:
            errors.setdefault("name", []).append(str(error))
            existing = None
        if errors:
            raise RowErrors(errors)
        self.first_seen(name, row.number, "name", "工会名称")
        if existing is None:
            if parent is None and fields.get("kind") != "city_federation":
                raise RowErrors({"parent": ["必填：除市总工会外，每个工会组织都有上级工会"]})
            if parent is None and not self.scope.whole:
                raise RowErrors({"parent": ["只有全市范围的管理员可以导入市总工会"]})
            organization = organizations.create(self.session, name=name, parent=parent, actor=self.actor, **fields)
            self.organizations.add(organization)
            return "created"
        if not self.scope.covers(existing.path):
            raise RowErrors({"name": ["已有同名的工会组织，且不在您的管辖范围内"]})
        before = organizations.snapshot(existing)
        if "contact_phone" in fields and organizations.phone_index(fields["contact_phone"]) == existing.contact_phone_index:
            del fields["contact_phone"]  # the same number, however typed: not a change
        organizations.update(self.session, existing, fields, actor=self.actor)
        if parent is not None and parent.id != existing.parent_id:
            organizations.move(self.session, existing, parent, actor=self.actor)
        return "unchanged" if organizations.snapshot(existing) == before else "updated"


@dataclass(slots=True)
class _Member:
    """One member row, checked against the file's own rules: what would be written. The ID number and the phone
    are held encrypted, as they will be stored (the spool never holds them in clear)."""

    number: int  # the row, as the user sees it
    id_number: str  # encrypted
    index: str
    sex: str
    birth_date: dt.date
    name: str
    phone: str | None  # encrypted
    phone_index: str | None
    details: dict
    organization_name: str
    unit_code: str | None
    unit_name: str | None
    joined_on: dt.date | None
    organization: Organization | None = None
    unit_id: int | None = None

    def spooled(self) -> list:
        return [self.number, self.id_number, self.index, self.sex, self.birth_date.toordinal(), self.name,
                self.phone, self.phone_index, self.details, self.organization_name, self.unit_code, self.unit_name,
                self.joined_on.toordinal() if self.joined_on else None]

    @classmethod
    def unspooled(cls, data: list) -> "_Member":
        number, id_number, index, sex, birth, name, phone, phone_index, details, organization, code, unit, joined = data
        return cls(number, id_number, index, sex, dt.date.fromordinal(birth), name, phone, phone_index, details,
                   organization, code, unit, dt.date.fromordinal(joined) if joined else None)


class _Members:
    """Members: person and first membership, ``BATCH_ROWS`` rows at a time.

    The check (``run``) checks each row of the file on its own against the registry's rules (``check``); then,
    per batch, one query for each kind of lookup (units by code and by name, people by the blind index of their
    ID number), and keeps the checked rows in a spool next to the upload.

    The apply (``apply``) reads the spool instead of parsing and checking the file again, and redoes what depends
    on the registry, which may have changed in between: the organization by its name, the unit, whether the
    person is registered already. It goes through the spool twice: first every lookup, and people who exist
    through ``people.update`` and ``memberships.join``; then, if no row is wrong, the new people in bulk
    (``create``: on PostgreSQL ids from the sequences and rows by ``COPY``). Looking everyone up before writing
    anyone keeps the lookups off the rows the import itself writes: while those filled the table, PostgreSQL's
    plan for the lookup (made when the table was small) scanned them all, for every batch."""

    DETAILS = ("political_status", "native_place", "position", "title", "remarks")
    CODED = ("ethnicity", "education", "household_type", "employment_form")

    def __init__(self, session: Session, scope: Scope, report: Report, actor, *, write: bool, note: str = "",
                 progress=None, spool=None):
        self.session, self.scope, self.report, self.actor = session, scope, report, actor
        self.write, self.note, self.progress, self.spool = write, note, progress, spool
        self.organizations = _OrganizationNames(session)
        #: What each organization name in the file resolves to (an organization, or the error's message).
        self.holders: dict[str, Organization | list[str]] = {}
        #: The first row of each ID number in the file, by 8 bytes of its blind index (memory: ~100 bytes a row).
        self.seen: dict[int, int] = {}
        #: The rows of people to create, one bit each (a million rows: 125 kB).
        self.new_rows = bytearray()
        self.today = id_numbers.today()
        self.tenant_id = _tenant_id()
        self.actor_id, self.actor_label = memberships._actor(actor)
        self.keyring = crypto.keyring()
        self.dialect = session.get_bind().dialect.name

    def run(self, rows) -> None:
        """Check the rows of a file, keeping them in the spool."""
        batch = []
        for row in rows:
            self.report.rows += 1
            try:
                batch.append(self.check(row))
            except RowErrors as error:
                self.report.row_errors(row.number, error.errors)
            if self.report.rows % BATCH_ROWS == 0:
                self.batch(batch)
                batch = []
        self.batch(batch)

    def apply(self, spool: Path) -> None:
        """Apply the rows a check kept in ``spool``."""
        for batch in self.spooled(spool):
            self.batch(batch)
        if not self.report.ok:
            return
        for batch in self.spooled(spool, count=False):
            new = [m for m in batch if self.is_new(m.number)]
            self.resolve_units(new)  # as in the first pass: units are not written by a members import
            self.create(new)

    def spooled(self, spool: Path, *, count: bool = True):
        """The spool's batches of rows, each row's organization looked up again (a row naming one that is not
        there any more is an error)."""
        with spool.open(encoding="utf-8") as lines:
            next(lines)  # SPOOL_HEADER
            for line in lines:
                batch = []
                for data in json.loads(line):
                    member = _Member.unspooled(data)
                    if count:
                        self.report.rows += 1
                    found = self.holder(member.organization_name)
                    if isinstance(found, list):
                        self.report.row_errors(member.number, {"organization": found})
                    else:
                        member.organization = found
                        batch.append(member)
                yield batch

    def batch(self, checked: list[_Member]) -> None:
        if self.spool is not None and self.report.ok:
            self.spool.write(json.dumps([m.spooled() for m in checked], ensure_ascii=False) + "\n")
        self.resolve_units(checked)
        existing = self.existing(checked)
        for member in checked:
            if member.number in self.failed:
                continue
            person = existing.get(member.index)
            if person is None:
                self.mark_new(member.number)
                self.report.created += 1
                continue
            try:
                outcome = self.update(member, person)
            except RowErrors as error:
                self.report.row_errors(member.number, error.errors)
                continue
            except DomainError as error:
                self.report.row_errors(member.number, _as_row_errors(error).errors)
                continue
            self.report.count(outcome)
        if self.progress is not None:
            self.progress(self.report.rows)

    def mark_new(self, number: int) -> None:
        byte = number >> 3
        if byte >= len(self.new_rows):
            self.new_rows.extend(bytes(byte + 1 - len(self.new_rows) + 4096))
        self.new_rows[byte] |= 1 << (number & 7)

    def is_new(self, number: int) -> bool:
        byte = number >> 3
        return byte < len(self.new_rows) and bool(self.new_rows[byte] & (1 << (number & 7)))

    # --- one row, on its own ---

    def check(self, row: spreadsheets.Row) -> _Member:
        values = row.values
        errors = _cell_problems(row)
        _required(row, ("name", "id_number", "organization"), errors)
        number = None
        if values["id_number"]:
            try:
                number = id_numbers.parse(values["id_number"], on=self.today)
            except id_numbers.InvalidIdNumber as error:
                errors.setdefault("id_number", []).append(error.problem)
        phone = None
        if values["phone"]:
            try:
                phone = people.normalise_phone(values["phone"])
            except InvalidInput as error:
                errors.setdefault("phone", []).extend(error.errors["phone"])
        details = {key: values[key] for key in self.DETAILS if values[key]}
        _decoded(row, self.CODED, details, errors)
        for key, messages in people.field_errors({"name": values["name"], **details}).items():
            if key != "name" or values["name"]:
                errors.setdefault(key, []).extend(messages)
        organization = self.holder(values["organization"]) if values["organization"] else None
        if isinstance(organization, list):
            errors.setdefault("organization", []).extend(organization)
        joined_on = None
        if values["joined_on"]:
            try:
                joined_on = parse_date(values["joined_on"])
                if joined_on > self.today:
                    errors.setdefault("joined_on", []).append("入会日期不能晚于今天")
                elif number is not None and joined_on < number.birth_date:
                    errors.setdefault("joined_on", []).append("入会日期早于出生日期")
            except ValueError as error:
                errors.setdefault("joined_on", []).append(f"应为{error}")
        unit_code = None
        if values["unit_code"]:
            try:
                unit_code = _unit_code(values["unit_code"])
            except InvalidInput as error:
                errors.setdefault("unit_code", []).extend(next(iter(error.errors.values())))
        index = people.id_number_index(number.number) if number is not None else ""
        if number is not None:
            key = int(index[:16], 16)
            earlier = self.seen.setdefault(key, row.number)
            if earlier != row.number:
                errors.setdefault("id_number", []).append(f"与第 {earlier} 行的身份证号相同")
        if errors:
            raise RowErrors(errors)
        encrypt = self.keyring.encrypt
        member = _Member(row.number, encrypt(number.number), index, number.sex, number.birth_date,
                         " ".join(values["name"].split()), encrypt(phone) if phone else None,
                         crypto.blind_index("phone", phone) if phone else None, details, values["organization"],
                         unit_code, values["unit"] or None, joined_on, organization)
        return member

    def holder(self, name: str) -> Organization | list[str]:
        """The organization a row names, if it may hold the member (it exists, the caller may act on it, it holds
        members); else what is wrong with it. Each name is looked up once per file."""
        found = self.holders.get(name)
        if found is None:
            try:
                found = self.organizations.find(name, self.scope)
                memberships._check_holder(found, memberships.MEMBER_KINDS)
            except ValueError as error:
                found = [str(error)]
            except InvalidInput as error:
                found = list(error.errors["organization_id"])
            if len(self.holders) < HOLDERS_KEPT:
                self.holders[name] = found
        return found

    # --- lookups for a batch ---

    def resolve_units(self, checked: list[_Member]) -> None:
        """Each row's unit, by its code when it has one, else by its exact name: one query for each."""
        self.failed: set[int] = set()
        codes = {m.unit_code for m in checked if m.unit_code}
        names = {" ".join(m.unit_name.split()) for m in checked if m.unit_name and not m.unit_code}
        by_code: dict[str, tuple[int, str]] = {}
        if codes:
            for unit_id, name, *unit_codes in self.session.execute(
                sa.select(Unit.id, Unit.name, Unit.credit_code, Unit.registration_number, Unit.organization_code)
                .where(sa.or_(_among(Unit.credit_code, codes, self.dialect), _among(Unit.registration_number, codes, self.dialect),
                              _among(Unit.organization_code, codes, self.dialect)))
            ):
                for code in unit_codes:
                    if code:
                        by_code[code] = (unit_id, name)
        by_name: dict[str, list[int]] = {}
        if names:
            for unit_id, name in self.session.execute(sa.select(Unit.id, Unit.name).where(_among(Unit.name, names, self.dialect))):
                by_name.setdefault(name, []).append(unit_id)
        for member in checked:
            if member.unit_code:
                found = by_code.get(member.unit_code)
                if found is None:
                    self.fail(member, "unit_code", "没有单位登记了这个代码")
                elif member.unit_name and " ".join(member.unit_name.split()) != found[1]:
                    self.fail(member, "unit", f"这个代码登记的单位是 {found[1]}")
                else:
                    member.unit_id = found[0]
            elif member.unit_name:
                ids = by_name.get(" ".join(member.unit_name.split()), [])
                if len(ids) == 1:
                    member.unit_id = ids[0]
                else:
                    self.fail(member, "unit", "有多个单位叫这个名字：请填单位信用代码" if ids else "没有这个单位：请先导入单位")

    def fail(self, member: _Member, column: str, message: str) -> None:
        if member.number not in self.failed:
            self.failed.add(member.number)
            self.report.row_errors(member.number, {column: [message]})

    def existing(self, checked: list[_Member]) -> dict[str, Person]:
        indexes = [m.index for m in checked if m.number not in self.failed]
        self.newest: dict[int, Membership] = {}
        if not indexes:
            return {}
        found = {p.id_number_index: p for p in self.session.scalars(
            sa.select(Person).where(_among(Person.id_number_index, indexes, self.dialect)))}
        if found:
            for membership in self.session.scalars(
                sa.select(Membership).where(_among(Membership.person_id, [p.id for p in found.values()], self.dialect))
                .order_by(Membership.id)
            ):
                self.newest[membership.person_id] = membership
        return found

    # --- a person who exists ---

    def update(self, member: _Member, person: Person) -> str:
        newest = self.newest.get(person.id)
        home = self.session.get(Organization, newest.organization_id) if newest is not None else None
        if not (self.scope.whole or (home is not None and self.scope.covers(home.path))):
            raise RowErrors({"id_number": ["此人已在其他工会登记，不在您的管辖范围内"]})
        changes = {key: value for key, value in member.details.items() if getattr(person, key) != value}
        if member.name != person.name:
            changes["name"] = member.name
        if member.phone and member.phone_index != person.phone_index:
            changes["phone"] = self.keyring.decrypt(member.phone)
        current = newest if newest is not None and newest.status != "ended" else None
        if current is not None:
            if current.organization_id != member.organization.id:
                raise RowErrors({"organization": ["此人是另一个工会的会员：请办理转会，不要重复入会"]})
            if member.unit_id is not None and current.unit_id != member.unit_id:
                raise RowErrors({"unit": ["与此人会籍登记的工作单位不同：单位变动请办理转会"]})
        if not changes and current is not None:
            return "unchanged"
        if self.write:
            if changes:
                people.update(self.session, person, changes, actor=self.actor)
            if current is None:
                memberships.join(self.session, person=person, organization=member.organization,
                                 unit=self.session.get(Unit, member.unit_id) if member.unit_id else None,
                                 on=member.joined_on, parked=member.organization.kind in RESERVOIR_KINDS,
                                 actor=self.actor, note=self.note)
        return "updated"

    # --- new people, in bulk ---

    def create(self, new: list[_Member]) -> None:
        """Write the people, their memberships and the ledger's first entries, as ``people.create`` and
        ``memberships.join`` would (tests/core/test_imports.py compares the two), every row with the tenant's
        id: ids are taken first so that the rows can be written without reading anything back."""
        if not new:
            return
        self.session.flush()  # what the ORM holds goes first (the first pass's people.update, memberships.join)
        connection, tenant_id, now = self.session.connection(), self.tenant_id, utcnow()
        person_ids, membership_ids = _new_ids(connection, (Person.__table__, Membership.__table__), len(new))
        persons, held, entries = [], [], []
        for person_id, membership_id, m in zip(person_ids, membership_ids, new):
            parked = m.organization.kind in RESERVOIR_KINDS
            on = m.joined_on or self.today
            persons.append({
                **_PERSON_DEFAULTS, **m.details, "id": person_id, "tenant_id": tenant_id, "id_number": m.id_number,
                "id_number_index": m.index, "name": m.name, "sex": m.sex, "birth_date": m.birth_date,
                "phone": m.phone, "phone_index": m.phone_index, "created_at": now, "updated_at": now})
            held.append({
                **_MEMBERSHIP_DEFAULTS, "id": membership_id, "tenant_id": tenant_id, "person_id": person_id,
                "organization_id": m.organization.id, "unit_id": m.unit_id, "parked": parked, "started_on": on,
                "created_at": now, "updated_at": now})
            for step in ("joined", "parked") if parked else ("joined",):
                entries.append({
                    "tenant_id": tenant_id, "person_id": person_id, "membership_id": membership_id, "step": step,
                    "on": on, "organization_id": m.organization.id, "actor_id": self.actor_id,
                    "actor": self.actor_label, "reason": "", "note": self.note, "at": now})
        _write(connection, Person.__table__, persons)
        _write(connection, Membership.__table__, held)
        _write(connection, MembershipEntry.__table__, entries)
        # Plugins react to joins (an SMS, a union card): each new member is announced as ``memberships.join``
        # announces one, in this transaction and after the rows are written (a handler reads them), a batch at a
        # time so nothing grows with the file.
        for person_id, membership_id, m in zip(person_ids, membership_ids, new):
            events.emit(self.session, events.MembershipStarted(person_id, membership_id, m.organization.id))


def _among(column: sa.ColumnElement, values, dialect: str) -> sa.ColumnElement:
    """``column IN values`` for a batch's lookups. On PostgreSQL as ``= ANY(array)``: one parameter, so the
    statement psycopg prepares after a few batches keeps using the index. With ``IN ($1, ... $1000)`` the generic
    plan, made while the import's own new rows were filling the table, scanned all the tenant's people for every
    batch (measured: 6 s a batch at 40,000 rows instead of 9 ms)."""
    values = list(values)
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


#: The columns a new person or membership written in bulk leaves at what ``people.create`` and
#: ``memberships.join`` leave them.
_PERSON_DEFAULTS = {
    **{key: "" for key in ("ethnicity", "education", "political_status", "native_place", "household_type",
                           "employment_form", "position", "title", "remarks", "confirmed_via")},
    "filled_in_by_user_id": None, "version": 1,
}
_MEMBERSHIP_DEFAULTS = {
    "status": "active", "ended_on": None, "end_reason": None, "retained_because": None, "retained_on": None,
    "via_id": None, "card_number": None, "version": 1,
}


def _new_ids(connection: sa.Connection, tables: tuple[sa.Table, ...], count: int) -> list[list[int]]:
    """``count`` new ids for each of ``tables``: from their sequences on PostgreSQL (one query for all; other
    writers take theirs from the same sequences), after the largest on SQLite (one writer at a time: a writer
    that got in between makes this transaction fail, never share an id)."""
    if connection.dialect.name == "postgresql":
        columns = ", ".join(f"nextval(pg_get_serial_sequence(:table_{n}, 'id'))" for n in range(len(tables)))
        rows = connection.execute(sa.text(f"SELECT {columns} FROM generate_series(1, :count)"),
                                  {"count": count, **{f"table_{n}": t.name for n, t in enumerate(tables)}}).all()
        return [list(ids) for ids in zip(*rows)]
    firsts = [connection.execute(sa.select(sa.func.coalesce(sa.func.max(t.c.id), 0))).scalar_one() + 1
              for t in tables]
    return [list(range(first, first + count)) for first in firsts]


def _stored(table: sa.Table) -> sa.Table:
    """``table`` with its encrypted columns as plain text: the rows we write hold the ciphertext already."""
    plain = _STORED.get(table.name)
    if plain is None:
        plain = _STORED[table.name] = sa.Table(table.name, sa.MetaData(), *(
            sa.Column(c.name, sa.Text if isinstance(c.type, crypto.Encrypted) else c.type) for c in table.columns))
    return plain


_STORED: dict[str, sa.Table] = {}


def _write(connection: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert ``rows`` (dicts with the same keys, ids included or left to the table's default) in the
    connection's transaction: by ``COPY`` on PostgreSQL, through psycopg's own connection (SQLAlchemy would
    build, and psycopg split, one huge statement), by executemany elsewhere."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(sa.insert(_stored(table)), rows)
        return
    names = [column.name for column in table.columns if column.name in rows[0]]
    quote = connection.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(name) for name in names)}) FROM STDIN"
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])


def _unit_code(text: str) -> str:
    """A unit's code, checked, whichever of the three it is (told apart by length, as ``units.by_code``)."""
    code = units.normalise_code(text)
    check = {18: units.check_credit_code, 15: units.check_registration_number, 9: units.check_organization_code}
    if len(code) not in check:
        raise InvalidInput("not a code", errors={"unit_code": ["统一社会信用代码（18位）、工商注册号（15位）或组织机构代码（9位）"]})
    return check[len(code)](code, "unit_code")


def _tenant_id() -> int:
    from core.tenancy import require_tenant

    return require_tenant().id


# --- check and apply a file ---------------------------------------------------------------------------------------


def _rows(path: Path, filename: str, kind: str):
    with path.open("rb") as handle:
        yield from spreadsheets.read(handle, filename, columns.SETS[kind], max_bytes=MAX_BYTES)


def _process(session: Session, batch: ImportBatch, data_dir: Path, *, write: bool, actor=None, progress=None
             ) -> Report:
    report = Report(batch.kind)
    scope = Scope.from_json(batch.scope)
    try:
        if batch.kind == "members":
            _members(session, batch, data_dir, scope, report, write=write, actor=actor, progress=progress)
        else:
            kind = _UnitRows if batch.kind == "units" else _OrganizationRows
            kind(session, scope, report, actor).run(_rows(data_dir / batch.stored_path, batch.filename, batch.kind))
    except spreadsheets.SpreadsheetError as error:
        report.file_error(error)
    return report


#: The first line of a spool: what wrote it. A spool written otherwise (an older version) is not read.
SPOOL_HEADER = json.dumps({"spool": "members", "version": 1})


def spool_path(data_dir: Path, batch: ImportBatch) -> Path:
    """Where the check of a members file keeps its checked rows: next to the upload, one JSON line per batch of
    rows, the ID numbers and phones encrypted. Written only when the check finds no error; removed by apply, and
    with the upload by ``expire_files``."""
    return data_dir / f"{batch.stored_path}.checked.jsonl"


def _members(session: Session, batch: ImportBatch, data_dir: Path, scope: Scope, report: Report, *, write: bool,
             actor, progress) -> None:
    """A check reads the file and keeps its checked rows in the spool; an apply reads the spool. An apply that
    finds none (an earlier apply of the batch broke off after removing it) checks the file again first."""
    spool = spool_path(data_dir, batch)
    members = partial(_Members, session, scope, report, actor, note=f"导入 #{batch.id}", progress=progress)
    if not (write and _readable(spool)):
        part = spool.with_name(spool.name + ".part")
        try:
            with part.open("w", encoding="utf-8") as out:
                out.write(SPOOL_HEADER + "\n")
                members(write=False, spool=out).run(_rows(data_dir / batch.stored_path, batch.filename, batch.kind))
            if report.ok:
                part.replace(spool)
        finally:
            part.unlink(missing_ok=True)
        if not (write and report.ok):
            return
        report.rows = report.created = report.updated = report.unchanged = 0
    members(write=True).apply(spool)


def _readable(spool: Path) -> bool:
    try:
        with spool.open(encoding="utf-8") as lines:
            return next(lines, "").strip() == SPOOL_HEADER
    except FileNotFoundError:
        return False


def check(session: Session, batch: ImportBatch, data_dir: Path, *, progress=None) -> Report:
    """Check ``batch``'s file and record the plan on the batch: counts, errors, status ``checked`` or
    ``rejected`` (the file cannot be read). Nothing in the registry changes: what units and organizations would
    do is done in a savepoint that is rolled back."""
    savepoint = session.begin_nested()
    try:
        report = _process(session, batch, data_dir, write=False, progress=progress)
    finally:
        savepoint.rollback()
    _record(batch, report, "checked" if not report.message else "rejected")
    return report


def apply(session: Session, batch: ImportBatch, data_dir: Path, *, actor, progress=None) -> Report:
    """Apply ``batch``'s file in the caller's transaction: every row, or (a row wrong now) nothing, the batch
    ``rejected`` with the errors. Refused unless the batch was checked without errors."""
    require_ready(batch, "checked", "applying")
    savepoint = session.begin_nested()
    try:
        report = _process(session, batch, data_dir, write=True, actor=actor, progress=progress)
        if not report.ok:
            raise Rejected(report)
        if report.created or report.updated:
            audit.record(session, "import.apply", obj=batch, actor=actor, after={
                "kind": batch.kind, "file": batch.filename, "rows": report.rows, "created": report.created,
                "updated": report.updated, "unchanged": report.unchanged})
        savepoint.commit()
    except Rejected as rejected:
        savepoint.rollback()
        _record(batch, rejected.report, "rejected")
        return rejected.report
    except BaseException:
        savepoint.rollback()
        raise
    finally:
        spool_path(data_dir, batch).unlink(missing_ok=True)
    _record(batch, report, "applied")
    batch.applied_by_user_id = getattr(actor, "id", None)
    batch.applied_at = utcnow()
    return report


def require_ready(batch: ImportBatch, *statuses: str) -> None:
    """Refuse to apply a batch that is not checked, or has errors (409 ``import_not_ready``)."""
    if batch.status not in (statuses or ("checked",)) or batch.error_count:
        problem = "has errors: fix the file and upload it again" if batch.error_count else f"is {batch.status}"
        raise Conflict(f"this import {problem}", code="import_not_ready", errors={"status": [batch.status]})


def _record(batch: ImportBatch, report: Report, status: str) -> None:
    batch.status = status
    batch.total_rows = batch.processed_rows = report.rows
    batch.created_count, batch.updated_count, batch.unchanged_count = report.created, report.updated, report.unchanged
    batch.error_rows, batch.error_count, batch.errors = report.error_rows, report.error_count, report.errors
    batch.message = report.message[:500]


# --- batches: upload, jobs ----------------------------------------------------------------------------------------


def store(data_dir: Path, tenant_id: int, filename: str, stream, *, max_bytes: int = MAX_BYTES) -> tuple[str, int]:
    """Keep an uploaded file under ``data_dir/imports/<tenant>/``; returns its path relative to ``data_dir`` and
    its size. A file larger than ``max_bytes`` is refused before all of it is read."""
    relative = Path("imports") / str(tenant_id) / f"{uuid.uuid4().hex}{Path(filename).suffix.lower()[:8]}"
    target = data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with target.open("wb") as out:
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if size > max_bytes:
                out.close()
                target.unlink()
                raise spreadsheets.SpreadsheetError(
                    f"文件超过 {max_bytes // (1024 * 1024)} MB 的上限：请分成几个文件上传")
            out.write(chunk)
    return str(relative), size


def new_batch(session: Session, *, kind: str, filename: str, stored_path: str, size: int, user, scope: Scope
              ) -> ImportBatch:
    if kind not in KINDS:
        raise InvalidInput(f"no import of {kind}", errors={"kind": [f"one of {', '.join(KINDS)}"]})
    batch = ImportBatch(
        kind=kind, filename=filename[:200], stored_path=stored_path, size=size,
        uploaded_by_user_id=getattr(user, "id", None), uploaded_by=getattr(user, "username", str(user or "cli")),
        scope_path=scope.narrowest_common(), scope=scope.as_json(), status="uploaded",
    )
    session.add(batch)
    session.flush()
    return batch


def data_dir() -> Path:
    return Path(current_app.extensions["gonghui"].settings.data_dir)


def _progress_writer(session: Session, batch_id: int):
    """Progress in a transaction of its own, so the API shows it while the job's transaction is open. Only on
    PostgreSQL: SQLite has one writer, and the job's transaction may be it."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    database = current_app.extensions["gonghui"].db
    last = [0]

    def write(rows: int) -> None:
        if rows - last[0] < PROGRESS_EVERY:
            return
        last[0] = rows
        with database.unit_of_work() as side:
            side.execute(sa.update(ImportBatch).where(ImportBatch.id == batch_id).values(processed_rows=rows)
                         .execution_options(synchronize_session=False))

    return write


def _user(session: Session, user_id: int | None):
    from core.models.user import User

    return session.get(User, user_id) if user_id else None


@job_actor("core.check_import", max_retries=0, time_limit_ms=60 * 60 * 1000)
def check_job(session: Session, tenant, batch_id: int) -> None:
    """Check an uploaded file (status ``checking``). Idempotent: a batch in any other status is left alone."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.status != "checking":
        return
    _guarded(session, batch, lambda: check(session, batch, data_dir(), progress=_progress_writer(session, batch.id)))


@job_actor("core.apply_import", max_retries=0, time_limit_ms=60 * 60 * 1000)
def apply_job(session: Session, tenant, batch_id: int) -> None:
    """Apply a checked file (status ``applying``) in this job's one transaction."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.status != "applying":
        return
    _guarded(session, batch, lambda: apply(session, batch, data_dir(), progress=_progress_writer(session, batch.id),
                                            actor=_user(session, batch.applied_by_user_id) or "import"))


#: A batch in one of these is never read again: its files go once it is ``import_files_kept_days`` old.
FINISHED = ("applied", "rejected", "failed")


def remove_files(data_dir: Path, batch: ImportBatch) -> int:
    """Remove ``batch``'s upload and its spool, finished or not (a check that broke off leaves ``.part``);
    how many files there were. The batch stays."""
    spool = spool_path(data_dir, batch)
    removed = 0
    for path in (data_dir / batch.stored_path, spool, spool.with_name(spool.name + ".part")):
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def expire_files(session: Session, data_dir: Path, *, days: int, now: dt.datetime | None = None) -> int:
    """Remove the files of the tenant's batches that finished (``FINISHED``) more than ``days`` ago: the uploads
    hold ID numbers in clear and nothing reads them again. The batches stay, with their counts and errors.
    Returns how many files were removed. Idempotent: a batch whose files are gone costs a failed unlink."""
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    old = sa.select(ImportBatch).where(ImportBatch.status.in_(FINISHED), ImportBatch.updated_at < cutoff)
    return sum(remove_files(data_dir, batch) for batch in session.scalars(old.execution_options(yield_per=500)))


@job_actor("core.expire_import_files", max_retries=0)
def expire_files_job(session: Session, tenant) -> None:
    days = current_app.extensions["gonghui"].settings.import_files_kept_days
    removed = expire_files(session, data_dir(), days=days)
    if removed:
        log.info("import clean-up: %d files of batches finished over %d days ago removed", removed, days)


def _guarded(session: Session, batch: ImportBatch, work) -> None:
    """Run ``work``; if it breaks (not the file's fault), roll back and mark the batch failed."""
    batch_id = batch.id
    try:
        work()
    except Exception:
        log.exception("import %s failed", batch_id)
        session.rollback()
        session.execute(sa.update(ImportBatch).where(ImportBatch.id == batch_id).values(
            status="failed", message="导入出错，未写入任何数据：请联系管理员（日志中有此批次号）")
            .execution_options(synchronize_session=False))


# --- gonghui import / gonghui export ------------------------------------------------------------------------------


@click.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tenant", "slug", required=True, help="the tenant's slug")
@click.option("--apply", "apply_", is_flag=True, help="apply the file when the check finds no error")
@with_appcontext
def import_command(kind, file, slug, apply_):
    """Check FILE (xlsx or csv) as an import of KIND into a tenant, for the whole tenant; --apply writes it."""
    from core import tenancy

    state = current_app.extensions["gonghui"]
    with state.db.unit_of_work() as session:
        with tenancy.platform_scope("cli: find the tenant to import into"):
            tenant = tenancy.tenant_by_slug_any(session, slug)
        with tenancy.tenant_scope(tenant), file.open("rb") as handle:
            try:
                stored, size = store(data_dir(), tenant.id, file.name, handle)
            except InvalidInput as error:
                raise click.ClickException(error.message) from None
            batch = new_batch(session, kind=kind, filename=file.name, stored_path=stored, size=size, user="cli",
                              scope=Scope(("/",)))
            batch.status = "checking"
            report = check(session, batch, data_dir())
            _echo(batch, report)
            if apply_ and report.ok:
                batch.status = "applying"
                report = apply(session, batch, data_dir(), actor="cli")
                _echo(batch, report)
    if not report.ok:
        raise click.ClickException(f"import #{batch.id} {batch.status}: nothing written")


def _echo(batch: ImportBatch, report: Report) -> None:
    click.echo(f"import #{batch.id} {batch.status}: {report.rows} rows, {report.created} created, "
               f"{report.updated} updated, {report.unchanged} unchanged, {report.error_rows} rows with errors")
    if report.message:
        click.echo(report.message)
    for error in report.errors[:20]:
        click.echo(f"  row {error['row']} {error['header'] or error['column']}: {error['message']}")
    if report.error_count > 20:
        click.echo(f"  ... {report.error_count - 20} more")
