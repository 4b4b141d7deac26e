"""Benchmark: the union tree and the data scope at city scale (issue 4).

Loads one tenant with 50,000 organizations (a city federation, its counties, street federations and grassroots
unions) and 200,000 users holding roles at them into PostgreSQL, then measures what every request pays:

- the scope check: load the caller with their grants and the paths of their organizations (what a request does
  once), then ``in_scope`` for an object;
- the subtree of the city federation, paginated (the bounded count of ``core.api.pagination`` + a page of 20),
  first and deep pages;
- the subtree of a county federation, paginated.

Run:  python bench/tree_scope.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/gonghui_bench_tree] [--reuse]
The database is dropped and created again (``--reuse``: measure the one a previous run loaded). Results go to
stdout; copy them into docs/performance.md, with the load average (the machine may be shared).
"""
from __future__ import annotations

import argparse
import io
import random
import statistics
import time

import psycopg
import sqlalchemy as sa

from core.models.user import User

COUNTIES = 13
STREETS_PER_COUNTY = 15
ORGANIZATIONS = 50_000
USERS = 200_000


def percentiles(samples_ms: list[float]) -> str:
    samples = sorted(samples_ms)
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]  # noqa: E731
    return f"p50 {statistics.median(samples):.3f} ms, p95 {pick(0.95):.3f} ms, p99 {pick(0.99):.3f} ms (n={len(samples)})"


def recreate(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0].replace("postgresql+psycopg", "postgresql") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _filler(table: str, given: list[str]) -> dict:
    """Values for the NOT NULL columns the benchmark does not set (COPY does not apply Python defaults)."""
    from core.db import Base

    fill = {}
    for column in Base.metadata.tables[table].columns:
        if column.name in given or column.nullable or column.primary_key:
            continue
        python_type = column.type.python_type
        fill[column.name] = {bool: False, int: 0, str: ""}.get(python_type, "")
    return fill


def copy_rows(connection, table: str, columns: list[str], rows) -> None:
    extra = _filler(table, columns)
    columns = columns + list(extra)
    tail = list(extra.values())
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in (*row, *tail)) + "\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(buffer.read())


def load(url: str) -> tuple[int, list[int], list[int]]:
    """Build the tree and the users with COPY; return (tenant id, county ids, user ids)."""
    import core.models  # noqa: F401
    from core.db import Base

    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    plain = url.replace("postgresql+psycopg", "postgresql")
    started = time.perf_counter()
    with psycopg.connect(plain) as connection:
        tenant_id = connection.execute(
            "INSERT INTO tenant (slug, name, active, branding, plugins_version, version, created_at, updated_at) "
            "VALUES ('bench', '宜昌市总工会', true, '{}', 0, 1, now(), now()) RETURNING id"
        ).fetchone()[0]
        rows, counties, next_id = [], [], 1
        now = "2026-11-23 00:00:00"

        def org(name, kind, parent_path, depth):
            nonlocal next_id
            org_id = next_id
            next_id += 1
            path = f"{parent_path}{org_id}/"
            parent_id = int(parent_path.strip("/").split("/")[-1]) if parent_path != "/" else None
            rows.append((org_id, tenant_id, name, kind, False, parent_id, path, depth, "active", 1, now, now))
            return org_id, path

        _root, root_path = org("宜昌市总工会", "city_federation", "/", 0)
        streets = []
        for c in range(COUNTIES):
            county_id, county_path = org(f"第{c}区总工会", "county_federation", root_path, 1)
            counties.append(county_id)
            for s in range(STREETS_PER_COUNTY):
                streets.append(org(f"第{c}区第{s}街道总工会", "street_federation", county_path, 2))
        grassroots = []
        while next_id <= ORGANIZATIONS:
            _street_id, street_path = random.choice(streets)
            grassroots.append(org(f"某某有限公司{next_id}工会委员会", "grassroots_union", street_path, 3)[0])
        copy_rows(
            connection,
            "organization",
            ["id", "tenant_id", "name", "kind", "joint", "parent_id", "path", "depth", "status", "version",
             "created_at", "updated_at"],
            rows,
        )
        connection.execute("SELECT setval(pg_get_serial_sequence('organization', 'id'), %s)", (next_id,))
        copy_rows(
            connection,
            "user_account",
            ["id", "tenant_id", "username", "display_name", "active", "is_platform_admin", "session_epoch",
             "version", "created_at", "updated_at"],
            ((u, tenant_id, f"user{u}", f"用户{u}", True, False, 0, 1, now, now) for u in range(1, USERS + 1)),
        )
        copy_rows(
            connection,
            "role_grant",
            ["tenant_id", "user_id", "role", "organization_id"],
            ((tenant_id, u, "chairman", random.choice(grassroots)) for u in range(1, USERS + 1)),
        )
        connection.execute("ANALYZE")
        connection.commit()
    print(f"loaded {ORGANIZATIONS} organizations and {USERS} users in {time.perf_counter() - started:.1f} s")
    return tenant_id, counties, list(range(1, USERS + 1))


def loaded(url: str) -> tuple[int, list[int], list[int]]:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        tenant_id = connection.execute("SELECT id FROM tenant WHERE slug = 'bench'").fetchone()[0]
        counties = [row[0] for row in connection.execute(
            "SELECT id FROM organization WHERE kind = 'county_federation' ORDER BY id")]
    return tenant_id, counties, list(range(1, USERS + 1))


