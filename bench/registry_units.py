"""Unit name search at city scale: a million units in PostgreSQL, the bigram index against a plain LIKE scan.

    /work/venv/bin/python bench/registry_units.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/gonghui_bench_units

Creates the database when it is missing and rebuilds its schema (``create_all``: the schema the tests use, the
GIN index included), loads 宜昌's regions into one tenant, then ``--units`` units (default 1,000,000) with
realistic names (a place, a trade name, a trade, a legal form: 宜昌鑫达物流有限公司, 夷陵区华盛建材经营部) and
valid credit codes, by COPY, and ANALYZEs. ``--reuse`` keeps a database already loaded with as many units.

Then it runs one seeded mix of queries twice, through ``core.registry.unit_search.search`` (the index) and
``like_search`` (``LIKE '%..%'`` over every name, ranked the same way): 2, 3 and 4 characters; common words,
pieces of real names, and words no name has; half of them inside a region (a county or a street). It prints
p50/p95/p99 per method and per kind of query, and the speed-up. The numbers go in docs/performance.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import core.models  # noqa: E402,F401  (every core table)
from core import tenancy  # noqa: E402
from core.db import Base, Database  # noqa: E402
from core.models.region import Region  # noqa: E402
from core.models.tenant import Tenant  # noqa: E402
from core.models.unit import Unit  # noqa: E402
from core.registry import regions, unit_search, units  # noqa: E402
from stdnum.cn import uscc  # noqa: E402

CITY = "420500"
TENANT = "yichang"

# --- realistic names ----------------------------------------------------------------------------------------------

#: Characters of trade names (字号): the auspicious ones that fill a business register, and local ones.
BRAND = (
    "华兴鑫盛达源恒泰宏丰瑞祥金银通联博新合安康明佳嘉信德正天海龙凤东江峡楚荆远福万众友利顺发隆永长广平和美乐"
    "雅锦绣宇航星辰光辉晨阳春秋润泽清山川林森松柏兰竹梅汇鼎诚峰凯腾飞扬翔宝隆昊晟晖铭睿灿鸿骏奥卓越辉煌亿千百"
    "中国民强盈丰惠佳益嘉禾田园绿色生态环球世纪时代未来启航领先优品精工匠心"
)
#: Trades (行业词) with their GB/T 4754 section, most common first.
TRADES = (
    ("商贸", "F"), ("物流", "G"), ("建筑工程", "E"), ("科技", "M"), ("建材", "F"), ("劳务", "L"), ("餐饮", "H"),
    ("房地产开发", "K"), ("物业管理", "K"), ("电子商务", "F"), ("装饰工程", "E"), ("汽车销售", "F"), ("农业开发", "A"),
    ("运输", "G"), ("化工", "C"), ("机械", "C"), ("食品", "C"), ("酒店管理", "H"), ("医药", "F"), ("信息技术", "I"),
    ("文化传媒", "R"), ("广告", "L"), ("茶叶", "A"), ("柑橘种植", "A"), ("水泥制品", "C"), ("磷化工", "C"),
    ("服装", "C"), ("家具", "C"), ("网络科技", "I"), ("软件", "I"), ("旅游开发", "N"), ("快递", "G"), ("超市", "F"),
    ("大药房", "F"), ("养殖", "A"), ("五金", "F"), ("印刷", "C"), ("包装材料", "C"), ("环保科技", "N"), ("能源", "D"),
    ("新材料", "C"), ("光伏", "D"), ("水电开发", "D"), ("纺织", "C"), ("造纸", "C"), ("矿业", "B"), ("钢结构", "E"),
    ("混凝土", "C"), ("石材", "C"), ("陶瓷", "C"), ("塑料制品", "C"), ("电器", "F"), ("通信工程", "E"),
    ("人力资源服务", "L"), ("保安服务", "L"), ("家政服务", "O"), ("美容美发", "O"), ("健身", "R"), ("影视", "R"),
    ("婚庆服务", "O"), ("企业管理咨询", "L"), ("财务咨询", "L"), ("教育咨询", "P"), ("机动车驾驶培训", "P"),
    ("汽车修理", "O"), ("货运代理", "G"), ("仓储", "G"), ("冷链物流", "G"), ("船舶运输", "G"), ("港口", "G"),
    ("门窗", "C"), ("不锈钢", "C"), ("电力工程", "E"), ("市政工程", "E"), ("园林绿化", "N"), ("水利工程", "E"),
)
#: Legal forms (组织形式) and the unit category code each usually carries.
FORMS = (
    ("有限公司", "173", 50), ("有限责任公司", "173", 12), ("股份有限公司", "174", 4), ("经营部", "400", 8),
    ("店", "400", 6), ("门市部", "400", 3), ("加工厂", "171", 4), ("厂", "171", 3), ("中心", "190", 3),
    ("专业合作社", "190", 3), ("工作室", "400", 2), ("有限公司分公司", "159", 2),
)


@dataclass
class Place:
    region_id: int
    region_path: str
    county_code: str
    prefixes: tuple[str, ...]


def places(session) -> list[Place]:
    """Every street or town of the city, with the place names a unit there may carry in front of its name."""
    rows = session.scalars(sa.select(Region)).all()
    by_id = {region.id: region for region in rows}
    found = []
    for street in (r for r in rows if r.level == "street"):
        county = by_id[street.parent_id]
        town = regions.place_name(street, county)
        found.append(Place(street.id, street.path, county.code, ("宜昌", "宜昌市", county.name, f"宜昌市{county.name}", town, "湖北", "")))
    return found


#: How often each kind of place name stands in front (宜昌, 宜昌市, the county, city and county, the town, 湖北, none).
PREFIX_WEIGHTS = (35, 10, 15, 10, 8, 7, 15)


@dataclass
class Generator:
    rng: random.Random
    places: list[Place]
    serial: int = 0
    trade_weights: list[float] = field(default_factory=list)

    def __post_init__(self):
        self.trade_weights = [1 / (rank + 1) ** 0.8 for rank in range(len(TRADES))]

    def brand(self) -> str:
        return "".join(self.rng.choice(BRAND) for _ in range(self.rng.choice((2, 2, 2, 3))))

    def unit(self) -> dict:
        rng = self.rng
        self.serial += 1
        place = rng.choice(self.places)
        prefix = rng.choices(place.prefixes, PREFIX_WEIGHTS)[0]
        trade, industry = rng.choices(TRADES, self.trade_weights)[0]
        form, category, _ = rng.choices(FORMS, [f[2] for f in FORMS])[0]
        if form == "有限公司分公司":
            form = f"有限公司{rng.choice(place.prefixes[2:5]) or '宜昌'}分公司"
        name = f"{prefix}{self.brand()}{trade}{form}"
        employees = int(rng.paretovariate(1.2) * 5)
        return {
            "name": name,
            "name_bigrams": unit_search.name_bigrams(name),
            "credit_code": self.credit_code(place.county_code),
            "region_id": place.region_id,
            "region_path": place.region_path,
            "industry": industry,
            "economic_type": category,
            "employees": employees,
            "women": rng.randint(0, employees),
            "has_union": rng.random() < 0.2,
        }

    def credit_code(self, county_code: str) -> str:
        body = f"{10000000 + self.serial:08d}"
        head = "91" + county_code + body + units.organization_code_check_character(body)
        return head + uscc.calc_check_digit(head)


# --- loading ------------------------------------------------------------------------------------------------------

COLUMNS = (
    "name", "name_bigrams", "credit_code", "organization_code", "region_id", "region_path", "industry", "economic_type", "address",
    "legal_representative", "employees", "women", "has_union", "organization_id", "tenant_id", "version", "created_at",
    "updated_at",
)


def ensure_database(url: str) -> None:
    target = make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as connection:
        if not connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}):
            connection.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()


def loaded_units(database: Database) -> int:
    with database.engine.connect() as connection:
        if not sa.inspect(connection).has_table("unit"):
            return -1
        return connection.scalar(sa.text("SELECT count(*) FROM unit"))


def seed_tenant(database: Database, seed: int) -> tuple[int, Generator]:
    """The tenant with 宜昌's regions, and a generator of units placed in its streets and towns."""
    with database.unit_of_work() as session:
        with tenancy.platform_scope("bench: create the tenant"):
            tenant = tenancy.create_tenant(session, slug=TENANT, name="宜昌市总工会", actor="bench")
        with tenancy.tenant_scope(tenant):
            regions.load_city(session, CITY, actor="bench")
            generator = Generator(random.Random(seed), places(session))
        return tenant.id, generator


