"""People of the real-name registry: ID numbers encrypted and found by a blind index, masked by role, every full
read on record, scoped to the caller's part of the union tree."""
from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from core import audit, id_numbers, tenancy
from core.errors import Conflict, InvalidInput
from core.masking import mask_id_number
from core.models.audit import AuditRecord
from core.models.person import Person
from core.models.user import RoleGrant
from core.registry import memberships, organizations, people

_sequence = itertools.count(50)


def id_number(region: str = "420506", born: dt.date = dt.date(1990, 1, 1), *, male: bool = True) -> str:
    """A valid ID number, different each call."""
    seq = (next(_sequence) * 2 + male) % 1000  # odd for men, even for women
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + id_numbers.check_character(first17)


@dataclass
class World:
    tenant: object
    city: object
    yiling: object  # 夷陵区总工会
    union: object  # a grassroots union in 夷陵区
    other_union: object  # a grassroots union in 西陵区
    reservoir: object  # 夷陵区职工服务中心工会委员会
    admin: object
    chairman: object
    other_chairman: object
    county_admin: object
    tokens: dict


@pytest.fixture
def world(make_tenant, make_user, db) -> World:
    tenant = make_tenant("yichang", name="宜昌市总工会", plugins=["testplugin"])
    with db() as session, tenancy.tenant_scope(tenant):
        city = organizations.create(session, name="宜昌市总工会", kind="city_federation")
        yiling = organizations.create(session, name="夷陵区总工会", kind="county_federation", parent=city)
        xiling = organizations.create(session, name="西陵区总工会", kind="county_federation", parent=city)
        union = organizations.create(session, name="宜昌某某物流有限公司工会委员会", kind="grassroots_union", parent=yiling)
        other = organizations.create(session, name="宜昌某某商贸有限公司工会委员会", kind="grassroots_union", parent=xiling)
        reservoir = organizations.create(session, name="夷陵区职工服务中心工会委员会", kind="service_centre_committee",
                                         parent=yiling)
    admin, admin_token = make_user(tenant, roles=["tenant_admin"], username="admin")
    users, tokens = {}, {"admin": admin_token}
    for name, role, organization in (("chairman", "chairman", union), ("other_chairman", "chairman", other),
                                     ("county_admin", "federation_admin", yiling)):
        users[name], tokens[name] = make_user(tenant, username=name)
        with db() as session, tenancy.tenant_scope(tenant):
            session.add(RoleGrant(user_id=users[name].id, role=role, organization_id=organization.id))
    return World(tenant, city, yiling, union, other, reservoir, admin, users["chairman"], users["other_chairman"],
                 users["county_admin"], tokens)


def member(world, db, *, organization=None, **fields) -> Person:
    """A person who joined ``organization`` (the world's union by default)."""
    with db() as session, tenancy.tenant_scope(world.tenant):
        person = people.create(session, id_number=fields.pop("id_number", None) or id_number(),
                               name=fields.pop("name", "张三"), actor="test", **fields)
        memberships.join(session, person=person, organization=organization or world.union, actor="test")
    return person


def reads(db, world, person) -> list[str]:
    with db() as session, tenancy.tenant_scope(world.tenant):
        return [r.actor for r in session.scalars(audit.reads_of(person, "id_number"))]


# --- ID numbers: stored encrypted, found by the blind index -----------------------------------------------------------


def test_the_database_holds_the_id_number_encrypted_and_finds_it_by_its_blind_index(world, db, app):
    number = id_number()
    person = member(world, db, id_number=number)

    engine = app.extensions["gonghui"].db.engine
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT id_number, id_number_index FROM person")).one()
    assert number not in stored.id_number and number[6:14] not in stored.id_number
    with db() as session, tenancy.tenant_scope(world.tenant):
        assert people.find_by_id_number(session, number).id == person.id
        assert people.find_by_id_number(session, id_number()) is None


