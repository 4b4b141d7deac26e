"""Two desks acting at the same moment, for real: threads released together by a barrier, each with its own
client, request and database session, against PostgreSQL's row locks. Whatever the order the database lets them
through, a person ends with exactly one active membership and nobody's step is silently lost."""
from __future__ import annotations

import os
import threading

import pytest
import sqlalchemy as sa

from cities.yichang.models import Application
from core.models.membership import Membership
from core.models.organization import Organization
from core.models.person import Person
from core.models.user import User
from core.registry import memberships
from tests.cities.yichang.test_api import (  # noqa: F401  (fixtures)
    APPLICATIONS,
    apply,
    city_admin,
    county_admin,
    desk,
    step,
    worker,
)
from tests.core.test_auth_kit import token_for

pytestmark = [
    pytest.mark.plugins("sms_console", "yichang"),
    pytest.mark.skipif(not os.environ.get("GONGHUI_TEST_DATABASE_URL", "").startswith("postgresql"),
                       reason="real concurrency needs PostgreSQL and its row locks (SQLite has one writer at a "
                              "time): set GONGHUI_TEST_DATABASE_URL to a PostgreSQL database"),
]

ATTEMPTS = 3


def at_once(*work):
    """Run each callable in a thread of its own, all released together; their results (or exceptions), in order."""
    barrier = threading.Barrier(len(work))
    results: list = [None] * len(work)

    def run(index, function):
        barrier.wait()
        try:
            results[index] = function()
        except Exception as error:  # noqa: BLE001  (a 500 the test client re-raises: the assertion shows it)
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request never finished: a deadlock?"
    return results


def etag(client, application_id):
    return client.get(f"{APPLICATIONS}/{application_id}").headers["ETag"]


def approving(client, application_id):
    """The chairman's click, with the ETag read before the race starts."""
    tag = etag(client, application_id)
    return lambda: client.post(f"{APPLICATIONS}/{application_id}/approve", headers={"If-Match": tag})


def active_memberships(yichang, person_id) -> list[int]:
    return yichang.run(lambda s: list(s.scalars(sa.select(Membership.organization_id).where(
        Membership.person_id == person_id, Membership.status == "active"))))


def a_second_open_join(yichang, application_id, unit) -> int:
    """Another open join application of the same person, to another unit: what two submissions racing past the
    duplicate check, or an import of old records, would leave."""
    def copy(session):
        first = session.get(Application, application_id)
        twin = Application(**{column: getattr(first, column) for column in (
            "kind", "channel", "person_id", "user_id", "relation", "employment_form", "handler_id", "handler_path",
            "submitted_on", "accept_due_on", "due_on")}, status="submitted", unit_id=unit.id,
            region_id=unit.region_id)
        session.add(twin)
        session.flush()
        return twin.id
    return yichang.run(copy)


def verified_at(yichang, application_id, unit, city_admin, county_admin):
    assert step(city_admin, application_id, "dispatch",
                {"organization_id": yichang.org("夷陵区总工会").id}).status_code == 200
    assert step(county_admin, application_id, "verify", {"unit_id": unit.id}).status_code == 200


def test_two_chairmen_approving_two_join_applications_of_one_person_at_once_leave_one_membership(
        yichang, worker, city_admin, county_admin, desk):
    unions = [yichang.union(f"宜昌并发{n}公司工会委员会") for n in "甲乙"]
    units = [yichang.unit(f"宜昌并发{n}公司", union=union.name) for n, union in zip("甲乙", unions)]
    chairmen = [desk(f"chair{n}", "chairman", union.name) for n, union in enumerate(unions)]
    for attempt in range(ATTEMPTS):
        person, me = worker(f"并发{attempt}")
        first = apply(me, units[0]).json["id"]
        second = a_second_open_join(yichang, first, units[1])
        for application_id, unit in ((first, units[0]), (second, units[1])):
            verified_at(yichang, application_id, unit, city_admin, county_admin)

        outcomes = at_once(approving(chairmen[0], first), approving(chairmen[1], second))

        assert sorted(r.status_code for r in outcomes) == [200, 409], [r.json for r in outcomes]
        assert next(r for r in outcomes if r.status_code == 409).json["code"] == "already_a_member"
        assert len(active_memberships(yichang, person.id)) == 1
        statuses = sorted(yichang.get(Application, id=i).status for i in (first, second))
        assert statuses == ["approved", "verified"], "the loser's application waits, unchanged"


