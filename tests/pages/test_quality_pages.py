"""The data-quality report on the staff pages: counts of the caller's subtree, each list, its export."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from core import id_numbers, tenancy
from core.models.organization import Organization
from core.registry import memberships, organizations, people
from tests.core.test_auth_kit import Browser

pytestmark = pytest.mark.plugins("sms_console")


def id_number(n: int) -> str:
    first17 = f"42050619910303{101 + 2 * n:03d}"
    return first17 + id_numbers.check_character(first17)


@pytest.fixture
def members_without_phone(cities, db):
    """Two members of 王主席's union without a phone, and one of another union."""
    with db() as session, tenancy.tenant_scope(cities.yichang):
        union = session.scalar(sa.select(Organization).where(Organization.kind == "grassroots_union"))
        other = organizations.create(session, name="宜昌某某超市有限公司工会委员会", kind="grassroots_union",
                                     parent=session.get(Organization, union.parent_id))
        for n, (name, organization) in enumerate([("孙一", union), ("孙二", union), ("周三", other)]):
            person = people.create(session, id_number=id_number(n), name=name, actor="test")
            memberships.join(session, person=person, organization=organization, actor="test")


def test_a_chairman_sees_the_counts_and_the_list_of_their_own_union_only(app, cities, members_without_phone):
    browser = Browser(app, cities.yichang)
    browser.sign_in("wang")

    report = browser.get("/quality").text
    row = re.search(r'data-check="members_without_phone">(.*?)</tr>', report, re.S).group(1)
    assert re.search(r'class="number">2<', row)

    listed = browser.get("/quality/members_without_phone").text
    assert "孙一" in listed and "孙二" in listed and "周三" not in listed
    assert "420506********" in listed and id_number(0) not in listed
    assert "/api/v1/quality/members_without_phone.xlsx" in listed


def test_an_unknown_check_is_not_found_and_a_visitor_is_sent_to_sign_in(app, cities):
    assert Browser(app, cities.yichang).get("/quality").status_code == 303
    browser = Browser(app, cities.yichang)
    browser.sign_in("wang")
    assert browser.get("/quality/no_such_check").status_code == 404
