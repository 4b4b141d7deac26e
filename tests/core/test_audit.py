"""The audit trail: every change and every read of a full ID number is recorded, nobody can quietly change the
record, and `gonghui audit verify` names a record that was altered, inserted or deleted behind our back."""
from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from core import audit, migrate, tenancy
from core import settings as settings_module
from core.cli import main
from core.db import Database, make_engine, utcnow
from core.models.audit import AuditRecord, AuditRecordIsAppendOnly

ID_NUMBER = "11010519491231002X"  # the standard's own example, valid check character


# --- helpers: the application writing, and an attacker with database access -----------------------------------


def append(db, tenant, count=1, *, action="member.update", obj=("person", "42"), actor="operator1"):
    with db() as session, tenancy.tenant_scope(tenant):
        for n in range(count):
            audit.record(session, action, obj=obj, before={"n": n}, after={"n": n + 1}, actor=actor)


def chain(app, tenant) -> list:
    with app.extensions["gonghui"].db.engine.connect() as connection:
        return connection.execute(
            sa.select(AuditRecord.__table__).where(AuditRecord.tenant_id == tenant.id).order_by(AuditRecord.seq)
        ).all()


@contextmanager
def behind_the_applications_back(app):
    """A connection of someone with database access. On PostgreSQL they switch triggers off first, as the
    superuser can: ``SET session_replication_role = replica``."""
    with app.extensions["gonghui"].db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield connection


def forged(**fields) -> dict:
    """A record made by someone who read our source: its hash is computed exactly as the application does."""
    row = {
        "tenant_id": None, "at": utcnow(), "actor_id": None, "actor": "operator1", "action": "member.update",
        "object_type": "person", "object_id": "42", "before": None, "after": None, "request_id": "",
        "address": "10.0.0.66", **fields,
    }
    row["hash"] = audit.compute_hash(SimpleNamespace(**row))
    return row


def verify(app, *args):
    return app.test_cli_runner().invoke(main, ["audit", "verify", *args])


def on_postgresql(app) -> bool:
    return app.extensions["gonghui"].db.dialect == "postgresql"


@pytest.fixture
def yichang(make_tenant):
    return make_tenant("yichang", name="宜昌市总工会")


# --- what is recorded -----------------------------------------------------------------------------------------


def test_a_change_is_recorded_with_who_when_what_before_after_the_request_and_the_address(api, yichang, make_user):
    admin, token = make_user(yichang, roles=["tenant_admin"], username="yc-admin")
    client = api(yichang, token)
    etag = client.get("/api/v1/tenant").headers["ETag"]
    changed = client.patch("/api/v1/tenant", json={"branding": {"footer": "宜昌市总工会"}}, headers={"If-Match": etag})

    (found,) = client.get("/api/v1/audit?action=tenant.update").json

    assert (found["actor"], found["actor_id"]) == ("yc-admin", admin.id)
    assert (found["object_type"], found["object_id"]) == ("tenant", str(yichang.id))
    assert "footer" not in found["before"]["branding"] and found["after"]["branding"]["footer"] == "宜昌市总工会"
    assert found["request_id"] == changed.headers["X-Request-Id"]
    assert found["address"] == "127.0.0.1"
    assert dt.datetime.fromisoformat(found["at"]) <= utcnow()


def test_a_full_id_number_never_reaches_the_trail_the_caller_masks_it(db, yichang):
    from core.masking import mask_id_number

    with db() as session, tenancy.tenant_scope(yichang):
        with pytest.raises(audit.UnmaskedPersonalData, match="after.person.id_number"):
            audit.record(session, "member.create", after={"person": {"id_number": ID_NUMBER}})
        audit.record(session, "member.create", after={"person": {"id_number": mask_id_number(ID_NUMBER)}})


