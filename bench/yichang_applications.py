"""Online join and transfer at city volume (issue 7): 10,000 applications submitted through the HTTP API of a real
server and carried through dispatch, verify and approval, against PostgreSQL and Redis.

    .venv/bin/python bench/yichang_applications.py                 # set up, serve, measure, print
    .venv/bin/python bench/yichang_applications.py --applications 1000 --clients 1   # service time alone
    .venv/bin/python bench/yichang_applications.py --applications 300 --profile var/bench-yichang-profile

Set-up (database ``gonghui_bench_yichang``, dropped and created again; Redis db 7, flushed): the schema from the
models (``create_all``, as the test kit does), the tenant ``yichang`` with ``sms_console`` and ``yichang``
enabled, 宜昌's divisions and the demo union tree (``organizations.load_demo``), ``--units`` units in the streets
of the 13 counties, half of them covered by a grassroots union of their own; staff with phones and API tokens
(the city admin, a federation admin per county federation, a chairman per grassroots union and per service-centre
committee); ``--workers`` workers, each a person in the registry (ID number and phone encrypted, blind-indexed)
with an account linked to it (``User.person_id``, as the worker's sign-up makes it) and an API token. All through
core's registry functions, so every row is what the application itself would write.

The server: the application (``core.app.create_app``) under werkzeug's threaded WSGI server (``gonghui serve``'s),
``--server-processes`` of them forked after binding one listening socket, so they share its accept queue as a
pre-forking server does; the access log is off (werkzeug closes every connection after its response, so each
request is a connection and a thread of its own, as under ``gonghui serve``). The client: another process with
``--clients`` threads, one request at a time each, taking the next application from a shared counter. The steps
run one after the other, each over every application:

1. ``POST /api/v1/yichang/applications`` as the worker (their token): screening, the application, the audit
   record, the outbox row of the SMS;
2. ``POST …/<id>/dispatch {organization_id}`` as the city admin, to the unit's county federation;
3. ``POST …/<id>/verify {unit_id}`` as that county's federation admin;
4. ``POST …/<id>/approve`` as the chairman of the union the verification chose (the unit's own union, or the
   county's service-centre committee for a unit without one): the membership, the ledger, the SMS.

Each step after the first sends ``If-Match`` with the ETag of the previous step's response. Every response
must be 200/201 (anything else is counted and printed). Printed per step: requests/s, latency p50/p95/p99/max,
the 1-minute load average before and after, and CPU milliseconds a request (from ``/proc``) of the server
processes, of every PostgreSQL process on the machine, of the client, and of the whole machine. SMS deliveries
are queued in Redis and not delivered: no ``gonghui worker`` runs, so the two cores serve requests only.
Results: docs/performance.md, "Yichang: applications".

``--profile DIR``: each server process also profiles every request's CPU (cProfile on the thread's CPU clock) and
times every SQL statement by text (count, total wall time, waits included: what pg_stat_statements would say,
seen from the application), written to DIR when it stops.
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import datetime as dt
import http.client
import itertools
import json
import multiprocessing
import os
import pstats
import random
import signal
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "gonghui_bench_yichang"
SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/7"
SLUG = "yichang"
STEPS = ("submit", "dispatch", "verify", "approve")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红玲芬燕彩春菊凤洁梅琳云莲雪荣爱俊峰浩宇欣怡"
TRADES = "物流建材商贸电子机械食品化工纺织印务科技餐饮酒店汽修家政"


class SetUp:
    """The actor of the set-up: the server's shell."""

    id = None
    username = "bench"
    is_platform_admin = True
    grants = ()


# --- environment -------------------------------------------------------------------------------------------------


