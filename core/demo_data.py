"""Realistic demo data for one tenant: units, the rest of its union tree, people and their memberships.

What ``gonghui demo`` loads into 宜昌 and 常州 after their divisions and the small union tree of
``core/data/regions/demo_unions.json`` (``organizations.load_demo``):

- street federations (街道/乡镇总工会) in the counties' real streets and towns, and grassroots unions below them
  until the tree has ``ORGANIZATIONS`` nodes: most independent (one unit each), one in six a joint union (联合工会)
  covering a few small units of its street;
- ``UNITS`` units in the real streets, named as a business register names them (宜昌鑫达物流有限公司), each with a
  valid unified social credit code (GB 32100: the county's division code, an organisation code with its check
  character, the final check character; python-stdnum computes it);
- ``PEOPLE`` people with valid ID numbers of the city's counties (GB 11643, check character included), Chinese
  names and mobile numbers; ``MEMBER_SHARE`` of them members: in the union of their unit, or, when the unit has
  none, waiting in their county's service-centre reservoir (蓄水池), each with the ledger entries a join writes.

Deterministic: one ``random.Random`` seeded with the tenant's slug, so every run and every machine gets the same
names and numbers. Quick: units, people, memberships and ledger entries go in as bulk inserts (a few seconds on
SQLite); the organizations are created one by one through ``core.registry.organizations`` (their paths need
their ids), audited like any other. One audit record (``demo.load``) says what the bulk part added.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session
from stdnum.cn import uscc

from core import audit, id_numbers
from core.db import utcnow
from core.models.membership import Membership, MembershipEntry
from core.models.organization import Organization
from core.models.person import ETHNICITIES, Person
from core.models.region import Region
from core.models.unit import Unit
from core.registry import organizations, people, unit_search, units
from core.registry.regions import place_name

UNITS = 2_000
ORGANIZATIONS = 200
PEOPLE = 5_000
MEMBER_SHARE = 0.85
#: Grassroots unions get a street federation in at most this many streets of each county.
STREETS_PER_COUNTY = 3
TODAY = dt.date(2026, 11, 1)  # a fixed "today": the same data whenever it is loaded

BRAND = "华兴鑫盛达源恒泰宏丰瑞祥金通联博新合安康明佳嘉信德正天海龙东江峡楚远福万众友利顺发隆永长广平和美乐锦宇航星辰光辉晨阳润泽清山川林森汇鼎诚峰凯腾飞翔宝昊晟铭睿鸿骏卓越亿"
#: Trades (行业词) with their GB/T 4754 section.
TRADES = (
    ("商贸", "F"), ("物流", "G"), ("建筑工程", "E"), ("科技", "M"), ("建材", "F"), ("劳务", "L"), ("餐饮", "H"),
    ("房地产开发", "K"), ("物业管理", "K"), ("电子商务", "F"), ("装饰工程", "E"), ("汽车销售", "F"), ("农业开发", "A"),
    ("运输", "G"), ("化工", "C"), ("机械", "C"), ("食品", "C"), ("酒店管理", "H"), ("医药", "F"), ("信息技术", "I"),
    ("文化传媒", "R"), ("网络科技", "I"), ("新材料", "C"), ("电力工程", "E"), ("人力资源服务", "L"), ("保安服务", "L"),
    ("家政服务", "O"), ("汽车修理", "O"), ("冷链物流", "G"), ("园林绿化", "N"), ("纺织", "C"), ("精密机械", "C"),
)
#: Legal forms (组织形式), the unit category code each usually carries, and how common it is.
FORMS = (("有限公司", "173", 60), ("有限责任公司", "173", 12), ("股份有限公司", "174", 5), ("经营部", "400", 8),
         ("加工厂", "171", 5), ("专业合作社", "190", 3))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红玲芬燕彩春菊凤洁梅琳云莲雪荣爱俊峰浩宇欣怡子涵"
POSITIONS = ("操作工", "技术员", "驾驶员", "营业员", "会计", "出纳", "工程师", "班组长", "仓管员", "客服专员", "厨师", "保安员")
EDUCATION = ("junior_high", "high_school", "secondary_vocational", "college", "bachelor", "bachelor", "masters")
EMPLOYMENT = ("employee",) * 12 + ("migrant", "migrant", "dispatched", "flexible", "courier", "delivery_rider")


@dataclass
class Street:
    region: Region
    county: Region
    town: str  # the street's own name, without the county (茶山)


@dataclass
class Plan:
    """What one tenant's demo holds, as rows to insert."""

    units: list[dict] = field(default_factory=list)
    unions: list[tuple[Organization, list[int]]] = field(default_factory=list)  # a union and its units (indexes)