def test_whoever_reads_a_persons_full_id_number_is_recorded_and_the_person_can_see_who(db, yichang, make_user):
    first, _ = make_user(yichang, roles=["operator"], username="operator1")
    second, _ = make_user(yichang, roles=["chairman"], username="chairman1")
    person, someone_else = ("person", "42"), ("person", "43")
    with db() as session, tenancy.tenant_scope(yichang):
        audit.record_read(session, person, "id_number", first)
        audit.record_read(session, someone_else, "id_number", first)
        audit.record_read(session, person, "id_number", second)

    with db() as session, tenancy.tenant_scope(yichang):
        reads = session.scalars(audit.reads_of(person)).all()

    assert [(r.actor, r.action) for r in reads] == [("chairman1", "read.id_number"), ("operator1", "read.id_number")]


# --- append-only ----------------------------------------------------------------------------------------------


def test_the_application_has_no_way_to_change_or_delete_a_record(db, yichang):
    append(db, yichang, 2)

    with pytest.raises(AuditRecordIsAppendOnly), db() as session, tenancy.tenant_scope(yichang):
        session.scalars(sa.select(AuditRecord)).first().actor = "someone else"
    with pytest.raises(AuditRecordIsAppendOnly), db() as session, tenancy.tenant_scope(yichang):
        session.delete(session.scalars(sa.select(AuditRecord)).first())
    with pytest.raises(AuditRecordIsAppendOnly), db() as session, tenancy.tenant_scope(yichang):
        session.execute(sa.update(AuditRecord).values(actor="someone else"))
    with pytest.raises(AuditRecordIsAppendOnly), db() as session, tenancy.tenant_scope(yichang):
        session.execute(sa.delete(AuditRecord))

    with db() as session, tenancy.tenant_scope(yichang):
        assert [r.actor for r in session.scalars(sa.select(AuditRecord))] == ["operator1", "operator1"]


def test_on_postgresql_the_database_refuses_to_change_or_delete_a_record_whoever_asks(app, db, yichang):
    if not on_postgresql(app):
        pytest.skip("the trigger is PostgreSQL's")
    append(db, yichang, 1)
    engine = app.extensions["gonghui"].db.engine

    for statement in ("UPDATE audit_record SET actor = 'someone else'", "DELETE FROM audit_record"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql(statement)
    # The purge's own way in does not open the door to a record younger than six months.
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.select(sa.func.set_config("gonghui.audit_purge_before", "2999-01-01", True)))
        connection.exec_driver_sql("DELETE FROM audit_record")

    assert len(chain(app, yichang)) == 1


@pytest.mark.postgres
def test_a_database_built_by_gonghui_db_upgrade_refuses_it_too(tmp_path):
    server_url = os.environ.get("GONGHUI_TEST_DATABASE_URL", "")
    if not server_url.startswith("postgresql"):
        pytest.skip("needs GONGHUI_TEST_DATABASE_URL pointing at PostgreSQL")
    name = f"gonghui_audit_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(settings_module.load({}, data_dir=tmp_path, database_url=url, secret_key="k" * 40))
        engine = make_engine(url, poolclass=sa.NullPool)
        with engine.begin() as connection:
            connection.execute(sa.insert(AuditRecord.__table__).values(**forged(seq=1, prev_hash=audit.GENESIS)))
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql("UPDATE audit_record SET actor = 'someone else'")
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# --- gonghui audit verify -------------------------------------------------------------------------------------


def test_verify_says_every_chain_is_whole_and_counts_its_records(app, db, yichang, make_tenant):
    changzhou = make_tenant("changzhou")
    append(db, yichang, 3)
    append(db, changzhou, 2)

    result = verify(app)

    assert result.exit_code == 0, result.output
    assert f"yichang (tenant {yichang.id}): 3 records, whole" in result.output
    assert f"changzhou (tenant {changzhou.id}): 2 records, whole" in result.output
    assert "platform: 2 records, whole" in result.output  # the two tenants' creation
    assert "3 chains, 7 records: all whole" in result.output


