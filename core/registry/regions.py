"""Regions (区域): the administrative areas of a tenant's city, from the city down to its grids.

Cities, counties and streets/towns come from the national division codes shipped in ``core/data/regions``
(``gonghui regions load <tenant> <city-code>``); a tenant adds its communities/villages and grids itself. Each
region carries the materialised path of ids of its ancestors and itself (``/1/7/42/``), so an area's subtree is
one range scan (``core.auth.subtree_bounds``).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

import core
from core import audit
from core.auth import subtree_bounds
from core.errors import Conflict, InvalidInput, NotFound
from core.models.region import LEVELS, Region

#: Where the shipped divisions live: one ``<city code>.csv`` each, see its README. ``__path__``, not
#: ``importlib.resources``: ``core`` is a namespace package, which an editable install may split.
DATA = Path(list(core.__path__)[0]) / "data" / "regions"
#: A community's or village's national code: its street's 9 digits and 3 more.
COMMUNITY_CODE = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class Division:
    """One row of a shipped division file."""

    code: str
    name: str
    parent_code: str
    level: str


@dataclass(frozen=True)
class Loaded:
    city_code: str
    city_name: str
    added: int
    present: int


def shipped_cities() -> list[str]:
    """The city codes Gonghui ships divisions for."""
    return sorted(path.stem for path in DATA.glob("*.csv"))


def divisions(city_code: str) -> list[Division]:
    """The shipped divisions of ``city_code``, parents before children."""
    source = DATA / f"{city_code}.csv"
    if not re.fullmatch(r"\d{6}", city_code) or not source.is_file():
        raise InvalidInput(
            f"no divisions shipped for city {city_code!r}",
            errors={"city_code": [f"one of {', '.join(shipped_cities())}"]},
        )
    with source.open(encoding="utf-8", newline="") as text:
        return [Division(**row) for row in csv.DictReader(text)]


def child_path(parent: Region | None, region_id: int) -> str:
    return f"{parent.path if parent is not None else '/'}{region_id}/"


def load_city(session: Session, city_code: str, *, actor=None) -> Loaded:
    """Load the shipped divisions of ``city_code`` into the tenant in scope, down to streets and towns.

    Idempotent: a division the tenant already has (same code) is kept as it is, renames included. Audited once,
    with the counts, when it added anything.
    """
    rows = divisions(city_code)
    by_code = {r.code: r for r in session.scalars(sa.select(Region).where(Region.code.in_([d.code for d in rows])))}
    present = len(by_code)
    for level in LEVELS:  # a level at a time: the parents have their ids and paths before their children come
        new = []
        for division in (d for d in rows if d.level == level and d.code not in by_code):
            parent = by_code.get(division.parent_code)
            parent_id = parent.id if parent is not None else None
            region = Region(code=division.code, name=division.name, level=level, parent_id=parent_id)
            session.add(region)
            by_code[division.code] = region
            new.append((region, parent))
        session.flush()
        _fill_paths(session, level, new)
    city = by_code[rows[0].code]
    loaded = Loaded(city_code, city.name, len(rows) - present, present)
    if loaded.added:  # a load that finds everything in place changes nothing: nothing to audit
        audit.record(
            session, "region.load", obj=city, actor=actor,
            after={"city_code": city_code, "name": city.name, "added": loaded.added, "present": loaded.present},
        )
    return loaded


def _fill_paths(session: Session, level: str, new: list[tuple[Region, Region | None]]) -> None:
    """The paths of a level's new regions (still ``""``) in one UPDATE: the parent's path and the region's id. A
    path is not a change of the region, so its version stays 1."""
    parent = aliased(Region)
    above = sa.func.coalesce(sa.select(parent.path).where(parent.id == Region.parent_id).scalar_subquery(), "/")
    session.execute(
        sa.update(Region)
        .where(Region.level == level, Region.path == "")
        .values(path=above + sa.cast(Region.id, sa.String) + "/")
        .execution_options(synchronize_session=False)
    )
    for region, parent_region in new:
        set_committed_value(region, "path", child_path(parent_region, region.id))


def set_path(session: Session, obj, path: str) -> None:
    """Give a row that was just inserted (and so has its id) its path, without counting it as a new version."""
    model = type(obj)
    session.execute(
        sa.update(model).where(model.id == obj.id).values(path=path).execution_options(synchronize_session=False)
    )
    set_committed_value(obj, "path", path)


def place_name(street: Region, county: Region) -> str:
    """The short name people put in front of a unit's name for a street or town: 夷陵区小溪塔街道 -> 小溪塔."""
    town = street.name.removeprefix(county.name)
    for ending in ("街道办事处", "街道", "镇", "乡"):
        if town.endswith(ending) and len(town) > len(ending) + 1:
            return town[: -len(ending)]
    return town


