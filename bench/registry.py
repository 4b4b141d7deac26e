"""The registry at city scale in one run (issue 5): 3,000,000 people, 1,000,000 units and 50,000 organizations in
ONE PostgreSQL database, then every measurement the issue asks for.

    python bench/registry.py                                   # load, measure, print
    python bench/registry.py --reuse --docs docs/performance.md  # measure a loaded database, write the sections

Loads with the generators of ``registry_people.py`` (people with encrypted, blind-indexed ID numbers and phones,
and their memberships) and ``registry_units.py`` (units with realistic names and valid credit codes) into one
tenant with 宜昌's regions and a union tree of ``--organizations`` nodes (a city federation, one county
federation per county, grassroots unions; every 20th union's term ran out). Then it measures, on that one
database: ID-number lookup (``people.lookup``, goal p99 < 5 ms), unit name search over the seeded mix of 2-, 3-
and 4-character queries with and without a region against a plain LIKE scan (goal p95 < 15 ms and >= 20x), the
data-quality counts of the whole city and of one county, and the member import when ``registry_import.py``
(its own driver) is there. ``--load-only`` stops after the load; ``--reuse`` measures what a previous run loaded.

Not a timed unit test: the load takes a quarter of an hour on 2 cores; database ``gonghui_bench_registry``
(dropped and created again unless ``--reuse``).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import registry_people as people_bench  # noqa: E402
import registry_units as units_bench  # noqa: E402

from core import crypto, tenancy  # noqa: E402
from core.db import Database  # noqa: E402
from core.models.region import Region  # noqa: E402
from core.registry import unit_search  # noqa: E402

DATABASE = "gonghui_bench_registry"
SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def load(url: str, args, keys: tuple[str, str]) -> dict[str, float]:
    """Schema, tenant and regions, the union tree, the people with their memberships, the units; timed by step."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    database = Database(url)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    people_bench.create_schema(engine)
    tenant_id, generator = units_bench.seed_tenant(database, args.seed)
    with engine.connect() as connection:
        counties = connection.scalars(
            sa.select(Region.id).where(Region.tenant_id == tenant_id, Region.level == "county").order_by(Region.code)
        ).all()
    _tenant, unions = people_bench.seed_tree(engine, tenant_id=tenant_id, organizations=args.organizations,
                                             county_regions=counties)
    timings["tenant, regions and union tree"] = time.perf_counter() - started

    started = time.perf_counter()
    # Units first (ids 1..units): each membership then names its unit, as a real one does.
    units_bench.copy_units(database, args.units, generator, tenant_id, unions)
    timings["units: generate, COPY, indexes and ANALYZE"] = time.perf_counter() - started

    started = time.perf_counter()
    print(f"loading {args.people:,} people with {args.workers} workers", flush=True)
    people_bench.copy_people(url, args.people, keys, args.workers, tenant_id, unions, units=args.units)
    timings["people: generate and COPY"] = time.perf_counter() - started
    started = time.perf_counter()
    people_bench.build_indexes(engine)
    timings["people: indexes and ANALYZE"] = time.perf_counter() - started
    database.engine.dispose()
    engine.dispose()
    return timings


# --- unit name search -----------------------------------------------------------------------------------------------


def measure_search(url: str, args) -> dict:
    """The seeded mix through the index and through the LIKE scan, after a warm-up mix of the same kinds."""
    database = Database(url)
    mix = units_bench.queries(database, args.seed + 1, args.pieces, args.units)
    warm_up = units_bench.queries(database, args.seed + 2, args.pieces, args.units)
    units_bench.run(database, warm_up, unit_search.search)
    units_bench.run(database, warm_up[::7], unit_search.like_search)
    indexed = units_bench.run(database, mix, unit_search.search)
    scanned = units_bench.run(database, mix, unit_search.like_search)
    rows = units_bench.report(mix, indexed, scanned)
    ratios = [s / i for i, s in zip(indexed, scanned)]
    slowest = sorted(range(len(mix)), key=lambda i: -indexed[i])[:5]
    database.engine.dispose()
    return {
        "rows": rows,
        "queries": len(mix),
        "median_ratio": statistics.median(ratios),
        "slowest": [(mix[i].text, mix[i].region or "-", indexed[i]) for i in slowest],
        "load_average": os.getloadavg()[0],
    }