def test_verify_names_a_record_altered_directly_in_the_database(app, db, yichang):
    append(db, yichang, 4)
    victim = chain(app, yichang)[1]

    with behind_the_applications_back(app) as connection:
        connection.execute(sa.text("UPDATE audit_record SET actor = 'someone else' WHERE id = :id"), {"id": victim.id})

    result = verify(app)
    assert result.exit_code == 1
    named = f"yichang (tenant {yichang.id}): altered record (seq 2, id {victim.id}): its hash does not match"
    assert named in result.output


def test_verify_names_the_last_record_altered_even_when_its_hash_was_recomputed(app, db, yichang):
    append(db, yichang, 3)
    last = chain(app, yichang)[-1]
    rewritten = forged(**{**last._asdict(), "actor": "someone else"})

    with behind_the_applications_back(app) as connection:
        connection.execute(
            sa.text("UPDATE audit_record SET actor = :actor, hash = :hash WHERE id = :id"),
            {"actor": rewritten["actor"], "hash": rewritten["hash"], "id": last.id},
        )

    result = verify(app, "--tenant", "yichang")
    assert result.exit_code == 1
    assert f"altered record (seq 3, id {last.id}): its hash is not the one the chain head holds" in result.output


def test_verify_names_a_record_inserted_directly_in_the_database(app, db, yichang):
    append(db, yichang, 3)
    last = chain(app, yichang)[-1]

    with behind_the_applications_back(app) as connection:
        inserted = connection.execute(
            sa.insert(AuditRecord.__table__).values(
                **forged(tenant_id=yichang.id, seq=4, prev_hash=last.hash, action="member.delete")
            )
        ).inserted_primary_key[0]

    result = verify(app)
    assert result.exit_code == 1
    assert f"inserted record (seq 4, id {inserted}): it is past the chain head (seq 3)" in result.output


def test_verify_names_an_inserted_record_that_does_not_follow_the_one_before_it(app, db, yichang):
    append(db, yichang, 3)
    records = chain(app, yichang)
    fake = forged(tenant_id=yichang.id, seq=4, prev_hash=records[0].hash)  # chained to the wrong record

    with behind_the_applications_back(app) as connection:
        inserted = connection.execute(sa.insert(AuditRecord.__table__).values(**fake)).inserted_primary_key[0]
        connection.execute(  # and the head moved along, so only the chain itself can tell
            sa.text("UPDATE audit_chain_head SET seq = 4, hash = :hash WHERE chain = :chain"),
            {"hash": fake["hash"], "chain": yichang.id},
        )

    result = verify(app)
    assert result.exit_code == 1
    assert f"inserted record (seq 4, id {inserted}): its prev_hash is not the hash of seq 3" in result.output


def test_a_seq_that_is_there_twice_is_named_as_inserted():
    # The unique key (tenant_id, seq) stops this in the database; an attacker who drops it meets the walk.
    first = forged(seq=1, prev_hash=audit.GENESIS, id=1)
    genuine = forged(seq=2, prev_hash=first["hash"], id=2)
    twin = forged(seq=2, prev_hash=first["hash"], id=9, actor="someone else")
    rows = [SimpleNamespace(**r) for r in (first, genuine, twin)]

    walk = audit._walk(rows, 0, audit.GENESIS)

    assert walk.problem == audit.Break("inserted", 2, 9, "seq 2 is there 2 times")


def test_verify_names_a_record_deleted_directly_in_the_database(app, db, yichang):
    append(db, yichang, 4)
    records = chain(app, yichang)

    with behind_the_applications_back(app) as connection:
        connection.execute(sa.text("DELETE FROM audit_record WHERE id = :id"), {"id": records[1].id})

    result = verify(app)
    assert result.exit_code == 1
    assert f"deleted record (seq 2): seq 2 is gone; seq 3 (id {records[2].id}) comes next" in result.output


