"""A Yichang tenant with its real divisions and the demo union tree, and builders for the registry rows the
tests need: units with or without a union, workers of a given age, staff holding a role at a union."""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from core import id_numbers, tenancy
from core.auth import accounts
from core.models.organization import Organization
from core.models.person import Person
from core.models.region import Region
from core.models.unit import Unit
from core.registry import organizations, people, units
from plugins.sms_console.models import ConsoleMessage


CONTACT = {"contact_name": "李明", "contact_phone": "0717-6222000"}
_serial = itertools.count(1)


class _Setup:
    id = None
    username = "test-setup"
    is_platform_admin = True


def new_id_number(*, age: int = 30, sex: str = "F", county: str = "420506", on: dt.date | None = None) -> str:
    """A valid ID number of someone ``age`` years old today, born in ``county``."""
    on = on or id_numbers.today()
    n = next(_serial)
    birth = dt.date(on.year - age, 1 + n % 12, 1 + n % 28)
    if birth > on.replace(year=on.year - age):
        birth = birth.replace(year=birth.year - 1)
    sequence = (100 + 2 * (n % 400)) + (1 if sex == "M" else 0)
    first17 = f"{county}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_numbers.check_character(first17)


def new_phone() -> str:
    return f"139{next(_serial):08d}"


def credit_code(county: str = "420506") -> str:
    from core.demo_data import credit_code_for

    return credit_code_for(county, 5000 + next(_serial))


@dataclass
class Yichang:
    tenant: object
    db: object
    jobs: object

    def run(self, function, *args, **kwargs):
        """Call ``function(session, ...)`` in one transaction of the tenant, as a request would."""
        with self.db() as session, tenancy.tenant_scope(self.tenant):
            return function(session, *args, **kwargs)

    def get(self, model, **where):
        def find(session):
            found = session.scalars(sa.select(model).filter_by(**where)).one()
            session.expunge(found)
            return found
        return self.run(find)

    def org(self, name: str) -> Organization:
        return self.get(Organization, name=name)

    def region(self, name: str) -> Region:
        return self.get(Region, name=name)

    def unit(self, name: str, *, region: str = "夷陵区", union: str | None = None, industry: str | None = None,
             legal_representative: str = "") -> Unit:
        def make(session):
            place = session.scalars(sa.select(Region).where(Region.name == region)).first()
            county = place.code[:6]
            unit = units.create(session, name=name, credit_code=credit_code(county), region=place,
                                industry=industry, legal_representative=legal_representative, actor=_Setup())
            if union is not None:
                covering = session.scalars(sa.select(Organization).where(Organization.name == union)).one()
                units.set_covering_union(session, unit, covering, actor=_Setup())
            session.flush()
            session.expunge(unit)
            return unit
        return self.run(make)

    def union(self, name: str, *, parent: str = "夷陵区总工会", region: str = "夷陵区") -> Organization:
        def make(session):
            above = session.scalars(sa.select(Organization).where(Organization.name == parent)).one()
            place = session.scalars(sa.select(Region).where(Region.name == region)).first()
            made = organizations.create(session, name=name, kind="grassroots_union", parent=above, region=place,
                                        actor=_Setup())
            session.flush()
            session.expunge(made)
            return made
        return self.run(make)

    def person(self, name: str = "张小红", *, age: int = 30, sex: str = "F", phone: str | None = None,
               employment_form: str = "") -> Person:
        def make(session):
            made = people.create(session, id_number=new_id_number(age=age, sex=sex), name=name,
                                 phone=phone or new_phone(), actor=_Setup(),
                                 **({"employment_form": employment_form} if employment_form else {}))
            session.flush()
            session.expunge(made)
            return made
        return self.run(make)

    def staff(self, username: str, role: str, organization: str | None, *, phone: str | None = None):
        def make(session):
            org = (session.scalars(sa.select(Organization).where(Organization.name == organization)).one()
                   if organization else None)
            user = accounts.create_user(session, actor=_Setup(), username=username, display_name=username,
                                        phone=phone, password="correct horse battery staple",
                                        grants=[{"role": role, "organization_id": org.id if org else None}])
            session.flush()
            session.expunge(user)
            return user
        return self.run(make)

    def sms_to(self, phone: str) -> list[str]:
        """The texts the tenant's SMS gateway received for ``phone``, in the order they were queued (the worker
        delivers them in parallel; the client reference is the outbox id)."""
        self.jobs.drain()
        return self.run(lambda session: list(session.scalars(
            sa.select(ConsoleMessage.text).where(ConsoleMessage.phone == phone)
            .order_by(sa.cast(ConsoleMessage.client_ref, sa.Integer)))))


@pytest.fixture
def yichang(make_tenant, db, jobs) -> Yichang:
    tenant = make_tenant("yichang", name="宜昌市总工会", plugins=["sms_console", "yichang"],
                         settings={"yichang": CONTACT})
    city = Yichang(tenant, db, jobs)
    city.run(organizations.load_demo, "yichang", actor=_Setup())
    return city


def worker_account(yichang: Yichang, person: Person, username: str,
                   password: str = "correct horse battery staple"):
    """An account of ``person``'s own, linked to their registry record, as signing up makes one (no role)."""
    def make(session):
        user = accounts.create_user(session, actor=_Setup(), username=username, display_name=person.name,
                                    password=password)
        accounts.link_person(session, user, session.get(Person, person.id), actor=_Setup())
        session.flush()
        session.expunge(user)
        return user
    return yichang.run(make)