def search_section(args, result: dict, command: str) -> str:
    rows, overall = result["rows"], result["rows"]["all"]
    p95, like_p95 = overall["index"][1], overall["like"][1]
    table = "\n".join(
        f"| {label} | {row['n']} | {row['index'][0]:.1f} / {row['index'][1]:.1f} / {row['index'][2]:.1f} | "
        f"{row['like'][0]:.0f} / {row['like'][1]:.0f} / {row['like'][2]:.0f} | "
        f"{row['like'][0] / row['index'][0]:.0f}× / {row['like'][1] / row['index'][1]:.0f}× |"
        for label, row in rows.items()
    )
    slowest = ", ".join(f"{text}@{region} {ms:.1f} ms" for text, region, ms in result["slowest"])
    met = p95 < 15 and like_p95 / p95 >= 20
    return f"""## Unit name search

Goal: p95 < 15 ms for `core.registry.unit_search.search` over a mix of 2-, 3- and 4-character queries, common
and rare, with and without a region, and at least 20× a plain `LIKE '%…%'` scan of the same queries (issue 5).

```sh
{command}
```

{args.units:,} units with realistic names (a place, a trade name, a trade, a legal form: 宜昌鑫达物流有限公司) and valid
credit codes in 宜昌's streets and towns, in the same database as the {args.people:,} people and
{args.organizations:,} organizations of the ID-number lookup; PostgreSQL 15 on this machine ({os.cpu_count()} cores;
1-minute load average {result['load_average']:.1f} when the queries ended). {result['queries']} seeded queries, each
in a unit of work of its own with its transaction open (what is timed: choosing the index keys and building the
SQL, three round trips: `SET LOCAL`, the ranked ids, the page's units with their regions and unions), after a
warm-up mix of the same kinds; then the same queries through `unit_search.like_search`, the same ranking over
`LIKE '%…%'` in one round trip.

| queries | n | index p50 / p95 / p99 ms | LIKE scan p50 / p95 / p99 ms | speed-up at p50 / p95 |
| --- | ---: | ---: | ---: | ---: |
{table}

**Goal {"met" if met else "not met"} in this run:** p95 {p95:.1f} ms against 15 ms, {like_p95 / p95:.0f}× the LIKE
scan's p95 (median per query {result['median_ratio']:.0f}×). Slowest index queries: {slowest}.
"""


# --- data quality -----------------------------------------------------------------------------------------------------


def measure_quality(url: str) -> dict | None:
    """Each data-quality count for the whole city and for one county federation's subtree, timed apart."""
    try:
        from core.registry import quality
    except ImportError:
        return None
    from core.models.organization import Organization
    from core.models.tenant import Tenant

    database = Database(url)
    result: dict[str, dict[str, tuple[int, float]]] = {}
    with database.unit_of_work() as session:
        with tenancy.platform_scope("bench: the tenant"):
            tenant = session.scalar(sa.select(Tenant).where(Tenant.slug == units_bench.TENANT))
        with tenancy.tenant_scope(tenant):
            county = session.scalar(sa.select(Organization).where(Organization.kind == "county_federation")
                                    .order_by(Organization.id).limit(1))
            for label, scope in (("city", quality.WHOLE_TENANT), ("county", quality.scope_of(session, [county]))):
                result[label] = {}
                for check in quality.CHECKS.values():
                    for _ in range(2):  # the second run is the one timed: the pages are in memory, as on a live server
                        started = time.perf_counter()
                        count = quality.count(session, check, scope)
                        elapsed = (time.perf_counter() - started) * 1000
                    result[label][check.name] = (count, elapsed)
    database.engine.dispose()
    return result


def quality_section(args, result: dict | None, command: str) -> str:
    return f"""## Data quality counts

What `GET /api/v1/quality` runs, a query per check (`core/registry/quality.py`, [quality.md](quality.md)), on the
database of the two sections above: each count for the whole city (a tenant admin) and for the subtree of one county
federation (of 13), the second of two runs timed. 2% of the people have no phone, 1% no education, every 20th
grassroots union's term ran out at the end of 2025, 80% of the units have no union; the duplicates are namesakes
born the same day, as chance makes them. 1-minute load average {os.getloadavg()[0]:.1f} at the end.

```sh
{command}
```

{quality_lines(result)}
"""


def quality_lines(result: dict | None) -> str:
    if result is None:
        return "(core.registry.quality is not there: no data-quality numbers)"
    lines = ["| check | whole city: count, ms | one county: count, ms |", "| --- | ---: | ---: |"]
    for name, (count, ms) in result["city"].items():
        county_count, county_ms = result["county"][name]
        lines.append(f"| `{name}` | {count:,}, {ms:.0f} ms | {county_count:,}, {county_ms:.0f} ms |")
    return "\n".join(lines)


# --- the import (registry_import.py, its own driver) -------------------------------------------------------------------


def run_import(url: str) -> str | None:
    """The member import's measurement, when ``bench/registry_import.py`` is there: its ``measure_in(url)`` runs
    against this database and returns the text it measured."""
    if importlib.util.find_spec("registry_import") is None:
        return None
    import registry_import

    hook = getattr(registry_import, "measure_in", None)
    return hook(url) if hook is not None else None