def test_verify_names_the_newest_records_deleted_directly_in_the_database(app, db, yichang):
    append(db, yichang, 4)

    with behind_the_applications_back(app) as connection:
        connection.execute(sa.text("DELETE FROM audit_record WHERE tenant_id = :t AND seq >= 3"), {"t": yichang.id})

    result = verify(app)
    assert result.exit_code == 1
    assert "deleted record (seq 3): seq 3 to 4 is gone; the chain head is at seq 4" in result.output


def test_verify_names_the_oldest_records_deleted_even_when_the_start_of_the_chain_was_moved(app, db, yichang):
    append(db, yichang, 4)
    second = chain(app, yichang)[1]

    with behind_the_applications_back(app) as connection:
        connection.execute(sa.text("DELETE FROM audit_record WHERE tenant_id = :t AND seq <= 2"), {"t": yichang.id})
        connection.execute(
            sa.text("UPDATE audit_chain_head SET anchor_seq = 2, anchor_hash = :hash WHERE chain = :chain"),
            {"hash": second.hash, "chain": yichang.id},
        )

    result = verify(app)
    assert result.exit_code == 1
    assert "deleted record (seq 2): the chain starts after seq 2, but no audit.purge record says so" in result.output


def test_verify_of_one_tenant_looks_only_at_that_tenants_chain(app, db, yichang, make_tenant):
    changzhou = make_tenant("changzhou")
    append(db, yichang, 2)
    append(db, changzhou, 2)
    with behind_the_applications_back(app) as connection:
        connection.execute(sa.text("DELETE FROM audit_record WHERE tenant_id = :t AND seq = 1"), {"t": changzhou.id})

    assert verify(app, "--tenant", "yichang").exit_code == 0
    assert verify(app, "--tenant", "changzhou").exit_code == 1
    unknown = verify(app, "--tenant", "wuhan")
    assert unknown.exit_code != 0 and "no tenant 'wuhan'" in unknown.output


def test_verify_walks_a_long_chain_a_batch_at_a_time(app, db, yichang, monkeypatch):
    monkeypatch.setattr(audit, "STREAM_BATCH", 7)
    append(db, yichang, 50)

    result = verify(app, "--tenant", "yichang")

    assert result.exit_code == 0, result.output
    assert "50 records, whole" in result.output