def configure_environment(url: str, redis_url: str, data_dir: Path) -> None:
    """What every process of the bench reads: the database, Redis, and keys kept in ``data_dir`` (generated once,
    so the set-up and the servers encrypt and blind-index alike)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update({"GONGHUI_DATABASE_URL": url, "GONGHUI_REDIS_URL": redis_url,
                       "GONGHUI_DATA_DIR": str(data_dir), "GONGHUI_PLUGINS": "sms_console,yichang",
                       "GONGHUI_LOG_LEVEL": "WARNING"})


def recreate_database(url: str) -> None:
    name = make_url(url).database
    server = sa.create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    server.dispose()


def make_app():
    from core.app import create_app

    return create_app()


# --- set-up ------------------------------------------------------------------------------------------------------


def person_numbers(count: int, seed: int):
    """``count`` distinct (ID number, phone, name) of workers aged 20–55, born in 宜昌's counties."""
    from core import id_numbers

    rng = random.Random(seed)
    counties = ("420502", "420503", "420504", "420505", "420506", "420525", "420526", "420527", "420528",
                "420529", "420581", "420582", "420583")
    today = id_numbers.today()
    for n in range(count):
        birth = today - dt.timedelta(days=365 * 20 + rng.randrange(365 * 35))
        first17 = f"{counties[n % len(counties)]}{birth:%Y%m%d}{n % 1000:03d}"
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        yield first17 + id_numbers.check_character(first17), f"13{n + 100_000_000:09d}", name


def set_up(app, *, units: int, workers: int, seed: int) -> dict:
    """The tenant, its tree, units, staff and workers; returns what the client needs (ids and clear tokens)."""
    import core.models  # noqa: F401
    from core import tenancy
    from core.auth import accounts, create_token
    from core.db import Base
    from core.demo_data import credit_code_for
    from core.models.organization import Organization
    from core.models.region import Region
    from core.models.user import User
    from core.registry import organizations, people
    from core.registry import units as unit_registry

    state = app.extensions["gonghui"]
    Base.metadata.create_all(state.db.engine)
    rng = random.Random(seed)
    with app.app_context():
        with state.db.unit_of_work() as session:
            with tenancy.platform_scope("bench: create the tenant"):
                tenant = tenancy.create_tenant(session, slug=SLUG, name="宜昌市总工会")
            with tenancy.tenant_scope(tenant):
                for plugin, settings in (("sms_console", None),
                                         ("yichang", {"contact_name": "李明", "contact_phone": "0717-6222000"})):
                    state.plugins.enable(session, tenant, plugin, settings, actor=SetUp())
                organizations.load_demo(session, SLUG, actor=SetUp())
        tenant_id = tenant.id
        staff_phones = (f"138{n:08d}" for n in itertools.count(1))

        def in_tenant(work):
            with state.db.unit_of_work() as session, tenancy.tenant_scope(tenant):
                return work(session)

        def staff(session, username, role, organization):
            user = accounts.create_user(session, actor=SetUp(), username=username, display_name=username,
                                        phone=next(staff_phones),
                                        grants=[{"role": role, "organization_id": organization.id if organization
                                                 else None}])
            return create_token(session, user, name="bench")[1]

        def tree(session):
            counties = session.scalars(sa.select(Organization).where(Organization.kind == "county_federation")
                                       .order_by(Organization.id)).all()
            made = {"city_admin": staff(session, "city-admin", "tenant_admin", None), "counties": {}, "units": []}
            for county in counties:
                centre = session.scalars(sa.select(Organization).where(
                    Organization.kind == "service_centre_committee", Organization.parent_id == county.id)).one()
                place = session.get(Region, county.region_id)
                streets = session.scalars(sa.select(Region).where(
                    Region.level == "street", Region.path > place.path, Region.path < place.path + "~")
                    .order_by(Region.code)).all() or [place]
                made["counties"][county.id] = {
                    "admin": staff(session, f"admin-{place.code}", "federation_admin", county),
                    "centre": centre.id, "centre_chairman": staff(session, f"centre-{place.code}", "chairman", centre),
                    "streets": [s.id for s in streets], "code": place.code}
            return made

        made = in_tenant(tree)
        county_ids = sorted(made["counties"])

        def make_units(session, first, last):
            for n in range(first, last):
                county_id = county_ids[n % len(county_ids)]
                county = made["counties"][county_id]
                street = session.get(Region, county["streets"][n % len(county["streets"])])
                name = f"宜昌{rng.choice(SURNAMES)}{TRADES[2 * (n % 17): 2 * (n % 17) + 2]}{n:03d}有限公司"
                unit = unit_registry.create(session, name=name, credit_code=credit_code_for(county["code"], 7000 + n),
                                            region=street, actor=SetUp())
                row = {"id": unit.id, "county": county_id, "union": None, "chairman": None}
                if n % 2 == 0:
                    union = organizations.create(session, name=f"{name}工会委员会", kind="grassroots_union",
                                                 parent=session.get(Organization, county_id), region=street,
                                                 actor=SetUp())
                    unit_registry.set_covering_union(session, unit, union, actor=SetUp())
                    row["union"] = union.id
                    row["chairman"] = staff(session, f"chair-{n:03d}", "chairman", union)
                made["units"].append(row)

        for first in range(0, units, 50):
            in_tenant(lambda session: make_units(session, first, min(first + 50, units)))

        worker_tokens: list[str] = []
        numbers = person_numbers(workers, seed)

        def make_workers(session, count):
            for id_number, phone, name in itertools.islice(numbers, count):
                person = people.create(session, id_number=id_number, name=name, phone=phone, actor=SetUp())
                user = User(username=f"w{phone}", display_name=name, active=True, is_platform_admin=False,
                            session_epoch=0, phone=phone, phone_index=accounts.phone_index(phone))
                session.add(user)
                session.flush()
                user.person_id = person.id
                worker_tokens.append(create_token(session, user, name="bench")[1])

        started = time.perf_counter()
        for done in range(0, workers, 500):
            in_tenant(lambda session: make_workers(session, min(500, workers - done)))
            print(f"  workers: {done + 500:,} of {workers:,} ({time.perf_counter() - started:.0f} s)", flush=True)
        made["workers"] = worker_tokens
        made["tenant_id"] = tenant_id
    with state.db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    return made