def test_a_15_digit_id_number_is_stored_as_its_18_digit_form(world, db):
    with db() as session, tenancy.tenant_scope(world.tenant):
        person = people.create(session, id_number="420502900101123", name="李四", actor="test")

    assert person.id_number == "420502199001011238"
    assert (person.birth_date, person.sex) == (dt.date(1990, 1, 1), "M")
    with db() as session, tenancy.tenant_scope(world.tenant):
        assert people.find_by_id_number(session, "420502199001011238").id == person.id
        assert people.find_by_id_number(session, "４２０５０２９００１０１１２３").id == person.id


def test_a_second_person_with_the_same_id_number_is_a_conflict_naming_the_field(world, api):
    admin = api(world.tenant, world.tokens["admin"])
    number = id_number()
    body = {"id_number": number, "name": "王五", "confirmed_via": "in_person"}

    first = admin.post("/api/v1/people", json=body)
    again = admin.post("/api/v1/people", json={**body, "id_number": " " + number.lower() + " "})

    assert first.status_code == 201, first.json
    assert again.status_code == 409
    assert again.json["errors"] == {"id_number": ["already registered"]}
    assert number not in again.get_data(as_text=True)


def test_a_wrong_id_number_is_refused_with_the_field_and_the_reason(world, api, db):
    admin = api(world.tenant, world.tokens["admin"])

    response = admin.post("/api/v1/people", json={"id_number": "420502199001011237", "name": "王五",
                                                   "confirmed_via": "phone", "ethnicity": "火星族"})

    assert response.status_code == 422
    assert response.json["errors"] == {"id_number": ["the check character should be 8"],
                                       "ethnicity": ["one of a name of GB/T 3304 (汉族, 回族, ...)"]}
    with pytest.raises(InvalidInput, match="id_number: the check character should be 8"), \
            db() as session, tenancy.tenant_scope(world.tenant):
        people.create(session, id_number="420502199001011237", name="王五")


# --- masked by role, every full read on record ----------------------------------------------------------------------


def test_a_chairman_sees_a_masked_id_number_a_tenant_admin_the_full_one_and_the_read_is_on_record(world, api, db):
    number = id_number("420502")
    person = member(world, db, id_number=number)

    as_chairman = api(world.tenant, world.tokens["chairman"]).get(f"/api/v1/people/{person.id}")
    as_admin = api(world.tenant, world.tokens["admin"]).get(f"/api/v1/people/{person.id}")

    assert as_chairman.json["id_number"] == f"420502********{number[-4:]}"
    assert as_chairman.json["birth_date"] is None, "with the masked number the birth date would give it away"
    assert as_chairman.json["age"] == id_numbers.age_on(dt.date(1990, 1, 1), id_numbers.today())
    assert as_admin.json["id_number"] == number
    assert as_admin.json["birth_date"] == "1990-01-01"
    assert reads(db, world, person) == ["admin"]


def test_lists_show_id_numbers_and_phones_masked_even_to_a_tenant_admin(world, api, db):
    number = id_number()
    member(world, db, id_number=number, phone="13800001234")

    listed = api(world.tenant, world.tokens["admin"]).get("/api/v1/people")

    assert [(p["id_number"], p["phone"]) for p in listed.json] == [(mask_id_number(number), "138****1234")]


def test_lookup_by_id_number_takes_it_in_the_body_and_answers_with_the_current_membership(world, api, db):
    number = id_number()
    person = member(world, db, id_number=number)
    chairman = api(world.tenant, world.tokens["chairman"])

    found = chairman.post("/api/v1/people/lookup", json={"id_number": "４２０" + number[3:].lower()})
    unknown = chairman.post("/api/v1/people/lookup", json={"id_number": id_number()})
    elsewhere = api(world.tenant, world.tokens["other_chairman"]).post("/api/v1/people/lookup",
                                                                        json={"id_number": number})

    assert found.status_code == 200
    assert found.json["id"] == person.id
    assert found.json["membership"]["organization_name"] == "宜昌某某物流有限公司工会委员会"
    assert found.json["membership"]["status"] == "active"
    assert unknown.status_code == 404
    assert (elsewhere.status_code, elsewhere.json) == (404, unknown.json), "another union's member is not confirmed"