def test_twenty_people_changing_things_at_once_leave_one_unbroken_chain(app, gonghui_settings, yichang):
    # Each thread its own connection, all at the chain head together: the row lock queues them.
    database = Database(gonghui_settings.database_url, pool_size=21, max_overflow=0)
    start = threading.Barrier(20)
    failures = []

    def change_things(n):
        try:
            start.wait()
            for i in range(5):
                with app.app_context(), database.unit_of_work() as session, tenancy.tenant_scope(yichang):
                    audit.record(session, "member.update", obj=("person", str(n)), after={"i": i}, actor=f"u{n}")
        except Exception as exc:  # reported below, with the thread it came from
            failures.append((n, repr(exc)))

    threads = [threading.Thread(target=change_things, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    database.engine.dispose()

    assert failures == []
    assert [r.seq for r in chain(app, yichang)] == list(range(1, 101))
    result = verify(app, "--tenant", "yichang")
    assert result.exit_code == 0 and "100 records, whole" in result.output, result.output


def test_a_record_takes_its_place_in_the_chain_when_its_transaction_commits_not_when_it_was_made(app, db, yichang):
    # The chain head is locked only through the commit, so a long step never makes the tenant's other steps wait.
    with db() as slow, tenancy.tenant_scope(yichang):
        audit.record(slow, "member.update", obj=("person", "1"), actor="slow")
        append(db, yichang, action="member.join", actor="quick")  # made later, committed first
    assert [(r.seq, r.actor) for r in chain(app, yichang)] == [(1, "quick"), (2, "slow")]
    assert "2 records, whole" in verify(app, "--tenant", "yichang").output


def test_a_record_made_in_a_step_rolled_back_to_its_savepoint_is_not_in_the_trail(app, db, yichang):
    with db() as session, tenancy.tenant_scope(yichang):
        audit.record(session, "import.apply", obj=("import_batch", "1"), actor="clerk")
        step = session.begin_nested()
        audit.record(session, "member.update", obj=("person", "7"), actor="clerk")
        inner = session.begin_nested()
        audit.record(session, "member.update", obj=("person", "8"), actor="clerk")
        inner.commit()
        step.rollback()
        audit.record(session, "member.update", obj=("person", "9"), actor="clerk")
    assert [(r.seq, r.object_id) for r in chain(app, yichang)] == [(1, "1"), (2, "9")]


def test_a_transaction_reading_the_trail_sees_the_records_it_has_made(db, yichang):
    with db() as session, tenancy.tenant_scope(yichang):
        made = audit.record(session, "member.update", obj=("person", "42"), actor="clerk")
        found = session.scalars(audit.search(object_type="person", object_id="42")).all()
        assert [r.id for r in found] == [made.id] and made.seq == 1


def test_nothing_is_recorded_when_the_transaction_rolls_back(app, db, yichang):
    with pytest.raises(RuntimeError), db() as session, tenancy.tenant_scope(yichang):
        audit.record(session, "member.update", obj=("person", "42"), actor="clerk")
        raise RuntimeError("the step failed")
    append(db, yichang)
    assert [r.seq for r in chain(app, yichang)] == [1]


# --- retention: gonghui audit purge ---------------------------------------------------------------------------


def days_ago(days):
    return lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=days)


def test_purge_deletes_what_is_older_than_the_retention_period_and_the_rest_still_verifies(
    app, db, yichang, monkeypatch
):
    monkeypatch.setattr(audit, "utcnow", days_ago(400))
    append(db, yichang, 3, action="member.old")
    monkeypatch.setattr(audit, "utcnow", days_ago(100))
    append(db, yichang, 2, action="member.recent")
    monkeypatch.undo()
    append(db, yichang, 1, action="member.today")
    third = chain(app, yichang)[2]

    result = app.test_cli_runner().invoke(main, ["audit", "purge"])

    assert result.exit_code == 0, result.output
    assert f"yichang (tenant {yichang.id}): deleted 3 records through seq 3" in result.output
    left = chain(app, yichang)
    assert [r.action for r in left] == ["member.recent", "member.recent", "member.today", "audit.purge"]
    assert left[-1].actor == "cli"
    assert left[-1].after == {
        "through_seq": 3, "hash": third.hash, "deleted": 3, "older_than": left[-1].after["older_than"],
    }
    assert verify(app).exit_code == 0
    again = app.test_cli_runner().invoke(main, ["audit", "purge"])
    assert "nothing older than the retention period" in again.output
    append(db, yichang, 1)
    assert verify(app).exit_code == 0


def test_purge_after_purge_each_one_vouches_for_where_the_chain_now_starts(app, db, yichang, monkeypatch):
    database = app.extensions["gonghui"].db
    monkeypatch.setattr(audit, "utcnow", days_ago(600))
    append(db, yichang, 2, action="member.oldest")
    monkeypatch.setattr(audit, "utcnow", days_ago(300))
    append(db, yichang, 2, action="member.old")
    monkeypatch.setattr(audit, "utcnow", days_ago(200))  # a purge that ran 200 days ago
    assert [r.deleted for r in audit.purge(database, retention_days=183) if r.chain == yichang.id] == [2]
    monkeypatch.undo()

    (today,) = [r for r in audit.purge(database, retention_days=183, actor="cli") if r.chain == yichang.id]

    assert (today.deleted, today.through_seq) == (3, 5), "the two old records and the first purge's own record"
    assert [r.action for r in chain(app, yichang)] == ["audit.purge"]
    assert verify(app).exit_code == 0


def test_purge_will_not_cover_for_records_deleted_behind_its_back(app, db, yichang, monkeypatch):
    monkeypatch.setattr(audit, "utcnow", days_ago(400))
    append(db, yichang, 4)
    monkeypatch.undo()
    second = chain(app, yichang)[1]
    with behind_the_applications_back(app) as connection:
        connection.execute(sa.text("DELETE FROM audit_record WHERE tenant_id = :t AND seq <= 2"), {"t": yichang.id})
        connection.execute(
            sa.text("UPDATE audit_chain_head SET anchor_seq = 2, anchor_hash = :hash WHERE chain = :chain"),
            {"hash": second.hash, "chain": yichang.id},
        )

    (result,) = [r for r in audit.purge(app.extensions["gonghui"].db, retention_days=183) if r.chain == yichang.id]

    assert result.deleted == 0 and result.problem.kind == "deleted"
    assert len(chain(app, yichang)) == 2


def test_purge_keeps_six_months_whatever_the_setting_says(app, db, yichang, monkeypatch):
    monkeypatch.setattr(audit, "utcnow", days_ago(400))
    append(db, yichang, 2)
    monkeypatch.undo()

    with pytest.raises(audit.RetentionTooShort, match="at least six months"):
        audit.purge(app.extensions["gonghui"].db, retention_days=30)
    assert len(chain(app, yichang)) == 2


def test_a_broken_chain_is_not_purged_so_the_evidence_stays(app, db, yichang, monkeypatch):
    monkeypatch.setattr(audit, "utcnow", days_ago(400))
    append(db, yichang, 3)
    monkeypatch.undo()
    with behind_the_applications_back(app) as connection:
        connection.execute(
            sa.text("UPDATE audit_record SET actor = 'x' WHERE tenant_id = :t AND seq = 2"), {"t": yichang.id}
        )

    result = app.test_cli_runner().invoke(main, ["audit", "purge"])

    assert result.exit_code == 1
    assert "yichang" in result.output and "not purged, the chain is broken: altered record (seq 2" in result.output
    assert len(chain(app, yichang)) == 3


# --- the API --------------------------------------------------------------------------------------------------


@pytest.fixture
def trail(db, yichang, make_user, monkeypatch):
    """Records of two operators about two people, over three days."""
    first, _ = make_user(yichang, roles=["operator"], username="operator1")
    second, _ = make_user(yichang, roles=["operator"], username="operator2")
    for days, action, person, who in [
        (3, "member.create", "42", first),
        (2, "member.update", "42", second),
        (2, "membership.transfer", "43", first),
        (1, "read.id_number", "42", second),
    ]:
        monkeypatch.setattr(audit, "utcnow", days_ago(days))
        with db() as session, tenancy.tenant_scope(yichang):
            audit.record(session, action, obj=("person", person), actor=who)
    monkeypatch.undo()
    return SimpleNamespace(first=first, second=second)


def actions(response):
    assert response.status_code == 200, response.json
    return [(r["action"], r["object_id"]) for r in response.json]


def test_a_tenant_admin_searches_the_trail_by_object_user_action_and_time_newest_first(api, yichang, make_user, trail):
    _admin, token = make_user(yichang, roles=["tenant_admin"])
    client = api(yichang, token)
    since = (utcnow() - dt.timedelta(days=2, hours=12)).isoformat()
    until = (utcnow() - dt.timedelta(days=1, hours=12)).isoformat()

    assert actions(client.get("/api/v1/audit?object_type=person&object_id=42")) == [
        ("read.id_number", "42"), ("member.update", "42"), ("member.create", "42"),
    ]
    assert actions(client.get(f"/api/v1/audit?actor_id={trail.first.id}")) == [
        ("membership.transfer", "43"), ("member.create", "42"),
    ]
    assert actions(client.get("/api/v1/audit?actor=operator2&action=member.")) == [("member.update", "42")]
    assert actions(client.get("/api/v1/audit?action=member")) == [
        ("membership.transfer", "43"), ("member.update", "42"), ("member.create", "42"),
    ]
    assert actions(client.get("/api/v1/audit", query_string={"since": since, "until": until})) == [
        ("membership.transfer", "43"), ("member.update", "42"),
    ]
    beijing = (utcnow() + dt.timedelta(hours=8) - dt.timedelta(days=1, hours=12)).isoformat() + "+08:00"
    assert actions(client.get("/api/v1/audit", query_string={"since": beijing})) == [
        ("read.id_number", "42"),
    ], "a time with an offset is converted to UTC"


def test_the_trail_comes_a_page_at_a_time(api, yichang, make_user, trail):
    _admin, token = make_user(yichang, roles=["tenant_admin"])

    response = api(yichang, token).get("/api/v1/audit?object_type=person&page_size=2&page=2")

    assert actions(response) == [("member.update", "42"), ("member.create", "42")]
    assert '"total": 4' in response.headers["X-Pagination"]


def test_one_record_is_read_by_its_id(api, yichang, make_user, trail, db):
    _admin, token = make_user(yichang, roles=["tenant_admin"])
    with db() as session, tenancy.tenant_scope(yichang):
        newest = session.scalars(audit.search()).first()

    found = api(yichang, token).get(f"/api/v1/audit/{newest.id}")

    assert found.status_code == 200
    assert (found.json["seq"], found.json["hash"]) == (newest.seq, newest.hash)


def test_only_those_who_may_read_the_trail_see_it(api, yichang, make_user, trail):
    _member, member_token = make_user(yichang, roles=["member"])
    _operator, operator_token = make_user(yichang, roles=["operator"])

    assert api(yichang).get("/api/v1/audit").status_code == 401
    assert api(yichang, member_token).get("/api/v1/audit").status_code == 403
    assert api(yichang, operator_token).get("/api/v1/audit").status_code == 403


# --- where in the union tree: a federation admin sees their subtrees' records ------------------------------------


@pytest.fixture
def tree(db, yichang, make_user):
    """宜昌 with two counties, a union under 夷陵区, and an admin of 夷陵区."""
    from core.models.user import RoleGrant
    from core.registry import organizations

    with db() as session, tenancy.tenant_scope(yichang):
        city = organizations.create(session, name="宜昌市总工会", kind="city_federation", actor="test")
        yiling = organizations.create(session, name="夷陵区总工会", kind="county_federation", parent=city, actor="test")
        xiling = organizations.create(session, name="西陵区总工会", kind="county_federation", parent=city, actor="test")
        union = organizations.create(session, name="宜昌某某物流有限公司工会委员会", kind="grassroots_union",
                                     parent=yiling, actor="test")
        audit.record(session, "tenant.update", obj=yichang, actor="test")
    admin, token = make_user(yichang)
    with db() as session, tenancy.tenant_scope(yichang):
        session.add(RoleGrant(user_id=admin.id, role="federation_admin", organization_id=yiling.id))
    return SimpleNamespace(city=city, yiling=yiling, xiling=xiling, union=union, admin=admin, token=token)


def test_a_federation_admin_finds_the_records_of_their_subtree_and_no_other(api, yichang, tree, db):
    client = api(yichang, tree.token)

    found = client.get("/api/v1/audit?page_size=200")

    assert actions(found) == [("organization.create", str(tree.union.id)), ("organization.create", str(tree.yiling.id))]
    assert [r["scope_path"] for r in found.json] == [tree.union.path, tree.yiling.path]
    with db() as session, tenancy.tenant_scope(yichang):
        sibling, tenant_wide = (
            session.scalars(audit.search(object_id=str(tree.xiling.id))).one(),
            session.scalars(audit.search(action="tenant.update")).one(),
        )
    assert client.get(f"/api/v1/audit/{sibling.id}").status_code == 404, "another county's record is not found"
    assert client.get(f"/api/v1/audit/{tenant_wide.id}").status_code == 404, "so is a record about the whole tenant"
    assert client.get(f"/api/v1/audit/{found.json[0]['id']}").status_code == 200


def test_a_tenant_admin_still_sees_every_record_of_the_tenant(api, yichang, tree, make_user):
    _admin, token = make_user(yichang, roles=["tenant_admin"])

    found = api(yichang, token).get("/api/v1/audit?page_size=200")

    assert len(actions(found)) == 5  # four organizations and the tenant's own record


def test_each_record_knows_where_in_the_tree_its_object_is(db, yichang, tree):
    from core.id_numbers import check_character
    from core.models.user import RoleGrant, User
    from core.registry import memberships, people

    body = "42050619900101123"
    with db() as session, tenancy.tenant_scope(yichang):
        person = people.create(session, id_number=body + check_character(body), name="张三", actor="test")
        joined = memberships.join(session, person=person, organization=tree.union, actor="test")
        user = User(username="two-counties", display_name="两区用户")
        session.add(user)
        session.flush()
        session.add_all([RoleGrant(user=user, role="federation_admin", organization_id=tree.yiling.id),
                         RoleGrant(user=user, role="federation_admin", organization_id=tree.xiling.id)])
        session.flush()
        where = {
            "membership": audit.record(session, "test", obj=joined, actor="test").scope_path,
            "person": audit.record(session, "test", obj=person, actor="test").scope_path,
            "user": audit.record(session, "test", obj=user, actor="test").scope_path,
            "pair": audit.record(session, "test", obj=("organization", tree.xiling.id), actor="test").scope_path,
            "named": audit.record(session, "test", obj=("note", "7"), scope=tree.union.path, actor="test").scope_path,
            "tenant": audit.record(session, "test", obj=yichang, actor="test").scope_path,
        }

    assert where == {
        "membership": tree.union.path, "person": tree.union.path,
        "user": tree.city.path,  # the nearest organization above both of their grants
        "pair": tree.xiling.path, "named": tree.union.path, "tenant": None,
    }


def test_a_record_from_before_records_had_a_place_in_the_tree_still_verifies(app, db, yichang, tree):
    last = chain(app, yichang)[-1]
    old = forged(tenant_id=yichang.id, seq=last.seq + 1, prev_hash=last.hash)  # no scope_path, as written then
    assert "scope_path" not in old
    with behind_the_applications_back(app) as connection:
        connection.execute(sa.insert(AuditRecord.__table__).values(**old))
        connection.execute(sa.text("UPDATE audit_chain_head SET seq = :seq, hash = :hash WHERE chain = :chain"),
                           {"seq": old["seq"], "hash": old["hash"], "chain": yichang.id})

    assert verify(app).exit_code == 0


def test_verify_names_a_record_moved_to_another_place_in_the_tree(app, db, yichang, tree):
    moved = chain(app, yichang)[1]
    with behind_the_applications_back(app) as connection:
        connection.execute(sa.text("UPDATE audit_record SET scope_path = :path WHERE id = :id"),
                           {"path": tree.xiling.path, "id": moved.id})

    result = verify(app)

    assert result.exit_code == 1
    assert f"altered record (seq {moved.seq}, id {moved.id}): its hash does not match its content" in result.output


def test_another_tenants_records_are_never_shown_and_their_ids_are_not_found(
    api, yichang, make_tenant, make_user, trail, db, platform_api
):
    changzhou = make_tenant("changzhou")
    append(db, changzhou, 1, obj=("person", "42"))
    with db() as session, tenancy.tenant_scope(changzhou):
        foreign = session.scalars(audit.search()).first()
    _admin, token = make_user(yichang, roles=["tenant_admin"])
    client = api(yichang, token)

    assert all(r["id"] != foreign.id for r in client.get("/api/v1/audit?page_size=200").json)
    assert client.get(f"/api/v1/audit/{foreign.id}").status_code == 404
    assert platform_api.get("/api/v1/audit").status_code == 404, "the trail is a tenant's, not the platform host's"