# --- the server --------------------------------------------------------------------------------------------------


def serve(processes: int, profile_dir: Path | None) -> tuple[int, list[int]]:
    """Fork ``processes`` threaded werkzeug servers sharing one listening socket; returns the port and pids."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    # Every process is woken for each connection and one wins it: the others must not block in accept(),
    # where a stop could not reach them.
    listener.setblocking(False)
    port = listener.getsockname()[1]
    pids = []
    for number in range(processes):
        pid = os.fork()
        if pid == 0:  # the child serves until it is told to stop
            try:
                _serve_child(listener, port, number, profile_dir)
            finally:
                os._exit(0)
        pids.append(pid)
    listener.close()
    return port, pids


def _serve_child(listener: socket.socket, port: int, number: int, profile_dir: Path | None) -> None:
    from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):  # no access log: production puts it in the proxy
            pass

    app = make_app()
    profiles: list[cProfile.Profile] = []
    statements = None
    if profile_dir is not None:
        statements = _time_statements(app.extensions["gonghui"].db.engine)
        app.wsgi_app = _profiled(app.wsgi_app, profiles)
    server = ThreadedWSGIServer("127.0.0.1", port, app, handler=QuietHandler, fd=listener.fileno())

    def stop(_signal, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    parent = os.getppid()

    def orphaned():  # the bench was killed: do not serve on alone
        while os.getppid() == parent:
            time.sleep(1)
        server.shutdown()

    threading.Thread(target=orphaned, daemon=True).start()
    try:
        server.serve_forever()
    finally:
        if profile_dir is not None:
            profile_dir.mkdir(parents=True, exist_ok=True)
            if profiles:
                pstats.Stats(*profiles).dump_stats(str(profile_dir / f"server-{number}.prof"))
            rows = sorted(statements.items(), key=lambda item: -item[1][1])
            (profile_dir / f"statements-{number}.json").write_text(json.dumps(
                [{"statement": text, "calls": calls, "total_ms": round(total * 1000, 1),
                  "mean_ms": round(total * 1000 / calls, 3)} for text, (calls, total) in rows],
                ensure_ascii=False, indent=1))


def _profiled(wsgi_app, profiles: list):
    """Run each request under its thread's profiler (cProfile sees one thread; werkzeug serves a request a
    thread, so a profiler per request, merged at the end)."""

    def profiled(environ, start_response):
        profiler = cProfile.Profile(time.thread_time)  # this thread's CPU: waits are in the SQL timings
        profiler.enable()
        try:
            return list(wsgi_app(environ, start_response))
        finally:
            profiler.disable()
            profiler.create_stats()
            profiles.append(profiler)

    return profiled


def _time_statements(engine) -> dict:
    """Count and time every SQL statement the process runs, by text (pg_stat_statements as the client sees it)."""
    found: dict[str, list] = collections.defaultdict(lambda: [0, 0.0])
    lock = threading.Lock()

    @sa.event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    @sa.event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        took = time.perf_counter() - conn.info["bench_started"].pop()
        with lock:
            entry = found[" ".join(statement.split())[:400]]
            entry[0] += 1
            entry[1] += took

    return found


# --- the client --------------------------------------------------------------------------------------------------


def run_step(port: int, step: str, jobs: list[dict], clients: int) -> dict:
    """Send one request per job from ``clients`` threads; returns latencies, failures, wall time and each job's
    response (ETag, body)."""
    counter = itertools.count()
    latencies: list[float] = [0.0] * len(jobs)
    results: list[dict | None] = [None] * len(jobs)
    failures: collections.Counter = collections.Counter()
    examples: list[str] = []

    def work():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            n = next(counter)
            if n >= len(jobs):
                break
            job = jobs[n]
            body = json.dumps(job["body"]).encode()
            headers = {"Authorization": f"Bearer {job['token']}", "Content-Type": "application/json"}
            if job.get("etag"):
                headers["If-Match"] = job["etag"]
            started = time.perf_counter()
            connection.request("POST", job["path"], body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            latencies[n] = time.perf_counter() - started
            if response.status not in (200, 201):
                failures[response.status] += 1
                if len(examples) < 5:
                    examples.append(f"{response.status} {job['path']}: {data[:300].decode(errors='replace')}")
                continue
            results[n] = {"etag": response.getheader("ETag"), "body": json.loads(data)}
        connection.close()

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"step": step, "latencies": latencies, "results": results, "failures": dict(failures),
            "examples": examples, "wall": wall}


TICK = os.sysconf("SC_CLK_TCK")


def cpu_by_process(pids) -> dict[int, float]:
    """User + system CPU seconds of each of ``pids`` (all its threads) so far; processes gone are left out."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return found


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings by the processes alive at the second (new ones: all of theirs)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def machine_busy_seconds() -> float:
    """CPU-seconds the whole machine has spent busy (every process, ours or not)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICK


def postgres_processes() -> list[int]:
    """Every PostgreSQL server process on this machine (other databases' too: a pool's backends come and go, so
    the server as a whole is what can be counted)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cut[49] * 1000, "p95": cut[94] * 1000, "p99": cut[98] * 1000, "max": ordered[-1] * 1000,
            "mean": statistics.fmean(ordered) * 1000}


