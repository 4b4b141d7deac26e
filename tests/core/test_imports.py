"""Imports of the registry, as union workers use them: upload a roster, read what it would do, apply it whole or
not at all; the same file twice changes nothing; every mistake named by row and column, never a 500."""
from __future__ import annotations

import datetime as dt
import io
import itertools
import zipfile
from dataclasses import dataclass

import openpyxl
import pytest
import sqlalchemy as sa
from stdnum.cn import uscc

from core import tenancy
from core.db import utcnow
from core.events import MembershipStarted
from core.jobs import scheduler_for
from core.id_numbers import check_character
from core.models.audit import AuditRecord
from core.models.import_batch import ImportBatch
from core.models.membership import Membership, MembershipEntry
from core.models.organization import RESERVOIR_KINDS
from core.models.person import Person
from core.models.region import Region
from core.models.unit import Unit
from core.models.user import RoleGrant
from core.registry import columns, imports, memberships, organizations, people, regions, units
from core.toolkit import hookimpl

_serial = itertools.count(101)


def id_number(birth: str | None = None, region: str = "420506", sex: str | None = None) -> str:
    """A valid ID number, a new one each call; ``sex`` ("M" or "F") fixes the parity of the 17th digit."""
    n = next(_serial)
    birth = birth or (dt.date(1970, 1, 1) + dt.timedelta(days=n)).strftime("%Y%m%d")
    sequence = 100 + n % 800
    if sex is not None and (sequence % 2 == 1) != (sex == "M"):
        sequence += 1
    body = f"{region}{birth}{sequence:03d}"
    return body + check_character(body)


def credit_code(n: int) -> str:
    body = f"{n:08d}"
    head = "91420506" + body + units.organization_code_check_character(body)
    return head + uscc.calc_check_digit(head)


