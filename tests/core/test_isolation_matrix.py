"""The isolation matrix: no endpoint lets a user of another tenant or of a sibling subtree near an object.

Generated from the OpenAPI document, so a new endpoint cannot escape it: every path parameter must have a
factory below (an object of that kind, made inside 夷陵区's subtree of tenant 宜昌) or be declared not to name an
object. For every endpoint with an object id, each outsider gets the same answer for that object as for an id
that does not exist (404, or 403 before any lookup when they lack the permission everywhere), no list they read
contains it, and no write they attempt changes anything (no audit record, no new version).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from core import tenancy
from core.models.audit import AuditRecord
from core.models.user import RoleGrant
from core.models.region import Region
from core.registry import organizations, regions, units

#: Path parameters that do not name a tenant's object: a plugin's name is the same in every tenant; an import or
#: export kind (units, organizations, members) too, and a data-quality check's name.
NOT_OBJECTS = {"name", "kind", "check"}
#: Platform endpoints: tenant users reach them only on a platform host, where their tokens are unknown.
PLATFORM_PREFIXES = ("/api/v1/tenants",)
NONEXISTENT = 987654321
WRITES = ("post", "put", "patch", "delete")


@dataclass
class World:
    yichang: object
    changzhou: object
    yiling: object  # 夷陵区总工会: the owner subtree
    xiling: object  # 西陵区总工会: the sibling subtree
    owner_token: str
    sibling_token: str
    foreign_token: str


def _division(session, code):
    return session.scalars(sa.select(Region).where(Region.code == code)).one()


def _org(session, **fields):
    return organizations.create(session, **fields)


@pytest.fixture
def world(make_tenant, make_user, db):
    # Both cities enable the city plugin: a plugin endpoint must then refuse the outsider by tenancy and scope,
    # not merely answer 404 because the plugin is off.
    yichang = make_tenant("yichang", name="宜昌市总工会", plugins=["sms_console", "yichang"])
    changzhou = make_tenant("changzhou", name="常州市总工会", plugins=["sms_console", "yichang"])
    with db() as session, tenancy.tenant_scope(yichang):
        regions.load_city(session, "420500")
        city = _org(session, name="宜昌市总工会", kind="city_federation", region=_division(session, "420500"))
        yiling = _org(session, name="夷陵区总工会", kind="county_federation", parent=city,
                      region=_division(session, "420506"))
        xiling = _org(session, name="西陵区总工会", kind="county_federation", parent=city,
                      region=_division(session, "420502"))
    owner, owner_token = make_user(yichang)
    sibling, sibling_token = make_user(yichang)
    _foreign, foreign_token = make_user(changzhou, roles=["tenant_admin"])
    with db() as session, tenancy.tenant_scope(yichang):
        for user, org in ((owner, yiling), (sibling, xiling)):
            for role in ("federation_admin",):
                session.add(RoleGrant(user_id=user.id, role=role, organization_id=org.id))
    return World(yichang, changzhou, yiling, xiling, owner_token, sibling_token, foreign_token)


# --- one factory per path parameter: make an object inside 夷陵区's subtree, return its id -----------------------


def _union(world, session):
    return _org(session, name="宜昌某某物流有限公司工会委员会", kind="grassroots_union", parent=world.yiling)


def _organization(world, session, made):
    return _union(world, session).id


def _audit_record(world, session, made):
    from core import audit

    touched = audit.record(session, "test.touch", obj=("organization", world.yiling.id), actor="test")
    audit.link(session)
    return touched.id


_serial = iter(range(100, 999))


def _region(world, session, made):
    return regions.add(session, parent=_division(session, "420506001"), name=f"测试网格{next(_serial)}", level="grid").id


def _user(world, session, made):
    from core.models.user import User

    user = User(username=f"chair{next(_serial)}", display_name="某主席")
    session.add(user)
    session.flush()
    grant = RoleGrant(user_id=user.id, role="chairman", organization_id=_union(world, session).id)
    session.add(grant)
    session.flush()
    made["grant_id"] = grant.id
    return user.id


def _grant(world, session, made):
    return made["grant_id"]


def _token(world, session, made):
    from core.auth import create_token
    from core.models.user import User

    user = session.get(User, _user(world, session, made))
    token, _clear = create_token(session, user, name="matrix")
    session.flush()
    return token.id


def _unit(world, session, made):
    return units.create(session, name="宜昌某某物流有限公司", organization=_union(world, session)).id


def _person(world, session, made):
    from core.registry import memberships, people

    from core.id_numbers import check_character

    body = f"42050619900101{next(_serial)}"
    person = people.create(session, id_number=body + check_character(body), name="张三")
    memberships.join(session, person=person, organization=_union(world, session))
    return person.id


def _import_batch(world, session, made):
    from core.registry import imports

    scope = imports.Scope((world.yiling.path,))
    return imports.new_batch(session, kind="organizations", filename="名单.xlsx", stored_path="imports/none.xlsx",
                             size=0, user=None, scope=scope).id


def _application(world, session, made):
    from cities.yichang.models import Application
    from core.id_numbers import today

    day = today()
    application = Application(kind="join", status="submitted", person_id=_person(world, session, made),
                              handler_id=world.yiling.id, handler_path=world.yiling.path, submitted_on=day,
                              accept_due_on=day, due_on=day)
    session.add(application)
    session.flush()
    return application.id


def _drive(world, session, made):
    import datetime as dt

    from cities.yichang.models import FormationDrive

    unit = units.create(session, name=f"宜昌某某电子有限公司{next(_serial)}")
    drive = FormationDrive(unit_id=unit.id, status="dispatched", handler_id=world.yiling.id,
                           handler_path=world.yiling.path, opened_on=dt.date(2026, 3, 2),
                           notice_due_on=dt.date(2026, 4, 14))
    session.add(drive)
    session.flush()
    return drive.id


@dataclass(frozen=True)
class Kind:
    make: object
    #: The list endpoint that would show such an object, if any.
    listed_at: str | None = None


FACTORIES = {
    "organization_id": Kind(_organization, "/api/v1/organizations"),
    "record_id": Kind(_audit_record, "/api/v1/audit"),
    "region_id": Kind(_region, "/api/v1/regions"),
    "user_id": Kind(_user, "/api/v1/users"),
    "grant_id": Kind(_grant),
    "token_id": Kind(_token),
    "unit_id": Kind(_unit, "/api/v1/units"),
    "person_id": Kind(_person, "/api/v1/people"),
    "batch_id": Kind(_import_batch, "/api/v1/imports"),
    "application_id": Kind(_application, "/api/v1/yichang/applications"),
    "drive_id": Kind(_drive, "/api/v1/yichang/drives"),
}


def _endpoints(app):
    with app.test_request_context():
        spec = app.extensions["gonghui_api"].spec.to_dict()
    for path, operations in spec["paths"].items():
        if path.startswith(PLATFORM_PREFIXES):
            continue
        for method in operations:
            if method in ("get", *WRITES):
                yield path, method


def _params(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)


def test_every_path_parameter_has_a_factory_or_is_declared_not_an_object(app):
    missing = sorted(
        {f"{p} (in {path})" for path, _ in _endpoints(app) for p in _params(path) if p not in FACTORIES | {n: 0 for n in NOT_OBJECTS}}
    )
    assert not missing, "add a factory to tests/core/test_isolation_matrix.py for: " + ", ".join(missing)


def _state(db, tenant) -> tuple[int, int]:
    with db() as session, tenancy.tenant_scope(tenant):
        audit_count = session.scalar(sa.select(sa.func.count(AuditRecord.id)))
        versions = sum(
            session.scalar(sa.select(sa.func.coalesce(sa.func.sum(table.c.version), 0))) or 0
            for table in _versioned_tables()
        )
    return audit_count, versions


def _versioned_tables():
    from core.db import Base

    return [t for t in Base.metadata.sorted_tables if "version" in t.c and "tenant_id" in t.c]


def _call(client, method, url):
    kwargs = {"headers": {"If-Match": "*"}}
    if method in ("post", "put", "patch"):
        kwargs["json"] = {}
    return getattr(client, method)(url, **kwargs)


def test_outsiders_get_for_a_foreign_object_what_they_get_for_a_missing_one_and_change_nothing(app, world, api, db):
    endpoints = [(p, m) for p, m in _endpoints(app) if _params(p) and set(_params(p)) <= set(FACTORIES)]
    assert endpoints, "the matrix found no endpoint with an object id"
    outsiders = {
        "another tenant's admin": api(world.changzhou, world.foreign_token),
        "a sibling subtree's admin": api(world.yichang, world.sibling_token),
    }
    failures = []
    for path, method in endpoints:
        made: dict = {}
        with db() as session, tenancy.tenant_scope(world.yichang):
            ids = {p: FACTORIES[p].make(world, session, made) for p in _params(path)}
        real = path.format(**ids)
        missing = path.format(**{p: NONEXISTENT for p in ids})
        before = _state(db, world.yichang)
        for who, client in outsiders.items():
            got, baseline = _call(client, method, real), _call(client, method, missing)
            if got.status_code not in (403, 404) or got.status_code != baseline.status_code:
                failures.append(f"{method.upper()} {path}: {who} got {got.status_code}, a missing id {baseline.status_code}")
        if _state(db, world.yichang) != before:
            failures.append(f"{method.upper()} {path}: an outsider's request changed tenant 宜昌's data")
    assert not failures, "\n".join(failures)


def test_no_list_an_outsider_reads_contains_a_foreign_object(world, api, db):
    leaks = []
    for param, kind in FACTORIES.items():
        if kind.listed_at is None:
            continue
        with db() as session, tenancy.tenant_scope(world.yichang):
            object_id = kind.make(world, session, {})
        for who, client in (
            ("another tenant's admin", api(world.changzhou, world.foreign_token)),
            ("a sibling subtree's admin", api(world.yichang, world.sibling_token)),
        ):
            response = client.get(f"{kind.listed_at}?page_size=200")
            if response.status_code == 200 and any(item.get("id") == object_id for item in response.json):
                leaks.append(f"{kind.listed_at} shows {who} the {param} {object_id}")
    assert not leaks, "\n".join(leaks)


def test_the_owner_subtree_does_reach_the_object(world, api, db):
    """The matrix would pass vacuously if nobody could read anything."""
    with db() as session, tenancy.tenant_scope(world.yichang):
        organization_id = _organization(world, session, {})

    assert api(world.yichang, world.owner_token).get(f"/api/v1/organizations/{organization_id}").status_code == 200