def test_an_id_number_never_reaches_the_audit_trail_or_the_log(world, api, db, caplog):
    number = id_number()
    admin = api(world.tenant, world.tokens["admin"])
    caplog.set_level(logging.DEBUG)

    created = admin.post("/api/v1/people", json={"id_number": number, "name": "赵六", "confirmed_via": "sms",
                                                  "membership": {"organization_id": world.union.id}})
    admin.post("/api/v1/people/lookup", json={"id_number": number})
    admin.get(f"/api/v1/people/{created.json['id']}")

    with db() as session, tenancy.tenant_scope(world.tenant):
        trail = json.dumps([[r.action, r.before, r.after] for r in session.scalars(sa.select(AuditRecord))],
                           ensure_ascii=False)
    assert "person.create" in trail and mask_id_number(number) in trail
    assert number not in trail
    assert number not in caplog.text


# --- scope: a chairman sees the people of their union ----------------------------------------------------------------


def test_a_chairman_sees_the_people_of_their_union_and_no_one_else(world, api, db):
    ours = member(world, db, name="张三")
    theirs = member(world, db, name="李四", organization=world.other_union)
    chairman = api(world.tenant, world.tokens["chairman"])

    assert [p["name"] for p in chairman.get("/api/v1/people").json] == ["张三"]
    assert chairman.get(f"/api/v1/people/{ours.id}").status_code == 200
    assert chairman.get(f"/api/v1/people/{theirs.id}").status_code == 404
    assert chairman.get(f"/api/v1/people/{theirs.id}/memberships").status_code == 404
    county = api(world.tenant, world.tokens["county_admin"])
    assert [p["name"] for p in county.get("/api/v1/people").json] == ["张三"]
    assert sorted(p["name"] for p in api(world.tenant, world.tokens["admin"]).get("/api/v1/people").json) == \
        ["张三", "李四"]


def test_another_tenants_admin_gets_404_for_a_person(world, api, db, make_tenant, make_user):
    person = member(world, db)
    changzhou = make_tenant("changzhou")
    _user, token = make_user(changzhou, roles=["tenant_admin"])

    assert api(changzhou, token).get(f"/api/v1/people/{person.id}").status_code == 404


def test_a_chairman_registers_a_person_together_with_their_membership_in_their_union(world, api, db):
    chairman = api(world.tenant, world.tokens["chairman"])
    body = {"id_number": id_number(), "name": "孙七", "confirmed_via": "wechat", "phone": "+86 １３８ ００００ ５６７８",
            "employment_form": "delivery_rider"}

    alone = chairman.post("/api/v1/people", json=body)
    elsewhere = chairman.post("/api/v1/people", json={**body, "membership": {"organization_id": world.other_union.id}})
    joined = chairman.post("/api/v1/people", json={**body, "membership": {"organization_id": world.union.id}})

    assert alone.status_code == 422 and "membership" in alone.json["errors"]
    assert elsewhere.status_code == 403
    assert joined.status_code == 201, joined.json
    assert joined.json["membership"]["organization_id"] == world.union.id
    assert joined.json["phone"] == "13800005678"
    assert (joined.json["filled_in_by_user_id"], joined.json["confirmed_via"]) == (world.chairman.id, "wechat")
    with db() as session, tenancy.tenant_scope(world.tenant):
        assert session.scalar(sa.select(sa.func.count(Person.id))) == 1, "the refused requests left nothing"
        person = session.get(Person, joined.json["id"])
        assert person.phone_index == people.phone_index("138-0000-5678")


def test_a_record_filled_in_on_the_persons_behalf_needs_how_they_confirmed_it(world, db):
    with pytest.raises(InvalidInput) as error, db() as session, tenancy.tenant_scope(world.tenant):
        people.create(session, id_number=id_number(), name="周八", filled_in_by=world.chairman)

    assert list(error.value.errors) == ["confirmed_via"]