def copy_units(database: Database, count: int, generator: Generator, tenant_id: int, unions: list[int] = ()) -> None:
    """COPY ``count`` units in with the unit indexes dropped, then build them and ANALYZE. With ``unions``, a unit
    that has a union is covered by one of them (else none is recorded)."""
    engine = database.engine
    started = time.perf_counter()
    indexes = [index for index in Unit.__table__.indexes]
    with engine.begin() as connection:
        for index in indexes:
            connection.exec_driver_sql(f'DROP INDEX IF EXISTS "{index.name}"')
    now = dt.datetime(2026, 11, 23, 12, 0).isoformat(sep=" ")
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor, cursor.copy(f"COPY unit ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for _ in range(count):
                row = generator.unit()
                covering = generator.rng.choice(unions) if unions and row["has_union"] else None
                copy.write_row((
                    row["name"], row["name_bigrams"], row["credit_code"], row["credit_code"][8:17], row["region_id"], row["region_path"],
                    row["industry"], row["economic_type"], "", "", row["employees"], row["women"], row["has_union"],
                    covering, tenant_id, 1, now, now,
                ))
        raw.commit()
    finally:
        raw.close()
    copied = time.perf_counter() - started
    print(f"generated and copied {count:,} units in {copied:.1f} s", flush=True)

    started = time.perf_counter()
    with engine.begin() as connection:
        connection.exec_driver_sql("SET maintenance_work_mem = '1GB'")
        for index in indexes:
            index.create(connection)
        connection.exec_driver_sql("ANALYZE")
    print(f"built {len(indexes)} indexes and analysed in {time.perf_counter() - started:.1f} s", flush=True)


def load(database: Database, count: int, seed: int) -> Generator:
    engine = database.engine
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    Base.metadata.create_all(engine)
    tenant_id, generator = seed_tenant(database, seed)
    copy_units(database, count, generator, tenant_id)
    return generator


# --- the queries --------------------------------------------------------------------------------------------------

#: Words many names share: the worst case for an index (a top 20 of hundreds of thousands of matches).
COMMON = ("宜昌", "物流", "有限", "公司", "商贸", "科技", "宜昌市", "有限公", "夷陵区", "有限公司", "物流有限", "建筑工程")
#: Words no name holds: the index answers at once, the scan still reads every name.
ABSENT = ("鲸鹦", "麒麟阁", "琥珀钟表", "量子", "芯片设计", "鹦鹉", "钻石", "高铁站")


@dataclass(frozen=True)
class Query:
    text: str
    kind: str  # common, piece (of a real name), absent
    region: str | None  # the name of the region, or None

    @property
    def length(self) -> int:
        return len(self.text)


def queries(database: Database, seed: int, pieces_per_length: int, count: int) -> list[Query]:
    """A fixed mix: the common and absent words, and pieces of real names of 2, 3 and 4 characters from a random
    place in the name; every other one inside a county or a street (the unit's own, when the piece is its)."""
    rng = random.Random(seed)
    with database.unit_of_work() as session, tenancy.tenant_scope(_tenant(session)):
        counties = session.scalars(sa.select(Region.name).where(Region.level == "county").order_by(Region.code)).all()
        sample = session.execute(
            sa.select(Unit.name, Region.name, Region.parent_id)
            .join(Region, Region.id == Unit.region_id)
            .where(Unit.id.in_([rng.randint(1, count) for _ in range(pieces_per_length * 4)]))
        ).all()
        county_of = dict(session.execute(sa.select(Region.id, Region.name).where(Region.level == "county")).all())
    mix: list[Query] = []
    for i, word in enumerate(COMMON + ABSENT):
        kind = "common" if word in COMMON else "absent"
        mix.append(Query(word, kind, None))
        mix.append(Query(word, kind, rng.choice(counties) if i % 2 else "夷陵区"))
    for length in (2, 3, 4):
        for i, (name, street, county_id) in enumerate(rng.sample(sample, min(pieces_per_length, len(sample)))):
            key = unit_search.search_key(name)
            start = rng.randrange(0, len(key) - length + 1)
            region = None if i % 2 == 0 else (street if i % 4 == 1 else county_of[county_id])
            mix.append(Query(key[start : start + length], "piece", region))
    return mix


def _tenant(session) -> Tenant:
    with tenancy.platform_scope("bench: find the tenant"):
        return session.scalars(sa.select(Tenant).where(Tenant.slug == TENANT)).one()


def run(database: Database, mix: list[Query], method) -> list[float]:
    """Milliseconds per query, through ``method`` (``search`` or ``like_search``), each in a unit of work of its
    own whose transaction is already open: what is timed is building the SQL, one round trip (planning and
    executing it) and loading the units, not taking a connection from the pool and beginning a transaction,
    which every request pays once whatever it does."""
    timings = []
    with database.unit_of_work() as session:
        tenant = _tenant(session)
        with tenancy.tenant_scope(tenant):
            region_by_name = {r.name: r for r in session.scalars(sa.select(Region))}
    for query in mix:
        with database.unit_of_work() as session, tenancy.tenant_scope(tenant):
            region = region_by_name[query.region] if query.region else None
            session.connection()
            started = time.perf_counter()
            method(session, query.text, region=region)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: list[float]) -> str:
    return " | ".join(f"{percentile(values, p):.1f}" for p in (50, 95, 99))