def load(session: Session, tenant, *, actor=None) -> dict[str, int]:
    """Fill ``tenant`` (in scope, its demo tree planted) with the demo data; nothing when it has units already."""
    if session.scalar(sa.select(sa.func.count()).select_from(Unit)):
        return {}
    rng = random.Random(f"gonghui-demo-{tenant.slug}")
    streets, city = _streets(session)
    unit_rows = [_unit(rng, city, rng.choice(streets), serial) for serial in range(UNITS)]
    covered = _grow_tree(session, rng, streets, unit_rows, actor)
    unit_ids = _insert(session, Unit, [dict(row, tenant_id=tenant.id) for row in unit_rows])
    person_ids = _people(session, rng, tenant, streets)
    members = _memberships(session, rng, tenant, person_ids, unit_rows, unit_ids, covered, actor)
    counts = {"units": len(unit_ids), "people": len(person_ids), "members": members,
              "organizations": session.scalar(sa.select(sa.func.count()).select_from(Organization))}
    audit.record(session, "demo.load", after=counts, actor=actor)
    return counts


def _streets(session: Session) -> tuple[list[Street], Region]:
    regions = session.scalars(sa.select(Region).order_by(Region.code)).all()
    by_id = {region.id: region for region in regions}
    city = next(r for r in regions if r.level == "city")
    streets = []
    for region in regions:
        if region.level != "street":
            continue
        county = by_id[region.parent_id]
        streets.append(Street(region, county, place_name(region, county)))
    return streets, city


def _unit(rng: random.Random, city: Region, street: Street, serial: int) -> dict:
    trade, industry = rng.choice(TRADES)
    form, category, _ = rng.choices(FORMS, [f[2] for f in FORMS])[0]
    place = rng.choice((city.name.removesuffix("市"), city.name, street.county.name, street.town))
    name = f"{place}{''.join(rng.choice(BRAND) for _ in range(rng.choice((2, 2, 3))))}{trade}{form}"
    employees = min(int(rng.paretovariate(1.3) * 8), 5000)
    credit_code = credit_code_for(street.county.code, serial)
    return {
        "name": name,
        "name_bigrams": unit_search.name_bigrams(name),
        "credit_code": credit_code,
        "organization_code": credit_code[8:17],
        "region_id": street.region.id,
        "region_path": street.region.path,
        "industry": industry,
        "economic_type": category,
        "address": f"{city.name}{street.county.name}{street.region.name}{rng.randint(1, 299)}号",
        "legal_representative": _name(rng),
        "employees": employees,
        "women": rng.randint(0, employees),
        "migrant_workers": 0,
        "dispatched": 0,
        "has_union": False,
        "organization_id": None,
    }


def credit_code_for(county_code: str, serial: int) -> str:
    """A valid unified social credit code of an enterprise (91) registered in ``county_code``: the organisation
    code's body is the serial, so codes never repeat within a tenant."""
    body = f"{35_000_000 + serial:08d}"
    head = "91" + county_code[:6] + body + units.organization_code_check_character(body)
    return head + uscc.calc_check_digit(head)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


# --- the tree -----------------------------------------------------------------------------------------------------


def _grow_tree(session: Session, rng: random.Random, streets: list[Street], unit_rows: list[dict], actor) -> dict:
    """Street federations and grassroots unions until the tree has ``ORGANIZATIONS`` nodes; each union covers
    units of its street. Returns ``{unit index: union}``."""
    federations = {o.region_id: o for o in session.scalars(
        sa.select(Organization).where(Organization.kind.in_(("county_federation", "street_federation"))))}
    by_street: dict[int, list[int]] = {}
    for index, row in enumerate(unit_rows):
        by_street.setdefault(row["region_id"], []).append(index)
    parents = []
    for county_id in sorted({s.county.id for s in streets}):
        county_federation = federations.get(county_id)
        if county_federation is None:
            continue
        mine = [s for s in streets if s.county.id == county_id and by_street.get(s.region.id)]
        for street in sorted(mine, key=lambda s: -len(by_street[s.region.id]))[:STREETS_PER_COUNTY]:
            parent = federations.get(street.region.id) or organizations.create(
                session, name=f"{street.region.name}总工会", kind="street_federation", parent=county_federation,
                region=street.region, actor=actor)
            parents.append((parent, street))
    covered: dict[int, Organization] = {}
    joints: dict[int, int] = {}
    total = session.scalar(sa.select(sa.func.count()).select_from(Organization))
    turn = 0
    while total < ORGANIZATIONS and parents:
        parent, street = parents[turn % len(parents)]
        turn += 1
        free = [i for i in by_street[street.region.id] if i not in covered]
        if not free:
            parents.remove((parent, street))
            continue
        joint = len(free) >= 4 and rng.random() < 1 / 6
        chosen = free[: rng.randint(3, min(6, len(free)))] if joint else free[:1]
        if joint:
            joints[street.region.id] = joints.get(street.region.id, 0) + 1
            name = f"{street.region.name}第{'一二三四五六七八九十'[(joints[street.region.id] - 1) % 10]}联合工会委员会"
        else:
            name = f"{unit_rows[chosen[0]]['name']}工会委员会"
        union = organizations.create(
            session, name=name, kind="grassroots_union", parent=parent,
            region=street.region, joint=joint, chairman_name=_name(rng), contact_name=_name(rng), actor=actor)
        for index in chosen:
            covered[index] = union
            unit_rows[index].update(has_union=True, organization_id=union.id)
        total += 1
    return covered