def test_a_join_approval_racing_a_transfer_approval_leaves_one_membership(yichang, worker, city_admin,
                                                                          county_admin, desk):
    old_union, new_union, other_union = (yichang.union(f"宜昌转会{n}公司工会委员会") for n in "甲乙丙")
    new_unit = yichang.unit("宜昌转会乙公司", union=new_union.name)
    other_unit = yichang.unit("宜昌转会丙公司", union=other_union.name)
    new_chairman, other_chairman = desk("new", "chairman", new_union.name), desk("oth", "chairman", other_union.name)
    for attempt in range(ATTEMPTS):
        person, me = worker(f"转会{attempt}")
        join = apply(me, other_unit).json["id"]  # applied before they joined the old union
        yichang.run(lambda s: memberships.join(s, person=s.get(Person, person.id),
                                               organization=s.get(Organization, old_union.id)))
        transfer = a_second_open_join(yichang, join, new_unit)
        yichang.run(lambda s: setattr(s.get(Application, transfer), "kind", "transfer"))
        verified_at(yichang, join, other_unit, city_admin, county_admin)
        verified_at(yichang, transfer, new_unit, city_admin, county_admin)

        outcomes = at_once(approving(other_chairman, join), approving(new_chairman, transfer))

        assert [r.status_code for r in outcomes] == [409, 200], [r.json for r in outcomes]
        assert active_memberships(yichang, person.id) == [new_union.id]


def test_a_move_out_racing_the_approval_of_a_transfer_leaves_one_membership(yichang, worker, city_admin,
                                                                            county_admin, desk):
    old_union, new_union = (yichang.union(f"宜昌迁出{n}公司工会委员会") for n in "甲乙")
    new_unit = yichang.unit("宜昌迁出乙公司", union=new_union.name)
    old_chairman, new_chairman = desk("old", "chairman", old_union.name), desk("new", "chairman", new_union.name)
    for attempt in range(ATTEMPTS):
        person, me = worker(f"迁出{attempt}")
        yichang.run(lambda s: memberships.join(s, person=s.get(Person, person.id),
                                               organization=s.get(Organization, old_union.id)))
        transfer = apply(me, new_unit).json["id"]
        verified_at(yichang, transfer, new_unit, city_admin, county_admin)
        membership_tag = old_chairman.get(f"/api/v1/people/{person.id}/memberships/current").headers["ETag"]

        moved, approved = at_once(
            lambda: old_chairman.post(f"/api/v1/yichang/members/{person.id}/move-out", json={},
                                      headers={"If-Match": membership_tag}),
            approving(new_chairman, transfer))

        assert approved.status_code == 200, approved.json
        # after the approval, the member is another union's (404) or the membership it named has moved on (412)
        assert moved.status_code in (200, 404, 412), moved.json
        assert active_memberships(yichang, person.id) == [new_union.id]


def test_two_admins_dispatching_with_the_same_etag_at_once_one_wins_and_the_other_gets_412(
        yichang, worker, city_admin, desk):
    other_admin = desk("boss", "tenant_admin", None)
    counties = [yichang.org(name).id for name in ("夷陵区总工会", "西陵区总工会")]
    for attempt in range(ATTEMPTS):
        _person, me = worker(f"分派{attempt}")
        application_id = apply(me, other_unit_name="宜昌某公司").json["id"]
        tag = etag(city_admin, application_id)

        outcomes = at_once(*(
            lambda client=client, org=org: client.post(
                f"{APPLICATIONS}/{application_id}/dispatch", json={"organization_id": org}, headers={"If-Match": tag})
            for client, org in ((city_admin, counties[0]), (other_admin, counties[1]))))

        assert sorted(r.status_code for r in outcomes) == [200, 412], [r.json for r in outcomes]
        winner = next(r for r in outcomes if r.status_code == 200).json["dispatched_to_id"]
        assert yichang.get(Application, id=application_id).dispatched_to_id == winner
        assert yichang.get(Application, id=application_id).version == 2


def test_a_worker_submitting_on_the_phone_and_the_computer_at_the_same_moment_has_one_open_application(
        yichang, worker, app, db, api):
    unit = yichang.unit("宜昌双击公司")
    for attempt in range(ATTEMPTS):
        person, me = worker(f"双击{attempt}")
        account = yichang.get(User, person_id=person.id)
        other_device = api(yichang.tenant, token_for(app, db, yichang.tenant, account))

        outcomes = at_once(lambda: apply(me, unit), lambda: apply(other_device, unit))

        assert [r.status_code for r in outcomes] == [201, 201]
        assert sorted(r.json["status"] for r in outcomes) == ["refused", "submitted"]
        assert next(r for r in outcomes if r.json["status"] == "refused").json["reason"] == "yichang.duplicate"