def xlsx(kind: str, rows: list[dict], headers=None) -> bytes:
    """A workbook as a person makes one: the template's headers, then rows of text."""
    sheet_columns = columns.SETS[kind]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headers or [c.header for c in sheet_columns])
    for row in rows:
        sheet.append([row.get(c.key, "") for c in sheet_columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(kind: str, rows: list[dict], encoding: str = "utf-8") -> bytes:
    sheet_columns = columns.SETS[kind]
    lines = [",".join(c.header for c in sheet_columns)]
    lines += [",".join(str(row.get(c.key, "")) for c in sheet_columns) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


@dataclass
class City:
    tenant: object
    admin: object
    union: int
    reservoir: int
    unit: int
    unit_code: str

    def upload(self, kind, content: bytes, filename="名单.xlsx", client=None):
        return (client or self.admin).post("/api/v1/imports", data={
            "kind": kind, "file": (io.BytesIO(content), filename)}, content_type="multipart/form-data")

    def apply(self, batch, client=None):
        client = client or self.admin
        etag = client.get(f"/api/v1/imports/{batch['id']}").headers["ETag"]
        return client.post(f"/api/v1/imports/{batch['id']}/apply", headers={"If-Match": etag})


def _region(session, code):
    return session.scalars(sa.select(Region).where(Region.code == code)).one()


@pytest.fixture
def city(make_tenant, make_user, api, db):
    tenant = make_tenant("yichang")
    with db() as session, tenancy.tenant_scope(tenant):
        regions.load_city(session, "420500")
        root = organizations.create(session, name="宜昌市总工会", kind="city_federation", region=_region(session, "420500"))
        yiling = organizations.create(session, name="夷陵区总工会", kind="county_federation", parent=root,
                                      region=_region(session, "420506"))
        organizations.create(session, name="西陵区总工会", kind="county_federation", parent=root,
                             region=_region(session, "420502"))
        union = organizations.create(session, name="宜昌某某物流有限公司工会委员会", kind="grassroots_union", parent=yiling)
        reservoir = organizations.create(session, name="夷陵区职工服务中心工会委员会", kind="service_centre_committee",
                                         parent=yiling)
        code = credit_code(42000001)
        unit = units.create(session, name="宜昌某某物流有限公司", credit_code=code, organization=union)
        ids = union.id, reservoir.id, unit.id
    _admin, token = make_user(tenant, roles=["tenant_admin"])
    return City(tenant, api(tenant, token), *ids, code)


def people_of(db, tenant):
    with db() as session, tenancy.tenant_scope(tenant):
        return {p.id_number: p for p in session.scalars(sa.select(Person))}


def audit_count(db, tenant):
    with db() as session, tenancy.tenant_scope(tenant):
        return session.scalar(sa.select(sa.func.count(AuditRecord.id)))


def member(**fields):
    row = {"name": "张三", "id_number": id_number(), "organization": "宜昌某某物流有限公司工会委员会"}
    row.update(fields)
    return row


# --- preview, then apply ----------------------------------------------------------------------------------------


def test_a_roster_is_checked_first_and_written_only_when_applied(city, db):
    rows = [member(name="张三", id_number=id_number("19900101", sex="M"), phone="13907171234", education="大学本科",
                   unit="宜昌某某物流有限公司",
                   joined_on="2024-03-01"),
            member(name="李四", organization="夷陵区职工服务中心工会委员会")]

    checked = city.upload("members", xlsx("members", rows))

    assert checked.status_code == 201, checked.json
    assert checked.json["status"] == "checked"
    assert (checked.json["created"], checked.json["updated"], checked.json["unchanged"]) == (2, 0, 0)
    assert checked.json["error_count"] == 0
    assert people_of(db, city.tenant) == {}, "a check writes nothing"

    applied = city.apply(checked.json)

    assert applied.status_code == 200, applied.json
    assert applied.json["status"] == "applied"
    registered = people_of(db, city.tenant)
    assert {p.name for p in registered.values()} == {"张三", "李四"}
    zhang = registered[rows[0]["id_number"]]
    assert (zhang.phone, zhang.education, zhang.sex, str(zhang.birth_date)) == ("13907171234", "bachelor", "M", "1990-01-01")
    with db() as session, tenancy.tenant_scope(city.tenant):
        held = {m.person_id: m for m in session.scalars(sa.select(Membership))}
        assert held[zhang.id].organization_id == city.union and held[zhang.id].unit_id == city.unit
        assert str(held[zhang.id].started_on) == "2024-03-01"
        li = registered[rows[1]["id_number"]]
        assert held[li.id].parked, "a member held in a reservoir waits there, parked"
        steps = sorted(e.step for e in session.scalars(sa.select(MembershipEntry)))
        assert steps == ["joined", "joined", "parked"]
        summary = session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "import.apply")).one()
        assert summary.after["created"] == 2


def test_one_wrong_row_rejects_the_whole_file_and_names_row_and_column(city, db):
    wrong = id_number()
    wrong = wrong[:-1] + ("0" if wrong[-1] != "0" else "1")
    rows = [member(), member(name="李四", id_number=wrong), member(name="王五", organization="不存在的工会")]

    checked = city.upload("members", xlsx("members", rows)).json

    assert checked["status"] == "checked" and checked["error_rows"] == 2
    errors = {(e["row"], e["column"]) for e in checked["first_errors"]}
    assert errors == {(3, "id_number"), (4, "organization")}
    assert city.admin.get(f"/api/v1/imports/{checked['id']}/errors").json[0]["header"] == "身份证号"
    refused = city.apply(checked)
    assert refused.status_code == 409 and refused.json["code"] == "import_not_ready"
    assert people_of(db, city.tenant) == {}


def test_a_row_that_became_wrong_since_the_check_rejects_the_file_at_apply(city, db):
    taken = id_number()
    checked = city.upload("members", xlsx("members", [member(id_number=taken), member()])).json
    with db() as session, tenancy.tenant_scope(city.tenant):
        xiling = session.scalars(sa.select(organizations.Organization).where(
            organizations.Organization.name == "西陵区总工会")).one()
        other = organizations.create(session, name="西陵某某工会", kind="grassroots_union", parent=xiling)
        person = people.create(session, id_number=taken, name="张三")
        memberships.join(session, person=person, organization=other)

    applied = city.apply(checked)

    assert applied.status_code == 200 and applied.json["status"] == "rejected"
    assert applied.json["first_errors"][0]["row"] == 2
    assert len(people_of(db, city.tenant)) == 1, "nothing of the file was written"


# --- matching, blank cells, idempotency -------------------------------------------------------------------------


def test_a_blank_cell_never_overwrites_what_is_stored(city, db):
    number = id_number()
    with db() as session, tenancy.tenant_scope(city.tenant):
        person = people.create(session, id_number=number, name="张三", phone="13907171234", position="司机")
        memberships.join(session, person=person, organization=session.get(organizations.Organization, city.union))

    checked = city.upload("members", xlsx("members", [member(id_number=number, education="大学本科")])).json
    assert (checked["created"], checked["updated"]) == (0, 1)
    city.apply(checked)

    stored = people_of(db, city.tenant)[number]
    assert (stored.phone, stored.position, stored.education) == ("13907171234", "司机", "bachelor")


def test_the_same_file_uploaded_twice_changes_nothing_the_second_time(city, db):
    content = xlsx("members", [member(phone="13907171234"), member(name="李四", ethnicity="回族")])
    city.apply(city.upload("members", content).json)
    before = audit_count(db, city.tenant)

    again = city.upload("members", content).json

    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert city.apply(again).json["status"] == "applied"
    assert audit_count(db, city.tenant) == before, "no audit record for unchanged rows"
    assert len(people_of(db, city.tenant)) == 2


def test_id_numbers_as_people_type_them(city, db):
    old = "420506900101" + "123"  # an old 15-digit number
    full_width = id_number().translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    with_x = next(b + check_character(b) for b in (f"42050619900101{n:03d}" for n in range(900, 999))
                  if check_character(b) == "X")
    rows = [member(id_number=old), member(name="李四", id_number=f" {full_width} "),
            member(name="王五", id_number=with_x.lower())]

    checked = city.upload("members", xlsx("members", rows)).json
    assert checked["error_count"] == 0, checked["first_errors"]
    city.apply(checked)

    stored = people_of(db, city.tenant)
    assert "42050619900101123" + check_character("42050619900101123") in stored
    assert full_width.translate(str.maketrans("０１２３４５６７８９", "0123456789")) in stored
    assert with_x in stored


def test_a_gbk_csv_from_an_old_excel_reads_like_any_file(city, db):
    content = csv_bytes("members", [member(name="欧阳娜娜", ethnicity="土家族")], encoding="gbk")

    checked = city.upload("members", content, filename="会员.csv").json

    assert checked["status"] == "checked" and checked["created"] == 1, checked["first_errors"]
    city.apply(checked)
    assert [p.ethnicity for p in people_of(db, city.tenant).values()] == ["土家族"]


def test_the_same_person_twice_in_one_file_is_named(city):
    number = id_number()
    checked = city.upload("members", xlsx("members", [member(id_number=number), member(name="张三", id_number=number)])).json

    assert checked["first_errors"] == [{"row": 3, "column": "id_number", "header": "身份证号",
                                        "message": "与第 2 行的身份证号相同"}]


def test_a_member_of_another_union_is_not_joined_twice(city, db):
    number = id_number()
    with db() as session, tenancy.tenant_scope(city.tenant):
        person = people.create(session, id_number=number, name="张三")
        memberships.join(session, person=person, organization=session.get(organizations.Organization, city.reservoir))

    checked = city.upload("members", xlsx("members", [member(id_number=number)])).json

    assert [(e["row"], e["column"]) for e in checked["first_errors"]] == [(2, "organization")]


# --- units and organizations -------------------------------------------------------------------------------------


def test_units_match_by_credit_code_and_unknown_regions_are_named(city, db):
    new_code = credit_code(42000002)
    rows = [
        {"name": "宜昌某某物流有限公司", "credit_code": city.unit_code.lower(), "employees": "80", "industry": "G"},
        {"name": "宜昌新建材有限公司", "credit_code": new_code, "region": "小溪塔街道", "industry": "制造业",
         "economic_type": "私营有限责任公司", "has_union": "否"},
        {"name": "宜昌无名公司", "region": "火星区"},
    ]
    checked = city.upload("units", xlsx("units", rows)).json
    assert (checked["created"], checked["updated"]) == (1, 1)
    assert [(e["row"], e["column"]) for e in checked["first_errors"]] == [(4, "region")]

    fixed = city.upload("units", xlsx("units", rows[:2])).json
    assert city.apply(fixed).json["status"] == "applied"
    with db() as session, tenancy.tenant_scope(city.tenant):
        found = {u.credit_code: u for u in session.scalars(sa.select(Unit))}
    assert len(found) == 2, "matched by its credit code, never duplicated"
    assert (found[city.unit_code].employees, found[city.unit_code].industry) == (80, "G")
    assert found[city.unit_code].organization_id == city.union, "a blank cell keeps the covering union"
    assert (found[new_code].industry, found[new_code].economic_type) == ("C", "173")
    again = city.upload("units", xlsx("units", rows[:2])).json
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)