# --- people and memberships ---------------------------------------------------------------------------------------


def _people(session: Session, rng: random.Random, tenant, streets: list[Street]) -> list[int]:
    counties = sorted({s.county.code for s in streets if id_numbers.known_region(s.county.code)})
    numbers: set[str] = set()
    phones: set[str] = set()
    rows = []
    first, last = dt.date(1966, 1, 1), dt.date(2006, 12, 31)
    while len(rows) < PEOPLE:
        born = first + dt.timedelta(days=rng.randrange((last - first).days + 1))
        first17 = f"{rng.choice(counties)}{born:%Y%m%d}{rng.randrange(1000):03d}"
        number = first17 + id_numbers.check_character(first17)
        phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        if number in numbers or phone in phones:
            continue
        numbers.add(number)
        phones.add(phone)
        rows.append({
            "tenant_id": tenant.id, "id_number": number, "id_number_index": people.id_number_index(number),
            "name": _name(rng), "sex": "M" if int(number[16]) % 2 else "F", "birth_date": born,
            "phone": phone, "phone_index": people.phone_index(phone),
            "ethnicity": ETHNICITIES[0] if rng.random() < 0.93 else rng.choice(("土家族", "回族", "苗族", "满族")),
            "education": rng.choice(EDUCATION), "political_status": rng.choice(("群众", "群众", "群众", "中共党员", "共青团员")),
            "household_type": rng.choice(("urban", "urban", "rural")), "employment_form": rng.choice(EMPLOYMENT),
            "position": rng.choice(POSITIONS),
        })
    return _insert(session, Person, rows)


def _memberships(session: Session, rng: random.Random, tenant, person_ids: list[int], unit_rows: list[dict],
                 unit_ids: list[int], covered: dict, actor) -> int:
    reservoirs = {o.region_id: o for o in session.scalars(
        sa.select(Organization).where(Organization.kind == "service_centre_committee"))}
    fallback = session.scalar(sa.select(Organization).where(Organization.kind == "city_enterprise_committee"))
    county_of = {s.id: s.parent_id for s in session.scalars(sa.select(Region).where(Region.level == "street"))}
    covered_units = sorted(covered)
    rows = []
    for person_id in person_ids:
        if rng.random() >= MEMBER_SHARE:
            continue
        if rng.random() < 0.75:
            index = rng.choice(covered_units)
            organization, parked = covered[index], False
        else:
            index = rng.randrange(len(unit_rows))
            if index in covered:
                organization, parked = covered[index], False
            else:
                organization = reservoirs.get(county_of.get(unit_rows[index]["region_id"])) or fallback
                parked = True
        started = dt.date(2008, 1, 1) + dt.timedelta(days=rng.randrange((TODAY - dt.date(2008, 1, 1)).days))
        rows.append({"tenant_id": tenant.id, "person_id": person_id, "organization_id": organization.id,
                     "unit_id": unit_ids[index], "status": "active", "parked": parked, "started_on": started})
    membership_ids = _insert(session, Membership, rows)
    actor_id, label = getattr(actor, "id", None), getattr(actor, "username", "demo")
    entries = []
    for membership_id, row in zip(membership_ids, rows):
        steps = ("joined", "parked") if row["parked"] else ("joined",)
        entries += [{"tenant_id": tenant.id, "person_id": row["person_id"], "membership_id": membership_id, "step": step,
                     "on": row["started_on"], "organization_id": row["organization_id"], "actor_id": actor_id,
                     "actor": label, "at": utcnow()} for step in steps]
    session.execute(sa.insert(MembershipEntry), entries)
    return len(rows)


def _insert(session: Session, model, rows: list[dict]) -> list[int]:
    """Insert ``rows`` in batches (one statement each) and return their ids in order."""
    ids: list[int] = []
    for start in range(0, len(rows), 1000):
        statement = sa.insert(model).returning(model.id, sort_by_parameter_order=True)
        result = session.execute(statement, rows[start:start + 1000])
        ids += list(result.scalars())
    return ids