def drive(port: int, made: dict, *, applications: int, clients: int, seed: int, servers: list[int]) -> list[dict]:
    """The four steps over ``applications`` applications, one step after the other."""
    rng = random.Random(seed + 1)
    prefix = f"/t/{SLUG}/api/v1/yichang/applications"
    units = [rng.choice(made["units"]) for _ in range(applications)]
    jobs = [{"path": prefix, "token": made["workers"][n], "body": {"unit_id": unit["id"], "channel": "mobile"}}
            for n, unit in enumerate(units)]
    reports = []
    previous = None
    for step in STEPS:
        if previous is not None:
            jobs = []
            for unit, result in zip(units, previous["results"]):
                if result is None:
                    continue
                application = result["body"]
                county = made["counties"][unit["county"]]
                if step == "dispatch":
                    token, body = made["city_admin"], {"organization_id": unit["county"]}
                elif step == "verify":
                    token, body = county["admin"], {"unit_id": unit["id"]}
                else:
                    token = unit["chairman"] if application["organization_id"] == unit["union"] else \
                        county["centre_chairman"]
                    body = {}
                jobs.append({"path": f"{prefix}/{application['id']}/{step}", "token": token, "body": body,
                             "etag": result["etag"]})
            units = [unit for unit, result in zip(units, previous["results"]) if result is not None]
        load_before = os.getloadavg()
        def readings():
            return (cpu_by_process(servers), cpu_by_process(postgres_processes()), cpu_by_process([os.getpid()]),
                    {0: machine_busy_seconds()})

        cpu_before = readings()
        report = run_step(port, step, jobs, clients)
        cpu_after = readings()
        report["load"] = (load_before[0], os.getloadavg()[0])
        report["cpu_ms_per_request"] = {
            name: round(cpu_spent(before, after) * 1000 / max(len(jobs), 1), 2) for name, before, after in zip(
                ("servers", "postgres (all databases)", "client", "machine"), cpu_before, cpu_after)}
        statuses = collections.Counter(r["body"]["status"] for r in report["results"] if r is not None)
        report["statuses"] = dict(statuses)
        done = len(jobs) - sum(report["failures"].values())
        summary = percentiles(report["latencies"])
        print(f"{step:9s} {done:6,} ok {sum(report['failures'].values()):4} failed  {done / report['wall']:7.1f}/s  "
              f"p50 {summary['p50']:6.1f}  p95 {summary['p95']:6.1f}  p99 {summary['p99']:6.1f}  "
              f"max {summary['max']:7.1f} ms  load {report['load'][0]:.1f}->{report['load'][1]:.1f}  {dict(statuses)}",
              flush=True)
        print(f"          CPU ms a request: {report['cpu_ms_per_request']}", flush=True)
        for example in report["examples"]:
            print("   ", example)
        reports.append(report)
        previous = report
    return reports


