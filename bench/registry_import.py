"""Import of member rows end to end (store the upload, check, apply) against a raw COPY of the same rows, and the
peak memory of an import. Not a test: prints its numbers for docs/performance.md ("## Imports (issue 5)").

    .venv/bin/python bench/registry_import.py --rows 100000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/gh_b3_bench
    .venv/bin/python bench/registry_import.py --rows 1000000 --rss-only --max-mb 200 ...

Rebuilds the database's ``public`` schema: give it a database of its own.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import settings as settings_module, tenancy  # noqa: E402
from core.id_numbers import check_character  # noqa: E402
from core.registry import columns, imports, organizations, regions  # noqa: E402

UNIONS = 50
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华"


def roster(path: Path, rows: int, seed: int = 5) -> None:
    """``rows`` members with distinct valid ID numbers, phones, codes and unions, as a csv with the headers."""
    rnd = random.Random(seed)
    start = dt.date(1965, 1, 1)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow([c.header for c in columns.MEMBERS])
        for n in range(rows):
            birth = start + dt.timedelta(days=n % 14000)
            body = f"420506{birth:%Y%m%d}{n // 14000:03d}"
            values = {"name": rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN),
                      "id_number": body + check_character(body), "phone": f"139{n:08d}",
                      "ethnicity": "汉族", "education": "大学本科", "employment_form": "职工",
                      "organization": f"宜昌测试{n % UNIONS}公司工会委员会", "joined_on": "2024-03-01"}
            writer.writerow([values.get(c.key, "") for c in columns.MEMBERS])


TABLES = ("person", "membership", "membership_entry")


def copy_csv(database, source: Path) -> float:
    """The csv as it is, into an unlogged table of text columns: the cheapest way in for these bytes."""
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("CREATE UNLOGGED TABLE raw_roster ("
                       + ", ".join(f"c{i} text" for i in range(len(columns.MEMBERS))) + ")")
        started = time.perf_counter()
        with cursor.copy("COPY raw_roster FROM STDIN WITH (FORMAT csv, HEADER true)") as copy, \
                source.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def copy_stored(database) -> float:
    """The rows the import wrote (people, memberships, ledger entries), emptied and written again by COPY into
    the same tables, with their indexes, keys and triggers, and committed: what the database alone needs."""
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        held = {}
        for table in TABLES:
            with cursor.copy(f"COPY {table} TO STDOUT") as copy:
                held[table] = b"".join(bytes(chunk) for chunk in copy)
        cursor.execute("TRUNCATE " + ", ".join(TABLES) + " CASCADE")  # user_account.person_id: no user here
        raw.commit()
        started = time.perf_counter()
        for table in TABLES:
            with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                copy.write(held[table])
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/gh_b3_bench")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rss-only", action="store_true", help="skip the COPY baselines; print the peak RSS")
    parser.add_argument("--max-mb", type=int, help="raise the upload cap (imports.MAX_BYTES, 60 MB): a 1,000,000-row "
                        "csv of this roster is 124 MB; a real upload that size is an xlsx")
    options = parser.parse_args()
    if options.max_mb:
        imports.MAX_BYTES = options.max_mb * 1024 * 1024

    data_dir = Path(tempfile.mkdtemp(prefix="gonghui-bench-import-"))
    settings = settings_module.load({}, data_dir=data_dir, database_url=options.database_url,
                                    secret_key="bench-secret-key-" + "x" * 32, log_level="WARNING")
    from core.app import create_app
    from core.db import Base

    app = create_app(settings, plugins=[])
    database = app.extensions["gonghui"].db
    with database.engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    Base.metadata.create_all(database.engine)
    source = data_dir / "roster.csv"
    roster(source, options.rows)
    with app.app_context(), database.unit_of_work() as session:
        with tenancy.platform_scope("bench"):
            tenant = tenancy.create_tenant(session, slug="bench", name="宜昌市总工会")
        with tenancy.tenant_scope(tenant):
            regions.load_city(session, "420500")
            root = organizations.create(session, name="宜昌市总工会", kind="city_federation")
            for n in range(UNIONS):
                organizations.create(session, name=f"宜昌测试{n}公司工会委员会", kind="grassroots_union", parent=root)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")

    timings = {}
    with app.app_context(), database.unit_of_work() as session, tenancy.tenant_scope(tenant):
        started = time.perf_counter()
        with source.open("rb") as handle:
            stored, size = imports.store(data_dir, tenant.id, "roster.csv", handle, max_bytes=imports.MAX_BYTES)
        batch = imports.new_batch(session, kind="members", filename="roster.csv", stored_path=stored, size=size,
                                  user="bench", scope=imports.Scope(("/",)))
        batch.status = "checking"
        report = imports.check(session, batch, data_dir)
        timings["check"] = time.perf_counter() - started
        assert report.ok and report.created == options.rows, report.errors[:5]
        batch.status = "applying"
        applied = time.perf_counter()
        report = imports.apply(session, batch, data_dir, actor="bench")
        assert report.ok, report.errors[:5]
    timings["apply (with commit)"] = time.perf_counter() - applied
    timings["end to end"] = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"import done: {timings} (peak RSS {rss_mb:.0f} MB)", flush=True)
    if not options.rss_only:
        timings["raw COPY of the csv"] = copy_csv(database, source)
        timings["COPY of the stored rows"] = copy_stored(database)
    print(f"rows {options.rows:,}; csv {size / 1e6:.1f} MB; load average {os.getloadavg()}")
    for name, seconds in timings.items():
        print(f"  {name:<36} {seconds:7.2f} s")
    for baseline in ("raw COPY of the csv", "COPY of the stored rows"):
        if baseline in timings:
            print(f"  end to end / {baseline:<24} {timings['end to end'] / timings[baseline]:7.1f} x")
    print(f"  {'peak RSS':<36} {rss_mb:7.0f} MB")
    shutil.rmtree(data_dir)


if __name__ == "__main__":
    main()