# --- corrections ------------------------------------------------------------------------------------------------------


def test_a_correction_needs_the_etag_it_read_and_a_corrected_id_number_rederives_sex_and_birth_date(world, api, db):
    person = member(world, db)
    admin = api(world.tenant, world.tokens["admin"])
    etag = admin.get(f"/api/v1/people/{person.id}").headers["ETag"]
    corrected = id_number(born=dt.date(1988, 5, 6), male=False)

    missing = admin.patch(f"/api/v1/people/{person.id}", json={"id_number": corrected})
    changed = admin.patch(f"/api/v1/people/{person.id}", json={"id_number": corrected}, headers={"If-Match": etag})
    stale = admin.patch(f"/api/v1/people/{person.id}", json={"name": "张叁"}, headers={"If-Match": etag})

    assert missing.status_code == 428
    assert changed.status_code == 200, changed.json
    assert (changed.json["sex"], changed.json["age"]) == ("F", id_numbers.age_on(dt.date(1988, 5, 6), id_numbers.today()))
    assert stale.status_code == 412
    with db() as session, tenancy.tenant_scope(world.tenant):
        assert people.find_by_id_number(session, corrected).id == person.id


def test_a_chairman_may_not_correct_a_person_of_another_union(world, api, db):
    theirs = member(world, db, organization=world.other_union)

    response = api(world.tenant, world.tokens["chairman"]).patch(
        f"/api/v1/people/{theirs.id}", json={"name": "改名"}, headers={"If-Match": "*"})

    assert response.status_code == 404


# --- what a person may ask for ------------------------------------------------------------------------------------------


def test_a_person_downloads_everything_held_about_them_including_who_read_their_id_number(world, api, db):
    number = id_number()
    person = member(world, db, id_number=number, phone="13900001111", employment_form="courier")
    with db() as session, tenancy.tenant_scope(world.tenant):
        memberships.transfer(session, person=session.get(Person, person.id), to=world.other_union, actor="test")
    admin = api(world.tenant, world.tokens["admin"])
    admin.get(f"/api/v1/people/{person.id}")

    export = admin.get(f"/api/v1/people/{person.id}/export")

    assert export.status_code == 200
    data = export.json
    assert (data["person"]["id_number"], data["person"]["phone"]) == (number, "13900001111")
    assert data["person"]["employment_form"] == "courier"
    assert [(m["organization_name"], m["status"]) for m in data["memberships"]] == [
        ("宜昌某某物流有限公司工会委员会", "ended"), ("宜昌某某商贸有限公司工会委员会", "active")]
    assert [e["step"] for e in data["ledger"]] == ["joined", "transferred_out", "transferred_in"]
    assert [r["by"] for r in data["id_number_reads"]] == ["admin", "admin"], "the export itself is a read too"
    chairman = api(world.tenant, world.tokens["county_admin"]).get(f"/api/v1/people/{person.id}/export")
    assert chairman.status_code in (403, 404)


def test_registry_errors_name_the_fields(world, db):
    with pytest.raises(InvalidInput) as error, db() as session, tenancy.tenant_scope(world.tenant):
        people.create(session, id_number=id_number(), name=" ", phone="12345", education="kindergarten")

    assert sorted(error.value.errors) == ["education", "name", "phone"]
    with pytest.raises(Conflict), db() as session, tenancy.tenant_scope(world.tenant):
        number = id_number()
        people.create(session, id_number=number, name="甲")
        people.create(session, id_number=number, name="乙")


def test_forms_and_import_templates_get_every_code_list_with_its_chinese_label(world, api):
    lists = api(world.tenant, world.tokens["chairman"]).get("/api/v1/people/code-lists").json

    assert lists["employment_form"]["delivery_rider"] == "外卖送餐员"
    assert lists["ethnicity"]["汉族"] == "汉族" and len(lists["ethnicity"]) == 58
    assert lists["retained_because"]["closure"] == "单位撤销或破产"
    assert lists["step"]["moved_out"] == "迁出"
