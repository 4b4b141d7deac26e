"""sms_console: in development and demos, text messages go to the log and to a table tenant admins can read."""
import datetime as dt
import logging

import pytest
import sqlalchemy as sa

from core import outbox, tenancy
from core.db import utcnow
from core.integrations import SmsMessage
from core.jobs import scheduler_for
from core.models.outbox import OutboxMessage
from plugins.sms_console.gateway import ConsoleGateway
from plugins.sms_console.models import ConsoleMessage

PHONE = "13800001234"
MASKED = "138****1234"
APPROVED = "您的入会申请已通过，欢迎加入工会。"


def send_sms(db, tenant, *, phone=PHONE, text=APPROVED, key="join:1:approved") -> int:
    with db() as session, tenancy.tenant_scope(tenant):
        return outbox.send_sms(session, phone=phone, text=text, dedupe_key=key).id


def console_texts_to(db, tenant, phone) -> list[str]:
    with db() as session, tenancy.tenant_scope(tenant):
        query = sa.select(ConsoleMessage.text).where(ConsoleMessage.phone == phone).order_by(ConsoleMessage.id)
        return list(session.scalars(query))


def test_a_text_message_goes_to_the_console_table_and_to_the_log_with_the_phone_masked(make_tenant, db, jobs,
                                                                                      caplog):
    caplog.set_level(logging.INFO)
    tenant = make_tenant(plugins=["sms_console"])

    outbox_id = send_sms(db, tenant)
    jobs.drain()

    assert console_texts_to(db, tenant, PHONE) == [APPROVED]
    logged = [r.getMessage() for r in caplog.records if r.name == "plugins.sms_console.gateway"]
    assert logged == [f"SMS to {MASKED} (ref {outbox_id}): {APPROVED}"]
    assert PHONE not in caplog.text


def test_the_console_records_a_message_once_however_often_it_is_handed_over(make_tenant, db):
    tenant = make_tenant(plugins=["sms_console"])
    message = SmsMessage(phone=PHONE, text=APPROVED, client_ref="42")

    with db(), tenancy.tenant_scope(tenant):
        first = ConsoleGateway().send(message)
        again = ConsoleGateway().send(message)

    assert first.accepted and again.provider_ref == first.provider_ref
    assert console_texts_to(db, tenant, PHONE) == [APPROVED]


def test_a_worker_that_died_after_the_console_took_the_message_does_not_make_it_twice(app, make_tenant, db, jobs):
    tenant = make_tenant(plugins=["sms_console"])
    with db() as session, tenancy.tenant_scope(tenant):
        message = outbox.enqueue(
            session, kind="sms", dedupe_key="reminder:1", payload={"phone": PHONE, "text": "提醒"},
            available_at=utcnow() + dt.timedelta(hours=1),
        )
    with db() as session, tenancy.tenant_scope(tenant):
        # A worker claimed it ten minutes ago, handed it to the console, and died before recording that.
        accepted = ConsoleGateway().send(SmsMessage(phone=PHONE, text="提醒", client_ref=str(message.id)))
        session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message.id)
            .values(status="sending", attempts=1, claimed_at=utcnow() - dt.timedelta(minutes=10),
                    available_at=utcnow() - dt.timedelta(minutes=10))
        )

    scheduler_for(app).tick()
    jobs.drain()

    assert console_texts_to(db, tenant, PHONE) == ["提醒"]
    with db() as session, tenancy.tenant_scope(tenant):
        done = session.get(OutboxMessage, message.id)
        assert (done.status, done.provider_ref, done.attempts) == ("sent", accepted.provider_ref, 2)


@pytest.fixture
def two_tenants_with_messages(make_tenant, db, jobs):
    yichang = make_tenant("yichang", plugins=["sms_console"])
    changzhou = make_tenant("changzhou", plugins=["sms_console"])
    for number in range(3):
        send_sms(db, yichang, phone=f"1380000{number:04d}", text=f"宜昌第{number}条", key=f"yichang:{number}")
        jobs.drain()  # one at a time: two workers would record them in either order
    send_sms(db, changzhou, phone="13900009999", text="常州的短信", key="changzhou:1")
    jobs.drain()
    return yichang, changzhou


def test_a_tenant_admin_reads_the_messages_newest_first_with_phones_masked(two_tenants_with_messages, make_user, api):
    yichang, _changzhou = two_tenants_with_messages
    _admin, token = make_user(yichang, roles=["tenant_admin"])

    response = api(yichang, token).get("/api/v1/sms_console/messages?page_size=2")

    assert response.status_code == 200
    assert [m["text"] for m in response.json] == ["宜昌第2条", "宜昌第1条"]
    assert [m["phone"] for m in response.json] == ["138****0002", "138****0001"]
    assert '"total": 3' in response.headers["X-Pagination"]
    second_page = api(yichang, token).get("/api/v1/sms_console/messages?page_size=2&page=2").json
    assert [m["text"] for m in second_page] == ["宜昌第0条"]


def test_staff_find_the_messages_sent_to_one_number(two_tenants_with_messages, make_user, api):
    yichang, _changzhou = two_tenants_with_messages
    _admin, token = make_user(yichang, roles=["tenant_admin"])

    found = api(yichang, token).get("/api/v1/sms_console/messages?phone=13800000001").json

    assert [(m["phone"], m["text"]) for m in found] == [("138****0001", "宜昌第1条")]
    assert api(yichang, token).get("/api/v1/sms_console/messages?phone=13900009999").json == [], (
        "another tenant's message is not found by its number"
    )


def test_only_those_with_the_read_permission_see_the_messages(two_tenants_with_messages, make_user, api):
    yichang, _changzhou = two_tenants_with_messages
    _member, token = make_user(yichang, roles=["member"])

    assert api(yichang, token).get("/api/v1/sms_console/messages").status_code == 403
    assert api(yichang).get("/api/v1/sms_console/messages").status_code == 401


def test_a_tenant_that_has_not_enabled_the_console_gets_404(make_tenant, make_user, api):
    tenant = make_tenant()
    _admin, token = make_user(tenant, roles=["tenant_admin"])

    assert api(tenant, token).get("/api/v1/sms_console/messages").status_code == 404