def prioritise(niceness: int) -> None:
    """This process, and every server backend it connects to, at ``niceness``: on a machine shared with other
    work, what is measured is then the code, not the queue for the cores."""
    os.setpriority(os.PRIO_PROCESS, 0, niceness)

    @sa.event.listens_for(sa.engine.Engine, "connect")
    def _backend_too(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            os.setpriority(os.PRIO_PROCESS, cursor.fetchone()[0], niceness)


def _grassroots_unions(url: str) -> int:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as connection:
        count = connection.exec_driver_sql("SELECT count(*) FROM organization WHERE kind = 'grassroots_union'").scalar_one()
    engine.dispose()
    return count


# --- the run ----------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=3_000_000)
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--organizations", type=int, default=50_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--pieces", type=int, default=100, help="pieces of real names per length (2, 3, 4)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--server", default=os.environ.get("GONGHUI_BENCH_SERVER", SERVER),
                        help="a PostgreSQL URL on the server to use; the database name is replaced")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--database", default=DATABASE, help="the database to (re)create and measure")
    parser.add_argument("--reuse", action="store_true", help="measure the database a previous run loaded")
    parser.add_argument("--load-only", action="store_true", help="load, then stop")
    parser.add_argument("--nice", type=int, default=0, help="run the measurements, and the server backends serving "
                        "them, at this niceness (negative needs root): on a shared machine, the others yield")
    parser.add_argument("--docs", type=Path, help="write the sections into this file (docs/performance.md)")
    parser.add_argument("--skip", action="append", default=[], choices=("quality", "import"),
                        help="leave out the data-quality counts or the import (repeatable); their sections are not written")
    args = parser.parse_args()

    url = make_url(args.server).set(database=args.database).render_as_string(hide_password=False)
    if args.reuse:
        keys = people_bench.bench_keys(url)
        timings = people_bench.load_timings(url)
    else:
        keys = (f"bench:{crypto.new_key()}", crypto.new_key())
        crypto.configure(crypto.Keyring.parse(*keys))
        people_bench.recreate_database(args.server, args.database)
        people_bench.bench_keys(url, keys)
        print(f"loading into {args.database}: {args.organizations:,} organizations, {args.people:,} people, "
              f"{args.units:,} units", flush=True)
        timings = people_bench.load_timings(url, load(url, args, keys))
    for name, seconds in timings.items():
        print(f"  {name}: {seconds:,.1f} s", flush=True)
    if args.load_only:
        return
    crypto.configure(crypto.Keyring.parse(*keys))
    command = (f"python bench/registry.py --people {args.people} --units {args.units} "
               f"--organizations {args.organizations} --lookups {args.lookups}")
    priority = ""
    if args.nice:
        prioritise(args.nice)
        command += f" --nice {args.nice}"
        priority = (f" The measuring process and the server backends serving it ran at nice {args.nice}, so the other"
                    " work on the machine yielded to them.")

    started = time.perf_counter()
    lookup = people_bench.measure(url, args.people, args.lookups, args.warmup)
    lookup["measure_s"], lookup["unions"] = time.perf_counter() - started, _grassroots_unions(url)
    print(f"lookups done, load average {os.getloadavg()[0]:.1f}", flush=True)
    search = measure_search(url, args)
    quality = measure_quality(url) if "quality" not in args.skip else None
    imported = run_import(url) if "import" not in args.skip else None

    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as connection:
        size = connection.exec_driver_sql("SELECT pg_size_pretty(pg_database_size(current_database()))").scalar_one()
    engine.dispose()
    lookup_text = people_bench.section(
        args, timings, lookup, size, command=command, database=args.database,
        what=f", beside {args.units:,} units and {args.organizations:,} organizations",
    ).replace("included). Time:", f"included).{priority} Time:")
    search_text = search_section(args, search, command).replace(" when the queries ended).",
                                                               f" when the queries ended).{priority}")
    skipped = "(left out: --skip quality)" if "quality" in args.skip else quality_lines(quality)
    print(lookup_text, search_text, "## Data quality counts\n\n" + skipped, sep="\n")
    print(imported or "(bench/registry_import.py is not there or has no measure_in(url), or --skip import: no import numbers)")
    if args.docs:
        people_bench.write_section(args.docs, lookup_text)
        people_bench.write_section(args.docs, search_text, "Unit name search")
        if quality is not None:
            people_bench.write_section(args.docs, quality_section(args, quality, command), "Data quality counts")
        print(f"wrote the sections into {args.docs}")


if __name__ == "__main__":
    main()
