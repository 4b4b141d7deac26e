"""Memberships: one join, dynamic transfer (一次入会、动态接转). Every step is a ledger entry, an audit record and a
domain event; a person never holds two current memberships, however the steps race."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from core import tenancy
from core.errors import Conflict, InvalidInput
from core.id_numbers import today
from core.models.audit import AuditRecord
from core.models.membership import LedgerIsAppendOnly, Membership, MembershipEntry
from core.models.person import Person
from core.registry import memberships, organizations, people
from tests.core.test_people import id_number, member, world  # noqa: F401  (world is a fixture)
from tests.testplugin.plugin import Note


def registered(world, db, name="张三") -> Person:
    with db() as session, tenancy.tenant_scope(world.tenant):
        return people.create(session, id_number=id_number(), name=name, actor="test")


def step(world, db, function, person, **kwargs):
    """Run one registry step on ``person`` in its own unit of work, as a request or a job would."""
    with db() as session, tenancy.tenant_scope(world.tenant):
        return function(session, person=session.get(Person, person.id), actor="test", **kwargs)


def state(world, db, person) -> dict:
    with db() as session, tenancy.tenant_scope(world.tenant):
        rows = session.scalars(sa.select(Membership).where(Membership.person_id == person.id).order_by(Membership.id))
        return {
            "memberships": [(m.organization_id, m.status, m.end_reason, m.parked) for m in rows],
            "ledger": [(e.step, e.organization_id, e.reason) for e in memberships.ledger(session, person)],
            "events": list(session.scalars(sa.select(Note.text).order_by(Note.id))),
            "audit": list(session.scalars(
                sa.select(AuditRecord.action).where(AuditRecord.action.startswith("membership.")).order_by(AuditRecord.seq)
            )),
        }


def current_count(world, db, person) -> int:
    with db() as session, tenancy.tenant_scope(world.tenant):
        return session.scalar(sa.select(sa.func.count(Membership.id)).where(
            Membership.person_id == person.id, Membership.status != "ended"))


# --- the steps ------------------------------------------------------------------------------------------------------


def test_a_worker_joins_a_union_with_a_ledger_entry_an_audit_record_and_an_event(world, db):
    person = registered(world, db)

    joined = step(world, db, memberships.join, person, organization=world.union)

    assert (joined.status, joined.started_on, joined.parked) == ("active", today(), False)
    assert state(world, db, person) == {
        "memberships": [(world.union.id, "active", None, False)],
        "ledger": [("joined", world.union.id, "")],
        "events": ["event MembershipStarted"],
        "audit": ["membership.join"],
    }


def test_a_transfer_leaves_one_membership_before_and_one_after(world, db):
    person = member(world, db)
    assert current_count(world, db, person) == 1

    moved = step(world, db, memberships.transfer, person, to=world.other_union)

    assert current_count(world, db, person) == 1
    after = state(world, db, person)
    assert after["memberships"] == [(world.union.id, "ended", "transferred", False),
                                    (world.other_union.id, "active", None, False)]
    assert after["ledger"][1:] == [("transferred_out", world.union.id, "transferred"),
                                   ("transferred_in", world.other_union.id, "")]
    assert after["events"][-1] == "event MembershipTransferred"
    with db() as session, tenancy.tenant_scope(world.tenant):
        assert session.get(Membership, moved.id).via_id == memberships.history(session, person)[0].id


def test_a_member_cannot_join_a_second_union_they_transfer_instead(world, db):
    person = member(world, db)

    with pytest.raises(memberships.AlreadyAMember):
        step(world, db, memberships.join, person, organization=world.other_union)
    with pytest.raises(InvalidInput) as error:
        step(world, db, memberships.transfer, person, to=world.union)
    assert list(error.value.errors) == ["organization_id"]
    assert current_count(world, db, person) == 1


def test_a_membership_is_held_by_a_grassroots_union_or_a_reservoir_not_a_federation(world, db):
    person = registered(world, db)

    with pytest.raises(InvalidInput) as error:
        step(world, db, memberships.join, person, organization=world.yiling)

    assert "organization_id" in error.value.errors


def test_a_chairman_moves_a_member_out_to_the_county_service_centre_where_they_wait_parked(world, db):
    person = member(world, db)

    with pytest.raises(InvalidInput):
        step(world, db, memberships.move_out, person, to=world.other_union)
    moved = step(world, db, memberships.move_out, person, to=world.reservoir)

    assert (moved.organization_id, moved.parked, moved.status) == (world.reservoir.id, True, "active")
    assert state(world, db, person)["ledger"][1:] == [("moved_out", world.union.id, "moved_out"),
                                                      ("moved_in", world.reservoir.id, "")]


def test_a_worker_whose_unit_has_no_union_joins_parked_in_a_reservoir_and_moves_on_when_it_forms_one(world, db):
    person = registered(world, db)

    with pytest.raises(InvalidInput):
        step(world, db, memberships.join, person, organization=world.union, parked=True)
    step(world, db, memberships.join, person, organization=world.reservoir, parked=True)
    step(world, db, memberships.transfer, person, to=world.union)

    assert state(world, db, person)["memberships"] == [(world.reservoir.id, "ended", "transferred", True),
                                                       (world.union.id, "active", None, False)]
    assert [s for s, _o, _r in state(world, db, person)["ledger"]] == [
        "joined", "parked", "transferred_out", "transferred_in"]


def test_a_member_whose_union_is_dissolved_is_parked_in_the_reservoir(world, db):
    person = member(world, db)

    parked = step(world, db, memberships.park, person, to=world.reservoir)

    assert (parked.organization_id, parked.parked) == (world.reservoir.id, True)
    assert state(world, db, person)["ledger"][-1] == ("parked", world.reservoir.id, "")


def test_a_member_who_retires_keeps_the_membership_at_their_union_retained_and_dated(world, db):
    person = member(world, db)

    kept = step(world, db, memberships.retain, person, because="retirement")

    assert (kept.organization_id, kept.status, kept.retained_because, kept.retained_on) == (
        world.union.id, "retained", "retirement", today())
    assert state(world, db, person)["ledger"][-1] == ("retained", world.union.id, "retirement")
    assert state(world, db, person)["events"][-1] == "event MembershipRetained"
    with pytest.raises(Conflict):
        step(world, db, memberships.retain, person, because="unemployment")
    with pytest.raises(memberships.AlreadyAMember):
        step(world, db, memberships.join, person, organization=world.other_union)


def test_when_the_unit_closes_the_upper_union_keeps_the_membership(world, db):
    person = member(world, db)

    kept = step(world, db, memberships.retain, person, because="closure")

    assert (kept.organization_id, kept.status, kept.retained_because) == (world.yiling.id, "retained", "closure")
    assert current_count(world, db, person) == 1
    assert state(world, db, person)["ledger"][1:] == [("transferred_out", world.union.id, "transferred"),
                                                      ("retained", world.yiling.id, "closure")]


def test_an_unemployed_member_re_employed_at_a_unit_with_a_union_transfers_there(world, db):
    person = member(world, db)
    step(world, db, memberships.retain, person, because="unemployment")

    moved = step(world, db, memberships.transfer, person, to=world.other_union)

    assert (moved.status, moved.organization_id) == ("active", world.other_union.id)
    assert current_count(world, db, person) == 1


def test_an_ended_membership_can_be_re_joined_but_not_by_someone_who_died(world, db):
    person = member(world, db)
    step(world, db, memberships.end, person, reason="deemed_withdrawn")
    assert current_count(world, db, person) == 0

    step(world, db, memberships.join, person, organization=world.union)
    step(world, db, memberships.end, person, reason="died")

    assert [s for s, _o, _r in state(world, db, person)["ledger"]] == ["joined", "ended", "rejoined", "ended"]
    assert state(world, db, person)["events"][-1] == "event MembershipEnded"
    with pytest.raises(Conflict, match="died"):
        step(world, db, memberships.join, person, organization=world.union)


def test_ending_takes_a_reason_from_the_list_and_steps_are_never_dated_in_the_future_or_before_the_last(world, db):
    person = member(world, db)

    with pytest.raises(InvalidInput) as wrong_reason:
        step(world, db, memberships.end, person, reason="transferred")
    with pytest.raises(InvalidInput) as future:
        step(world, db, memberships.end, person, reason="left", on=today() + dt.timedelta(days=1))
    with pytest.raises(InvalidInput) as before:
        step(world, db, memberships.end, person, reason="left", on=today() - dt.timedelta(days=1))
    with pytest.raises(memberships.NotAMember):
        step(world, db, memberships.end, person=registered(world, db, "李四"), reason="left")

    assert [list(e.value.errors) for e in (wrong_reason, future, before)] == [["reason"], ["on"], ["on"]]
    assert current_count(world, db, person) == 1


def test_the_ledger_is_append_only(world, db, app):
    person = member(world, db)

    with pytest.raises(LedgerIsAppendOnly), db() as session, tenancy.tenant_scope(world.tenant):
        session.scalars(sa.select(MembershipEntry)).first().note = "rewritten"
    with pytest.raises(LedgerIsAppendOnly), db() as session, tenancy.tenant_scope(world.tenant):
        session.delete(session.scalars(sa.select(MembershipEntry)).first())
    engine = app.extensions["gonghui"].db.engine
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(sa.text("UPDATE membership_entry SET note = 'rewritten'"))
    assert state(world, db, person)["ledger"] == [("joined", world.union.id, "")]


# --- racing -----------------------------------------------------------------------------------------------------------


def at_once(*work):
    """Run each callable in a thread of its own, all released together; their results or exceptions, in order."""
    barrier = threading.Barrier(len(work))
    results: list = [None] * len(work)

    def run(index, function):
        barrier.wait()
        try:
            results[index] = function()
        except Exception as error:  # noqa: BLE001  (the caller inspects each outcome)
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_chairmen_approving_the_same_person_at_once_leave_exactly_one_current_membership(world, db):
    for attempt in range(5):
        person = registered(world, db, name=f"并发{attempt}")

        outcomes = at_once(
            lambda: step(world, db, memberships.join, person, organization=world.union),
            lambda: step(world, db, memberships.join, person, organization=world.other_union),
        )

        assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyAMember", "Membership"], outcomes
        assert current_count(world, db, person) == 1


def test_two_transfers_of_one_member_at_once_leave_exactly_one_current_membership(world, db):
    person = member(world, db)

    at_once(
        lambda: step(world, db, memberships.transfer, person, to=world.other_union),
        lambda: step(world, db, memberships.move_out, person, to=world.reservoir),
    )

    assert current_count(world, db, person) == 1
    history = state(world, db, person)["memberships"]
    assert [status for _o, status, _r, _p in history].count("active") == 1
    assert len(history) in (2, 3), "the second step either failed or followed the first"


def test_the_partial_unique_index_refuses_a_second_current_membership_written_behind_the_registrys_back(world, db):
    person = member(world, db)

    with pytest.raises(IntegrityError), db() as session, tenancy.tenant_scope(world.tenant):
        session.add(Membership(person_id=person.id, organization_id=world.other_union.id, started_on=today()))
    with db() as session, tenancy.tenant_scope(world.tenant):
        session.add(Membership(person_id=person.id, organization_id=world.other_union.id, started_on=today(),
                               status="ended", ended_on=today(), end_reason="left"))
    assert current_count(world, db, person) == 1


def test_two_admins_acting_on_one_membership_at_once_one_wins_and_the_other_is_told_to_read_again(world, api, db):
    person = member(world, db)
    admin, county = api(world.tenant, world.tokens["admin"]), api(world.tenant, world.tokens["county_admin"])
    etag = admin.get(f"/api/v1/people/{person.id}/memberships/current").headers["ETag"]
    path = f"/api/v1/people/{person.id}/memberships"

    outcomes = at_once(
        lambda: admin.post(f"{path}/transfer", json={"organization_id": world.other_union.id},
                           headers={"If-Match": etag}),
        lambda: county.post(f"{path}/move-out", json={"organization_id": world.reservoir.id},
                            headers={"If-Match": etag}),
    )

    assert sorted(r.status_code for r in outcomes) == [200, 412], [r.json for r in outcomes]
    assert current_count(world, db, person) == 1


# --- the API --------------------------------------------------------------------------------------------------------


def test_a_membership_step_needs_if_match_on_the_current_membership(world, api, db):
    person = member(world, db)
    chairman = api(world.tenant, world.tokens["chairman"])
    path = f"/api/v1/people/{person.id}/memberships"

    missing = chairman.post(f"{path}/end", json={"reason": "left"})
    current = chairman.get(f"{path}/current")
    ended = chairman.post(f"{path}/end", json={"reason": "left"}, headers={"If-Match": current.headers["ETag"]})
    again = chairman.post(f"{path}/end", json={"reason": "left"}, headers={"If-Match": current.headers["ETag"]})

    assert missing.status_code == 428
    assert ended.status_code == 200, ended.json
    assert (ended.json["status"], ended.json["end_reason"]) == ("ended", "left")
    assert (again.status_code, again.json["code"]) == (409, "not_a_member")


def test_the_history_shows_every_membership_and_every_step(world, api, db):
    person = member(world, db)
    step(world, db, memberships.transfer, person, to=world.other_union)

    history = api(world.tenant, world.tokens["admin"]).get(f"/api/v1/people/{person.id}/memberships").json

    assert [(m["organization_name"], m["status"]) for m in history["memberships"]] == [
        ("宜昌某某物流有限公司工会委员会", "ended"), ("宜昌某某商贸有限公司工会委员会", "active")]
    assert [e["step"] for e in history["ledger"]] == ["joined", "transferred_out", "transferred_in"]


def test_a_member_a_chairman_moves_out_leaves_the_chairmans_sight(world, api, db):
    person = member(world, db)
    chairman = api(world.tenant, world.tokens["chairman"])
    etag = chairman.get(f"/api/v1/people/{person.id}/memberships/current").headers["ETag"]

    moved = chairman.post(f"/api/v1/people/{person.id}/memberships/move-out",
                          json={"organization_id": world.reservoir.id, "note": "已离职"}, headers={"If-Match": etag})

    assert moved.status_code == 200, moved.json
    assert (moved.json["organization_name"], moved.json["parked"]) == ("夷陵区职工服务中心工会委员会", True)
    assert chairman.get(f"/api/v1/people/{person.id}").status_code == 404
    county = api(world.tenant, world.tokens["county_admin"])
    assert county.get(f"/api/v1/people/{person.id}").json["membership"]["parked"] is True


def test_a_chairman_joins_a_former_member_again_but_only_into_their_own_union(world, api, db):
    person = member(world, db)
    step(world, db, memberships.end, person, reason="left")
    chairman = api(world.tenant, world.tokens["chairman"])
    path = f"/api/v1/people/{person.id}/memberships/join"

    elsewhere = chairman.post(path, json={"organization_id": world.other_union.id})
    rejoined = chairman.post(path, json={"organization_id": world.union.id})
    twice = chairman.post(path, json={"organization_id": world.union.id})

    assert elsewhere.status_code == 403
    assert rejoined.status_code == 201, rejoined.json
    assert (twice.status_code, twice.json["code"]) == (409, "already_a_member")


def test_retention_and_its_keeper_through_the_api(world, api, db):
    person = member(world, db)
    admin = api(world.tenant, world.tokens["admin"])
    etag = admin.get(f"/api/v1/people/{person.id}/memberships/current").headers["ETag"]

    kept = admin.post(f"/api/v1/people/{person.id}/memberships/retain",
                      json={"because": "closure", "keeper_id": world.yiling.id}, headers={"If-Match": etag})

    assert kept.status_code == 200, kept.json
    assert (kept.json["organization_id"], kept.json["status"], kept.json["retained_because"]) == (
        world.yiling.id, "retained", "closure")


def test_a_merge_of_duplicate_organizations_moves_current_memberships_and_leaves_the_ledger_as_it_was(world, db):
    person = member(world, db)
    with db() as session, tenancy.tenant_scope(world.tenant):
        twin = organizations.create(session, name="宜昌某某物流有限公司工会委员会（重复）", kind="grassroots_union",
                                    parent=world.yiling)
        organizations.merge(session, session.get(type(world.union), world.union.id), twin, actor="test")

    after = state(world, db, person)
    assert after["memberships"] == [(twin.id, "active", None, False)]
    assert after["ledger"] == [("joined", world.union.id, "")]