# --- main --------------------------------------------------------------------------------------------------------


def check_outcome(url: str) -> dict:
    """What the database holds after the run: applications by status, memberships, outbox rows."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        found = {
            "applications": dict(connection.execute(sa.text(
                "SELECT status, count(*) FROM yichang_application GROUP BY status")).all()),
            "active_memberships": connection.scalar(sa.text("SELECT count(*) FROM membership WHERE status = 'active'")),
            "parked": connection.scalar(sa.text(
                "SELECT count(*) FROM membership WHERE status = 'active' AND parked")),
            "outbox_rows": connection.scalar(sa.text("SELECT count(*) FROM outbox_message")),
            "audit_records": connection.scalar(sa.text("SELECT count(*) FROM audit_record")),
        }
    engine.dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}")
    parser.add_argument("--redis-url", default=REDIS)
    parser.add_argument("--data-dir", default=str(ROOT / "var" / "bench-yichang"))
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=None, help="default: one per application")
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--server-processes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", default=None, help="a folder for cProfile and SQL timings of the servers")
    parser.add_argument("--json", default=None, help="also write the numbers here")
    arguments = parser.parse_args()
    workers = arguments.workers or arguments.applications

    configure_environment(arguments.database_url, arguments.redis_url, Path(arguments.data_dir))
    import redis

    redis.Redis.from_url(arguments.redis_url).flushdb()
    recreate_database(arguments.database_url)
    started = time.perf_counter()
    app = make_app()
    made = set_up(app, units=arguments.units, workers=workers, seed=arguments.seed)
    app.extensions["gonghui"].db.engine.dispose()
    set_up_seconds = time.perf_counter() - started
    print(f"set-up: {arguments.units} units, {workers:,} workers with accounts and tokens in {set_up_seconds:.0f} s",
          flush=True)

    port, pids = serve(arguments.server_processes, Path(arguments.profile) if arguments.profile else None)
    time.sleep(3)  # the servers import and build their apps
    try:
        # The client runs in a process of its own, so its threads do not share the servers' interpreter locks.
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            reports = pool.apply(_client, (port, made, arguments.applications, arguments.clients, arguments.seed,
                                           pids))
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        for pid in pids:
            os.waitpid(pid, 0)
    outcome = check_outcome(arguments.database_url)
    print("database afterwards:", outcome)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps({
            "arguments": vars(arguments), "set_up_seconds": set_up_seconds, "outcome": outcome,
            "steps": [{"step": r["step"], "requests": len(r["latencies"]), "failures": r["failures"],
                       "wall_s": r["wall"], "per_second": (len(r["latencies"]) - sum(r["failures"].values()))
                       / r["wall"], "load": r["load"], "cpu_ms_per_request": r["cpu_ms_per_request"],
                       "statuses": r["statuses"], **percentiles(r["latencies"])}
                      for r in reports]}, ensure_ascii=False, indent=1, default=str))


def _client(port: int, made: dict, applications: int, clients: int, seed: int, servers: list[int]) -> list[dict]:
    reports = drive(port, made, applications=applications, clients=clients, seed=seed, servers=servers)
    for report in reports:
        report["results"] = None  # the parent needs the numbers, not every body
    return reports


if __name__ == "__main__":
    main()