def measure(url: str, tenant_id: int, counties: list[int], users: list[int]) -> None:
    from core import tenancy
    from core.api.pagination import COUNT_CEILING, page_of
    from core.app import create_app
    from core.auth import in_scope
    from core.models.organization import Organization
    from core.models.tenant import Tenant
    from core.registry.organizations import subtree
    from core.settings import load

    app = create_app(load(database_url=url, secret_key="b" * 40, log_level="WARNING"), plugins=[])
    database = app.extensions["gonghui"].db

    class Page:  # what flask-smorest hands a view
        def __init__(self, page):
            self.page, self.page_size, self.item_count = page, 20, None

    with app.app_context(), database.unit_of_work() as session:
        tenant = session.get(Tenant, tenant_id)
        with tenancy.tenant_scope(tenant):
            paths = session.scalars(sa.select(Organization.path).where(Organization.depth == 3).limit(5000)).all()
            per_request, check_only = [], []
            for user_id in random.sample(users, 2000):
                session.expunge_all()
                started = time.perf_counter()
                user = session.get(User, user_id)
                allowed = in_scope(user, "organizations.read", random.choice(paths))
                per_request.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                for _ in range(100):
                    in_scope(user, "organizations.read", random.choice(paths))
                check_only.append((time.perf_counter() - started) * 10)
                del allowed
            print(f"scope: load caller + grants + paths, then check: {percentiles(per_request)}")
            print(f"scope: check alone (grants loaded):               {percentiles(check_only)}")

            root = session.scalar(sa.select(Organization).where(Organization.depth == 0))
            for label, organization, page in (
                ("city federation subtree, page 1", root, 1),
                ("city federation subtree, page 1000", root, 1000),
                ("county federation subtree, page 1", session.get(Organization, counties[0]), 1),
            ):
                samples = []
                for _ in range(200):
                    parameters = Page(page)
                    started = time.perf_counter()
                    page_of(session, subtree(organization), parameters)
                    samples.append((time.perf_counter() - started) * 1000)
                print(f"{label} (total {parameters.item_count}, counted up to {COUNT_CEILING:,} rows or the "
                      f"page's end; + 20 rows): {percentiles(samples)}")
            print(f"city federation subtree, page 1, cost without waiting for the CPU: {_costs(session, subtree(root))}")
            admin_token = _tenant_admin_token(session)
            root_id = root.id

    # The same page as the API serves it: a whole request (token, caller and grants, scope, count, page, JSON).
    client = app.test_client()
    headers = {"Authorization": f"Bearer {admin_token}"}
    samples = []
    for _ in range(200):
        started = time.perf_counter()
        response = client.get(f"/t/bench/api/v1/organizations/{root_id}/subtree?page_size=20", headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.json
    print(f"GET /api/v1/organizations/<city>/subtree, page 1, whole request: {percentiles(samples)}")
    print(f"  X-Pagination: {response.headers['X-Pagination']}")


def _costs(session, statement) -> str:
    """What page 1 costs when nothing else competes for the two cores: this process's CPU time for the call
    (time.process_time) and the server's own execution time of its two statements (EXPLAIN ANALYZE), medians
    of 200. The wall clock above adds the time spent waiting for a core on a shared machine."""
    from core.api.pagination import COUNT_CEILING, page_of

    class Page:
        page, page_size, item_count = 1, 20, None

    cpu, server = [], []
    count = sa.select(sa.func.count()).select_from(statement.order_by(None).limit(COUNT_CEILING + 1).subquery())
    connection = session.connection()
    for _ in range(200):
        started = time.process_time()
        page_of(session, statement, Page())
        cpu.append((time.process_time() - started) * 1000)
        executed = 0.0
        for query in (count, statement.limit(20)):
            sql = query.compile(connection, compile_kwargs={"literal_binds": True})
            plan = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}").scalar()
            executed += plan[0]["Execution Time"]
        server.append(executed)
    return (f"process CPU p50 {statistics.median(cpu):.3f} ms; server execution (count + page) "
            f"p50 {statistics.median(server):.3f} ms, p95 {sorted(server)[189]:.3f} ms")


def _tenant_admin_token(session) -> str:
    """A token of user 1, who is made a tenant admin (once) so the API shows the whole tree."""
    from core.auth import create_token
    from core.models.user import RoleGrant

    exists = session.scalar(sa.select(RoleGrant.id).where(RoleGrant.user_id == 1, RoleGrant.role == "tenant_admin"))
    if exists is None:
        session.add(RoleGrant(user_id=1, role="tenant_admin"))
    _token, clear = create_token(session, session.get(User, 1), name="bench")
    session.commit()
    return clear


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/gonghui_bench_tree")
    parser.add_argument("--reuse", action="store_true", help="measure the database a previous run loaded")
    arguments = parser.parse_args()
    random.seed(4)
    if arguments.reuse:
        tenant_id, counties, users = loaded(arguments.url)
    else:
        recreate(arguments.url)
        tenant_id, counties, users = load(arguments.url)
    measure(arguments.url, tenant_id, counties, users)


if __name__ == "__main__":
    main()