def test_organizations_come_in_any_order_parents_first_when_applied(city, db):
    rows = [
        {"name": "宜昌某某建材有限公司工会委员会", "kind": "基层工会", "parent": "小溪塔街道总工会"},
        {"name": "小溪塔街道总工会", "kind": "乡镇（街道）总工会", "parent": "夷陵区总工会", "region": "小溪塔街道",
         "term_ends_on": "2029/6/30"},
    ]
    checked = city.upload("organizations", xlsx("organizations", rows)).json
    assert checked["created"] == 2 and checked["error_count"] == 0, checked["first_errors"]
    assert city.apply(checked).json["status"] == "applied"
    with db() as session, tenancy.tenant_scope(city.tenant):
        street = session.scalars(sa.select(organizations.Organization).where(
            organizations.Organization.name == "小溪塔街道总工会")).one()
        assert str(street.term_ends_on) == "2029-06-30"
    again = city.upload("organizations", xlsx("organizations", rows)).json
    assert again["unchanged"] == 2


# --- scope -------------------------------------------------------------------------------------------------------


def test_a_county_admin_imports_only_into_their_county_and_others_do_not_see_the_batch(city, make_user, api, db):
    with db() as session, tenancy.tenant_scope(city.tenant):
        yiling = session.scalars(sa.select(organizations.Organization).where(
            organizations.Organization.name == "夷陵区总工会")).one().id
        xiling = session.scalars(sa.select(organizations.Organization).where(
            organizations.Organization.name == "西陵区总工会")).one().id
    clients = {}
    for name, organization_id in (("yiling", yiling), ("xiling", xiling)):
        user, token = make_user(city.tenant)
        with db() as session, tenancy.tenant_scope(city.tenant):
            session.add(RoleGrant(user_id=user.id, role="federation_admin", organization_id=organization_id))
        clients[name] = api(city.tenant, token)
    elsewhere = {"name": "西陵某某工会", "kind": "基层工会", "parent": "西陵区总工会"}

    checked = city.upload("organizations", xlsx("organizations", [elsewhere]), client=clients["yiling"]).json

    assert [(e["row"], e["column"]) for e in checked["first_errors"]] == [(2, "parent")]
    assert clients["xiling"].get(f"/api/v1/imports/{checked['id']}").status_code == 404
    assert clients["yiling"].get(f"/api/v1/imports/{checked['id']}").status_code == 200
    assert [b["id"] for b in clients["xiling"].get("/api/v1/imports").json] == []