def region_by_id(session: Session, region_id: int, *, field: str | None = None) -> Region:
    """The tenant's region ``region_id``; NotFound, or a field error on ``field`` when a body named it."""
    region = session.scalar(sa.select(Region).where(Region.id == region_id))
    if region is None:
        if field:
            raise InvalidInput(f"no region {region_id}", errors={field: ["no such region"]})
        raise NotFound(f"no region {region_id}")
    return region


def subtree(region: Region) -> sa.Select:
    """The regions in ``region``'s subtree, itself first: one range scan on ``(tenant_id, path)``."""
    low, high = subtree_bounds(region.path)
    return sa.select(Region).where(Region.path >= low, Region.path < high).order_by(Region.path)


def snapshot(region: Region) -> dict:
    return {"code": region.code, "name": region.name, "level": region.level, "parent_id": region.parent_id}


def add(session: Session, *, parent: Region, name: str, level: str, code: str | None = None, actor=None) -> Region:
    """Add a community/village (社区、村, with its national code) under a street, or a grid (网格) under a street
    or a community. A grid gets the tenant's own code: its parent's code, ``G`` and a number (``420506001G001``)."""
    if level == "community":
        if parent.level != "street":
            raise InvalidInput("a community or village sits under a street or town", errors={"parent_id": [
                f"{parent.name} is a {parent.level}, not a street or town"]})
        if not code or not COMMUNITY_CODE.match(code) or not code.startswith(parent.code):
            raise InvalidInput("a community needs its 12-digit national code", errors={"code": [
                f"12 digits starting with {parent.name}'s code {parent.code}"]})
    elif level == "grid":
        if parent.level not in ("street", "community"):
            raise InvalidInput("a grid sits under a street or a community", errors={"parent_id": [
                f"{parent.name} is a {parent.level}, not a street or community"]})
        code = _next_grid_code(session, parent)
    else:
        raise InvalidInput("only communities and grids are added by hand", errors={"level": [
            "community or grid: cities, counties and streets come from the national divisions"]})
    if session.scalar(sa.select(Region.id).where(Region.code == code)) is not None:
        raise Conflict(f"the code {code} is taken", errors={"code": ["taken"]})
    region = Region(code=code, name=name.strip(), level=level, parent_id=parent.id)
    session.add(region)
    session.flush()
    set_path(session, region, child_path(parent, region.id))
    audit.record(session, "region.create", obj=region, after=snapshot(region), actor=actor)
    return region


def _next_grid_code(session: Session, parent: Region) -> str:
    prefix = f"{parent.code}G"
    codes = session.scalars(sa.select(Region.code).where(Region.parent_id == parent.id, Region.code.startswith(prefix)))
    numbers = [int(c[len(prefix):]) for c in codes if c[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


def rename(session: Session, region: Region, name: str, *, actor=None) -> Region:
    before = snapshot(region)
    region.name = name.strip()
    session.flush()
    audit.record(session, "region.rename", obj=region, before=before, after=snapshot(region), actor=actor)
    return region


# --- gonghui regions ... ------------------------------------------------------------------------------------------


@click.group("regions")
def cli():
    """Administrative divisions (区域) of a tenant's city."""


@cli.command("load")
@click.argument("slug")
@click.argument("city_code")
@with_appcontext
def load_command(slug, city_code):
    """Load the national divisions of CITY_CODE (e.g. 420500) into tenant SLUG, down to streets and towns.

    Running it again adds only what is missing.
    """
    from core import tenancy
    from core.errors import DomainError

    try:
        with current_app.extensions["gonghui"].db.unit_of_work() as session:
            with tenancy.platform_scope("cli: find the tenant to load regions into"):
                tenant = tenancy.tenant_by_slug_any(session, slug)
            with tenancy.tenant_scope(tenant):
                loaded = load_city(session, city_code, actor="cli")
    except DomainError as exc:
        raise click.ClickException(f"{exc.message} {exc.errors or ''}".strip()) from None
    click.echo(f"{loaded.city_name} ({city_code}) in {slug}: {loaded.added} added, {loaded.present} already there")