def report(mix: list[Query], indexed: list[float], scanned: list[float]) -> dict:
    groups = {
        "all": lambda q: True,
        "2 characters": lambda q: q.length == 2,
        "3 characters": lambda q: q.length == 3,
        "4 characters": lambda q: q.length == 4,
        "common words": lambda q: q.kind == "common",
        "pieces of real names": lambda q: q.kind == "piece",
        "words no name has": lambda q: q.kind == "absent",
        "without a region": lambda q: q.region is None,
        "within a region": lambda q: q.region is not None,
    }
    rows = {}
    print("\n| queries | n | index p50 / p95 / p99 ms | LIKE scan p50 / p95 / p99 ms | speed-up at p50 / p95 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, wanted in groups.items():
        picked = [i for i, q in enumerate(mix) if wanted(q)]
        a, b = [indexed[i] for i in picked], [scanned[i] for i in picked]
        rows[label] = {"n": len(picked), "index": [percentile(a, p) for p in (50, 95, 99)],
                       "like": [percentile(b, p) for p in (50, 95, 99)]}
        print(f"| {label} | {len(picked)} | {summary(a)} | {summary(b)} | "
              f"{percentile(b, 50) / percentile(a, 50):.0f}× / {percentile(b, 95) / percentile(a, 95):.0f}× |")
    ratios = [s / i for i, s in zip(indexed, scanned)]
    print(f"\nper query, LIKE time / index time: median {statistics.median(ratios):.0f}×, "
          f"slowest-gain query {min(ratios):.1f}× ({mix[ratios.index(min(ratios))]})")
    slowest = sorted(range(len(mix)), key=lambda i: -indexed[i])[:5]
    print("slowest index queries: " + ", ".join(f"{mix[i].text}@{mix[i].region or '-'} {indexed[i]:.1f} ms" for i in slowest))
    return rows


def repeated(database: Database, texts: tuple[str, ...], times: int) -> None:
    """The same query many times: the driver prepares it after five runs and the server may then plan it
    generically; the literals written into the SQL keep the plan the first runs had."""
    mix = [Query(text, "repeat", None) for text in texts for _ in range(times)]
    timings = run(database, mix, unit_search.search)
    for n, text in enumerate(texts):
        runs = timings[n * times : (n + 1) * times]
        print(f"{text!r} run {times} times: first {runs[0]:.1f} ms, runs 6+ max {max(runs[5:]):.1f} ms, "
              f"median {statistics.median(runs):.1f} ms")


def explain(database: Database, text: str, region_name: str | None = None) -> None:
    """The plan of the substring side, the one that meets the most names."""
    with database.unit_of_work() as session, tenancy.tenant_scope(_tenant(session)):
        region = session.scalars(sa.select(Region).where(Region.name == region_name)).first() if region_name else None
        phrase = " ".join(unit_search.bigrams(unit_search.search_key(text)))
        where = f"tenant_id = {int(tenancy.require_tenant().id)}"
        # The search's own SQL for that side (the keys it would choose, its LIMIT); run without parameters, so
        # the LIKE pattern's % is written once.
        sql = unit_search._side(session, where, unit_search._Scope.of(region), f"%{phrase}%", phrase.split(" "),
                                unit_search.CANDIDATES)
        connection = session.connection().execution_options(no_parameters=True)
        connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")  # as the search does
        plan = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}").scalars().all()
    print(f"\nEXPLAIN of the substring side for {text!r} in {region_name or 'the whole city'}:")
    print("\n".join("    " + line for line in plan))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/gonghui_bench_units")
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--pieces", type=int, default=100, help="pieces of real names per length (2, 3, 4)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--reuse", action="store_true", help="keep a database already loaded with --units units")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)

    if not args.database_url.startswith("postgresql"):
        parser.error("the bench measures PostgreSQL")
    ensure_database(args.database_url)
    database = Database(args.database_url)
    if args.reuse and loaded_units(database) == args.units:
        print(f"reusing {args.units:,} units")
    else:
        load(database, args.units, args.seed)

    mix = queries(database, args.seed + 1, args.pieces, args.units)
    print(f"{len(mix)} queries; warming up", flush=True)
    # Another mix of the same kinds, so that SQLAlchemy has compiled every shape of statement and the server has
    # its index in memory, as on a server that has been answering for a while; the timed queries are new to both.
    warm_up = queries(database, args.seed + 2, args.pieces, args.units)
    run(database, warm_up, unit_search.search)
    run(database, warm_up[::7], unit_search.like_search)
    indexed = run(database, mix, unit_search.search)
    print(f"index: {sum(indexed) / 1000:.1f} s", flush=True)
    scanned = run(database, mix, unit_search.like_search)
    print(f"LIKE scan: {sum(scanned) / 1000:.1f} s", flush=True)
    rows = report(mix, indexed, scanned)
    print()
    repeated(database, ("物流", "有限公司", "鑫达物流", "鲸鹦"), 12)
    for text, region_name in (("物流", None), ("有限公司", None), ("鑫达物流", None), ("房地产开", "宜都市"), ("物流", "小溪塔街道")):
        explain(database, text, region_name)
    if args.json:
        args.json.write_text(json.dumps({"units": args.units, "queries": len(mix), "groups": rows}, ensure_ascii=False, indent=2))
    database.engine.dispose()


if __name__ == "__main__":
    main()