# --- hostile files -----------------------------------------------------------------------------------------------


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (300 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize("content, filename", [
    (b"this is not a spreadsheet", "名单.xlsx"),
    (b"%PDF-1.4 not a sheet at all", "名单.pdf"),
    (b"", "名单.csv"),
    ("姓名,电话\r\n张三,1\r\n".encode(), "缺列.csv"),
    (None, "bomb.xlsx"),
])
def test_hostile_files_get_a_clear_error_never_a_500(city, db, content, filename):
    content = _zip_bomb() if content is None else content

    response = city.upload("members", content, filename=filename)

    assert response.status_code < 500
    if response.status_code == 201:
        assert response.json["status"] == "rejected" and response.json["message"], response.json
    else:
        assert response.status_code == 422 and response.json["message"]
    assert people_of(db, city.tenant) == {}


def test_a_formula_cell_is_named_not_imported(city):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([c.header for c in columns.MEMBERS])
    sheet.append(["张三", "=A1", "", "", "", "", "", "", "", "", "", "宜昌某某物流有限公司工会委员会"])
    out = io.BytesIO()
    book.save(out)

    checked = city.upload("members", out.getvalue()).json

    assert [(e["row"], e["column"]) for e in checked["first_errors"]] == [(2, "id_number")]


# --- big files ----------------------------------------------------------------------------------------------------


def test_a_big_file_is_checked_and_applied_by_a_job_with_progress_in_the_api(city, jobs, db):
    rows = [member(name=f"职工{n}", remarks="备注" * 40) for n in range(2500)]
    content = csv_bytes("members", rows)
    assert len(content) > 512 * 1024

    upload = city.upload("members", content, filename="big.csv")
    assert upload.status_code == 202 and upload.json["status"] == "checking"
    jobs.drain()
    checked = city.admin.get(f"/api/v1/imports/{upload.json['id']}").json
    assert checked["status"] == "checked", checked
    assert (checked["created"], checked["processed_rows"], checked["total_rows"]) == (2500, 2500, 2500)

    applying = city.apply(checked)
    assert applying.status_code == 202 and applying.json["status"] == "applying"
    jobs.drain()
    assert city.admin.get(f"/api/v1/imports/{upload.json['id']}").json["status"] == "applied"
    assert len(people_of(db, city.tenant)) == 2500


def test_the_template_has_the_headers_and_the_dropdowns(city):
    response = city.admin.get("/api/v1/imports/template/members")

    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert [c.value for c in sheet[1]][:2] == ["姓名*", "身份证号*"]
    assert sheet.data_validations.dataValidation, "coded fields have dropdowns"


def test_the_command_line_checks_a_file_and_applies_it_with_apply(city, app, db, tmp_path):
    from core.registry.exports import export_command
    from core.registry.imports import import_command

    roster = tmp_path / "名单.csv"
    roster.write_bytes(csv_bytes("members", [member(name="赵六")], encoding="gbk"))
    runner = app.test_cli_runner()

    checked = runner.invoke(import_command, ["members", str(roster), "--tenant", "yichang"])
    assert checked.exit_code == 0 and "1 created" in checked.output and people_of(db, city.tenant) == {}
    applied = runner.invoke(import_command, ["members", str(roster), "--tenant", "yichang", "--apply"])
    assert "applied" in applied.output and [p.name for p in people_of(db, city.tenant).values()] == ["赵六"]

    exported = runner.invoke(export_command, ["members", "--tenant", "yichang", "--output", str(tmp_path / "m.xlsx")])
    assert exported.exit_code == 0, exported.output
    sheet = openpyxl.load_workbook(tmp_path / "m.xlsx").active
    assert sheet.cell(2, 1).value == "赵六"


# --- new members written in bulk; the checked rows kept for the apply ----------------------------------------------


def _checked(session, tenant, content: bytes, filename="名单.csv"):
    """A members file stored and checked as the command line does it; the batch."""
    stored, size = imports.store(imports.data_dir(), tenant.id, filename, io.BytesIO(content))
    batch = imports.new_batch(session, kind="members", filename=filename, stored_path=stored, size=size,
                              user="cli", scope=imports.Scope(("/",)))
    assert imports.check(session, batch, imports.data_dir()).ok
    return batch


def _import(db, tenant, content: bytes) -> int:
    """Store, check and apply a members file (actor "cli"); the batch's id."""
    with db() as session, tenancy.tenant_scope(tenant):
        batch = _checked(session, tenant, content)
        report = imports.apply(session, batch, imports.data_dir(), actor="cli")
        assert report.ok and batch.status == "applied", report.errors
        return batch.id


def _stored(db, tenant, number: str) -> tuple[dict, dict, list[dict]]:
    """A person's row, their membership's and their ledger's as stored, without what differs between any two
    people (ids, keys, times, ciphertexts)."""
    with db() as session, tenancy.tenant_scope(tenant):
        person = people.find_by_id_number(session, number)
        held = session.scalars(sa.select(Membership).where(Membership.person_id == person.id)).one()
        entries = session.scalars(sa.select(MembershipEntry).where(MembershipEntry.person_id == person.id)
                                  .order_by(MembershipEntry.id)).all()

        def plain(row, *skip):
            return {c.key: getattr(row, c.key) for c in sa.inspect(type(row)).column_attrs
                    if c.key not in ("id", "person_id", "membership_id", "created_at", "updated_at", "at", *skip)}

        return (plain(person, "id_number", "id_number_index", "phone_index") | {"id_number": person.id_number},
                plain(held), [plain(entry, "note") for entry in entries])


@pytest.mark.parametrize("organization", ["宜昌某某物流有限公司工会委员会", "夷陵区职工服务中心工会委员会"])
def test_a_member_written_in_bulk_is_stored_as_the_registry_functions_store_one(city, db, organization):
    # On PostgreSQL the bulk path writes by COPY, on SQLite by executemany: either way, the same rows as
    # people.create and memberships.join write.
    fields = {"phone": "13907171234", "ethnicity": "回族", "education": "大学本科", "political_status": "群众",
              "household_type": "农村", "employment_form": "外卖送餐员", "position": "骑手", "remarks": "夜班"}
    by_hand, by_file = id_number("19900101"), id_number("19900101")
    while int(by_file[16]) % 2 != int(by_hand[16]) % 2:  # the same sex, derived from the ID number
        by_file = id_number("19900101")
    with db() as session, tenancy.tenant_scope(city.tenant):
        holder = session.scalars(sa.select(organizations.Organization).where(
            organizations.Organization.name == organization)).one()
        person = people.create(session, id_number=by_hand, name="张三", phone=fields["phone"], ethnicity="回族",
                               education="bachelor", political_status="群众", household_type="rural",
                               employment_form="delivery_rider", position="骑手", remarks="夜班", actor="cli")
        memberships.join(session, person=person, organization=holder, unit=session.get(Unit, city.unit),
                         on=dt.date(2024, 3, 1), parked=holder.kind in RESERVOIR_KINDS, actor="cli")

    batch_id = _import(db, city.tenant, csv_bytes("members", [member(
        name="张三", id_number=by_file, organization=organization, unit="宜昌某某物流有限公司",
        joined_on="2024-03-01", **fields)]))

    person, held, ledger = _stored(db, city.tenant, by_file)
    expected_person, expected_held, expected_ledger = _stored(db, city.tenant, by_hand)
    assert person.pop("id_number") == by_file, "the ID number decrypts, and its blind index finds the person"
    expected_person.pop("id_number")
    assert person == expected_person
    assert held == expected_held
    assert ledger == expected_ledger
    with db() as session, tenancy.tenant_scope(city.tenant):
        notes = session.scalars(sa.select(MembershipEntry.note).join(Person, Person.id == MembershipEntry.person_id)
                                .where(Person.id_number_index == people.id_number_index(by_file))).all()
        assert set(notes) == {f"导入 #{batch_id}"}, "the ledger names the import"


def test_the_apply_writes_what_the_check_saw_and_keeps_no_id_number_in_clear(city, db):
    rows = [member(name="张三", phone="13907171234"), member(name="李四")]
    with db() as session, tenancy.tenant_scope(city.tenant):
        batch = _checked(session, city.tenant, csv_bytes("members", rows))
        spool = imports.spool_path(imports.data_dir(), batch)
        kept = spool.read_text(encoding="utf-8")
        assert "张三" in kept and rows[0]["id_number"] not in kept and "13907171234" not in kept
        # The upload changes on disk after the check: the apply writes the rows that were checked and previewed.
        (imports.data_dir() / batch.stored_path).write_bytes(csv_bytes("members", [member(name="王五")]))

        imports.apply(session, batch, imports.data_dir(), actor="cli")

        assert batch.status == "applied" and not spool.exists()
    assert {p.name for p in people_of(db, city.tenant).values()} == {"张三", "李四"}


def test_an_apply_without_the_checked_rows_reads_the_file_again(city, db):
    rows = [member(name="张三"), member(name="李四")]
    with db() as session, tenancy.tenant_scope(city.tenant):
        batch = _checked(session, city.tenant, csv_bytes("members", rows))
        imports.spool_path(imports.data_dir(), batch).unlink()  # e.g. an earlier apply of it broke off

        assert imports.apply(session, batch, imports.data_dir(), actor="cli").created == 2
    assert {p.name for p in people_of(db, city.tenant).values()} == {"张三", "李四"}


def test_an_organization_renamed_since_the_check_rejects_the_file_at_apply(city, db):
    checked = city.upload("members", xlsx("members", [member(), member(organization="夷陵区职工服务中心工会委员会")])).json
    with db() as session, tenancy.tenant_scope(city.tenant):
        organizations.update(session, session.get(organizations.Organization, city.reservoir),
                             {"name": "夷陵区职工服务中心工会"})

    applied = city.apply(checked)

    assert applied.json["status"] == "rejected"
    assert [(e["row"], e["column"]) for e in applied.json["first_errors"]] == [(3, "organization")]
    assert people_of(db, city.tenant) == {}, "nothing of the file was written"


def test_a_roster_of_known_and_new_people_joins_them_all_in_one_apply(city, db):
    known = id_number()
    with db() as session, tenancy.tenant_scope(city.tenant):
        people.create(session, id_number=known, name="张三")  # registered, not yet a member
    rows = [member(name="李四"), member(id_number=known, phone="13907171234"), member(name="王五")]

    checked = city.upload("members", csv_bytes("members", rows), filename="名单.csv").json
    assert (checked["created"], checked["updated"]) == (2, 1)
    assert city.apply(checked).json["status"] == "applied"

    with db() as session, tenancy.tenant_scope(city.tenant):
        held = session.execute(sa.select(Person.name, Membership.organization_id).join(
            Membership, Membership.person_id == Person.id)).all()
        assert sorted(held) == sorted((name, city.union) for name in ("张三", "李四", "王五"))
        assert people.find_by_id_number(session, known).phone == "13907171234"


# --- plugins hear of every member an import joins -----------------------------------------------------------------


class _Heard:
    """A plugin that writes down each join it is told of in one tenant, and whether the membership was there to
    read when it was told (the event comes inside the transaction, after the write)."""

    def __init__(self, tenant_id: int):
        self.tenant_id, self.joins = tenant_id, []

    @hookimpl
    def on_event(self, tenant, session, event):
        if tenant.id == self.tenant_id and isinstance(event, MembershipStarted):
            held = session.get(Membership, event.membership_id)
            readable = held is not None and (held.person_id, held.organization_id) == (
                event.person_id, event.organization_id)
            self.joins.append((event.person_id, event.membership_id, event.organization_id, readable))


@pytest.fixture
def heard(app, city):
    plugins = app.extensions["gonghui"].plugins.pm
    recorder = _Heard(city.tenant.id)
    plugins.register(recorder, name="test_imports.heard")
    yield recorder
    plugins.unregister(recorder)


def test_plugins_hear_of_every_member_an_import_joins_once_and_of_none_when_the_file_comes_again(
        city, db, heard, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_ROWS", 2)  # several batches of new people
    known = id_number()
    with db() as session, tenancy.tenant_scope(city.tenant):
        people.create(session, id_number=known, name="张三")  # registered, not yet a member
    rows = [member(name="李四"), member(id_number=known), member(name="王五"),
            member(name="赵六", organization="夷陵区职工服务中心工会委员会"), member(name="钱七"), member(name="孙八")]
    content = csv_bytes("members", rows)

    assert city.apply(city.upload("members", content, filename="名单.csv").json).json["status"] == "applied"

    with db() as session, tenancy.tenant_scope(city.tenant):
        joined = set(session.execute(sa.select(Membership.person_id, Membership.id, Membership.organization_id)))
    assert len(joined) == len(rows)
    assert sorted(heard.joins) == sorted((*j, True) for j in joined), "each join heard once, its rows readable"

    again = city.upload("members", content, filename="名单.csv").json
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, len(rows))
    assert city.apply(again).json["status"] == "applied"
    assert len(heard.joins) == len(rows), "the same file again joins no one, and tells no one"


# --- the files of finished imports are removed after a while -------------------------------------------------------


def _files(batch) -> list[str]:
    """What is on disk for ``batch``: its upload, its checked rows (and their unfinished ``.part``)."""
    upload = imports.data_dir() / batch.stored_path
    return sorted(p.name.removeprefix(upload.name) or "upload" for p in upload.parent.glob(upload.name + "*"))


def test_the_files_of_finished_imports_are_removed_after_the_days_kept_and_the_batches_stay(city, app, db, jobs):
    kept = app.extensions["gonghui"].settings.import_files_kept_days
    old_id = _import(db, city.tenant, csv_bytes("members", [member(name="张三")]))
    recent_id = _import(db, city.tenant, csv_bytes("members", [member(name="李四")]))
    with db() as session, tenancy.tenant_scope(city.tenant):
        waiting = _checked(session, city.tenant, csv_bytes("members", [member(name="王五")]))  # not applied yet
        broken = _checked(session, city.tenant, csv_bytes("members", [member(name="赵六")]))
        broken.status = "failed"  # the worker died in the apply: its checked rows stayed on disk
        spool = imports.spool_path(imports.data_dir(), broken)
        spool.with_name(spool.name + ".part").write_text("a check that broke off")
        assert _files(broken) == [".checked.jsonl", ".checked.jsonl.part", "upload"]
        assert _files(session.get(ImportBatch, old_id)) == ["upload"], "the apply removed the checked rows"
        session.flush()
        session.execute(sa.update(ImportBatch).where(ImportBatch.id.in_([old_id, waiting.id, broken.id]))
                        .values(updated_at=utcnow() - dt.timedelta(days=kept, hours=1)))
        ids = {"old": old_id, "recent": recent_id, "waiting": waiting.id, "broken": broken.id}

    sent = scheduler_for(app).tick(now=1000.0)
    jobs.drain()

    assert ("core.expire_import_files", city.tenant.id) in sent
    with db() as session, tenancy.tenant_scope(city.tenant):
        left = {name: _files(session.get(ImportBatch, batch_id)) for name, batch_id in ids.items()}
    assert left == {"old": [], "broken": [], "recent": ["upload"], "waiting": [".checked.jsonl", "upload"]}, \
        "finished over the days kept: gone; recent, or still to be applied: kept"
    assert city.admin.get(f"/api/v1/imports/{old_id}").json["created"] == 1, "the batch stays, with its counts"
    assert city.apply(city.admin.get(f"/api/v1/imports/{ids['waiting']}").json).json["status"] == "applied"
