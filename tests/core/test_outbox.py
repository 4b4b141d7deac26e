"""The outbox: a text message written with the change that causes it is sent once, after that change commits."""
import dataclasses
import datetime as dt
import logging
import threading
import time

import pytest
import sqlalchemy as sa

from core import jobs as jobs_module
from core import outbox, tenancy
from core.app import create_app
from core.db import utcnow
from core.jobs import scheduler_for
from core.models.outbox import OutboxMessage
from tests.plugins import unreliable_sms
from tests.plugins.unreliable_sms import provider
from tests.testplugin import plugin as testplugin

pytestmark = pytest.mark.plugins(unreliable_sms, testplugin)

PHONE = "13800001234"
MASKED = "138****1234"
APPROVED = "您的入会申请已通过，欢迎加入工会。"


@pytest.fixture(autouse=True)
def provider_up():
    provider.down = False
    provider.accepted.clear()
    yield provider
    provider.down = False
    provider.accepted.clear()


def texts_sent_to(phone):
    return [m.text for m in provider.accepted if m.phone == phone]


def row(db, tenant, outbox_id) -> OutboxMessage:
    with db() as session, tenancy.tenant_scope(tenant):
        return session.get(OutboxMessage, outbox_id)


def rows(db, tenant) -> list[OutboxMessage]:
    with db() as session, tenancy.tenant_scope(tenant):
        return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def send_sms(db, tenant, *, phone=PHONE, text=APPROVED, key="join:1:approved", **kwargs) -> int:
    with db() as session, tenancy.tenant_scope(tenant):
        return outbox.send_sms(session, phone=phone, text=text, dedupe_key=key, **kwargs).id


def queue_for_later(db, tenant, *, phone=PHONE, key="reminder:1") -> int:
    """A message due in an hour: no delivery job is sent when it commits."""
    with db() as session, tenancy.tenant_scope(tenant):
        message = outbox.enqueue(
            session, kind="sms", dedupe_key=key, payload={"phone": phone, "text": "提醒"},
            available_at=utcnow() + dt.timedelta(hours=1),
        )
        return message.id


def time_passes(db, tenant, outbox_id, **values) -> None:
    """Move a message's clock: it is due now, and any ``values`` (a claim, attempts) are what happened before."""
    with db() as session, tenancy.tenant_scope(tenant):
        session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(available_at=utcnow() - dt.timedelta(seconds=1), **values)
        )


def the_scheduler_runs(app) -> None:
    scheduler_for(app).tick()


def test_a_text_message_is_sent_once_the_transaction_that_wrote_it_commits(make_tenant, db, jobs, caplog):
    caplog.set_level(logging.INFO)
    tenant = make_tenant(plugins=["unreliable_sms"])

    outbox_id = send_sms(db, tenant)
    jobs.drain()

    assert texts_sent_to(PHONE) == [APPROVED]
    assert provider.accepted[0].client_ref == str(outbox_id)
    message = row(db, tenant, outbox_id)
    assert (message.status, message.provider_ref, message.attempts) == ("sent", "p-1", 1)
    assert message.done_at is not None
    assert MASKED in caplog.text and PHONE not in caplog.text, "logs show the phone masked, never in clear"


def test_once_a_text_message_is_sent_only_the_template_and_the_masked_phone_are_kept(make_tenant, db, jobs):
    tenant = make_tenant(plugins=["unreliable_sms"])

    outbox_id = send_sms(db, tenant, text="您的登录验证码是 482913，5 分钟内有效。", template="login_code",
                         params={"code": "482913"})
    jobs.drain()

    message = row(db, tenant, outbox_id)
    assert texts_sent_to(PHONE) == ["您的登录验证码是 482913，5 分钟内有效。"]
    assert message.status == "sent"
    assert message.payload == {"phone": MASKED, "template": "login_code", "redacted": True}, "no code, no phone"


def test_a_message_that_failed_for_good_keeps_no_phone_either(make_tenant, db, jobs):
    tenant = make_tenant(plugins=["unreliable_sms"])

    outbox_id = send_sms(db, tenant, phone="13800000000")  # the provider's 空号: refused for good
    jobs.drain()

    message = row(db, tenant, outbox_id)
    assert (message.status, message.payload["phone"]) == ("failed", "138****0000")
    assert "text" not in message.payload


def test_a_text_message_is_sent_once_even_when_the_delivery_job_runs_twice(make_tenant, db, jobs):
    tenant = make_tenant(plugins=["unreliable_sms"])

    outbox_id = send_sms(db, tenant)
    # dramatiq delivers at least once: the same job may arrive again, even on two workers at the same time.
    outbox.deliver_outbox.send(tenant=tenant, outbox_id=outbox_id)
    outbox.deliver_outbox.send(tenant=tenant, outbox_id=outbox_id)
    jobs.drain()
    outbox.deliver_outbox.send(tenant=tenant, outbox_id=outbox_id)
    jobs.drain()

    assert texts_sent_to(PHONE) == [APPROVED]
    assert row(db, tenant, outbox_id).attempts == 1


def test_queueing_the_same_message_twice_makes_one_message(make_tenant, db, jobs):
    tenant = make_tenant(plugins=["unreliable_sms"])

    with db() as session, tenancy.tenant_scope(tenant):
        first = outbox.send_sms(session, phone=PHONE, text=APPROVED, dedupe_key="join:1:approved")
        again = outbox.send_sms(session, phone=PHONE, text=APPROVED, dedupe_key="join:1:approved")
        assert again is first
    later = send_sms(db, tenant, key="join:1:approved")
    jobs.drain()

    assert later == first.id
    assert len(rows(db, tenant)) == 1
    assert texts_sent_to(PHONE) == [APPROVED]


def test_two_transactions_queueing_the_same_message_at_once_make_one_message(make_tenant, db, jobs):
    tenant = make_tenant(plugins=["unreliable_sms"])
    flushed, ids = threading.Event(), {}

    def second_transaction():
        flushed.wait(5)
        ids["second"] = send_sms(db, tenant, key="join:2:approved")  # waits for ours to commit, then finds it

    other = threading.Thread(target=second_transaction)
    other.start()
    with db() as session, tenancy.tenant_scope(tenant):
        ids["first"] = outbox.send_sms(session, phone=PHONE, text=APPROVED, dedupe_key="join:2:approved").id
        flushed.set()
        time.sleep(0.3)  # the second transaction reaches its INSERT and waits on ours
    other.join(15)
    jobs.drain()

    assert ids["second"] == ids["first"]
    assert texts_sent_to(PHONE) == [APPROVED]


def test_nothing_is_sent_when_the_transaction_that_wrote_it_rolls_back(make_tenant, db, jobs):
    tenant = make_tenant(plugins=["unreliable_sms"])

    with pytest.raises(LookupError):
        with db() as session, tenancy.tenant_scope(tenant):
            outbox.send_sms(session, phone=PHONE, text=APPROVED, dedupe_key="join:1:approved")
            raise LookupError("the approval failed after the message was queued")
    jobs.drain()

    assert rows(db, tenant) == []
    assert provider.accepted == []


def test_a_message_queued_before_a_step_that_was_rolled_back_to_its_savepoint_is_still_sent(make_tenant, db, jobs):
    tenant = make_tenant(plugins=["unreliable_sms"])

    with db() as session, tenancy.tenant_scope(tenant):
        outbox.send_sms(session, phone=PHONE, text=APPROVED, dedupe_key="join:1:approved")
        with pytest.raises(LookupError):
            with session.begin_nested():
                outbox.send_sms(session, phone="13900005678", text="作废", dedupe_key="join:1:other")
                raise LookupError("this step is given up, the rest of the transaction goes on")
    jobs.drain()

    assert [m.text for m in provider.accepted] == [APPROVED], "sent at once, without waiting for the sweep"
    assert [m.dedupe_key for m in rows(db, tenant)] == ["join:1:approved"]


def test_a_message_queued_while_redis_was_down_is_delivered_by_the_sweep(app, gonghui_settings, make_tenant, db,
                                                                         caplog):
    tenant = make_tenant(plugins=["unreliable_sms"])
    modules = [plugin.module for plugin in app.extensions["gonghui"].plugins.loaded.values()]
    down = create_app(dataclasses.replace(gonghui_settings, redis_url="redis://127.0.0.1:1/0"), plugins=modules)
    try:
        with down.app_context(), down.extensions["gonghui"].db.unit_of_work() as session:
            with tenancy.tenant_scope(tenant):
                outbox_id = outbox.send_sms(session, phone=PHONE, text=APPROVED, dedupe_key="join:1:approved").id
    finally:
        down.extensions["gonghui"].db.engine.dispose()

    assert "could not queue its delivery" in caplog.text, "the approval itself committed"
    assert row(db, tenant, outbox_id).status == "pending"

    jobs_module.init_app(app, app.extensions["gonghui"])  # Redis is back and the workers restart
    the_scheduler_runs(app)
    app.extensions["gonghui_jobs"].drain()

    assert texts_sent_to(PHONE) == [APPROVED]
    assert row(db, tenant, outbox_id).status == "sent"


def test_a_message_whose_worker_died_while_sending_is_delivered_by_the_sweep(app, make_tenant, db, jobs):
    tenant = make_tenant(plugins=["unreliable_sms"])
    outbox_id = queue_for_later(db, tenant)
    time_passes(db, tenant, outbox_id, status="sending", attempts=1, claimed_at=utcnow() - dt.timedelta(minutes=10))

    the_scheduler_runs(app)
    jobs.drain()

    assert texts_sent_to(PHONE) == ["提醒"]
    message = row(db, tenant, outbox_id)
    assert (message.status, message.attempts) == ("sent", 2)


def test_a_message_another_worker_is_sending_right_now_is_left_to_it(app, make_tenant, db, jobs):
    tenant = make_tenant(plugins=["unreliable_sms"])
    outbox_id = queue_for_later(db, tenant)
    time_passes(db, tenant, outbox_id, status="sending", attempts=1, claimed_at=utcnow() - dt.timedelta(seconds=5))

    the_scheduler_runs(app)
    outbox.deliver_outbox.send(tenant=tenant, outbox_id=outbox_id)
    jobs.drain()

    assert provider.accepted == []
    assert row(db, tenant, outbox_id).status == "sending"


def test_a_message_for_later_is_not_sent_before_it_is_due(app, make_tenant, db, jobs):
    tenant = make_tenant(plugins=["unreliable_sms"])

    outbox_id = queue_for_later(db, tenant)
    jobs.drain()
    the_scheduler_runs(app)
    outbox.deliver_outbox.send(tenant=tenant, outbox_id=outbox_id)
    jobs.drain()

    assert provider.accepted == []
    assert row(db, tenant, outbox_id).status == "pending"


def test_when_the_provider_is_down_the_message_is_tried_again_after_a_backoff(app, make_tenant, db, jobs):
    tenant = make_tenant(plugins=["unreliable_sms"])
    outbox_id = queue_for_later(db, tenant)
    time_passes(db, tenant, outbox_id)
    provider.down = True

    # The job itself (not through the broker, whose retry would come 15 to 30 seconds later).
    with pytest.raises(ConnectionError):
        with db() as session, tenancy.tenant_scope(tenant):
            outbox.deliver(session, tenant, outbox_id)

    message = row(db, tenant, outbox_id)
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.last_error == "ConnectionError: the SMS provider does not answer"
    assert utcnow() + dt.timedelta(seconds=5) < message.available_at < utcnow() + dt.timedelta(seconds=15)

    provider.down = False
    time_passes(db, tenant, outbox_id)
    the_scheduler_runs(app)
    jobs.drain()

    assert texts_sent_to(PHONE) == ["提醒"]
    assert (row(db, tenant, outbox_id).status, row(db, tenant, outbox_id).attempts) == ("sent", 2)


def test_a_message_the_provider_never_takes_is_marked_failed_after_the_last_attempt(make_tenant, db):
    tenant = make_tenant(plugins=["unreliable_sms"])
    outbox_id = queue_for_later(db, tenant)
    time_passes(db, tenant, outbox_id, attempts=outbox.MAX_ATTEMPTS - 1)
    provider.down = True

    with db() as session, tenancy.tenant_scope(tenant):
        assert outbox.deliver(session, tenant, outbox_id) == "failed"

    message = row(db, tenant, outbox_id)
    assert (message.status, message.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert "does not answer" in message.last_error


def test_a_number_the_provider_refuses_for_good_is_marked_failed_and_not_retried(make_tenant, db, jobs):
    tenant = make_tenant(plugins=["unreliable_sms"])

    outbox_id = send_sms(db, tenant, phone="13800000000")
    jobs.drain()

    message = row(db, tenant, outbox_id)
    assert (message.status, message.last_error, message.attempts) == ("failed", "空号", 1)


def test_a_message_of_a_plugin_the_tenant_has_since_disabled_is_skipped(app, make_tenant, db, jobs):
    tenant = make_tenant(plugins=["unreliable_sms", "testplugin"])

    with db() as session, tenancy.tenant_scope(tenant):
        outbox_id = outbox.send_sms(
            session, phone=PHONE, text="测试插件的短信", dedupe_key="testplugin:1", plugin="testplugin"
        ).id
        app.extensions["gonghui"].plugins.disable(session, tenant, "testplugin", actor="test")
    jobs.drain()

    assert provider.accepted == []
    message = row(db, tenant, outbox_id)
    assert (message.status, message.last_error) == ("skipped", "testplugin is not enabled for this tenant")


def test_a_message_waits_while_the_tenant_has_no_sms_gateway_and_goes_out_once_one_is_enabled(
    app, make_tenant, db, jobs, caplog
):
    tenant = make_tenant()

    outbox_id = send_sms(db, tenant)
    jobs.drain()

    message = row(db, tenant, outbox_id)
    assert (message.status, message.last_error, message.attempts) == ("pending", "no SMS gateway enabled", 0)
    assert "no SMS gateway enabled" in caplog.text and MASKED in caplog.text and PHONE not in caplog.text

    with db() as session, tenancy.tenant_scope(tenant):
        app.extensions["gonghui"].plugins.enable(session, tenant, "unreliable_sms", {}, actor="test")
    time_passes(db, tenant, outbox_id)  # the next minute
    the_scheduler_runs(app)
    jobs.drain()

    assert texts_sent_to(PHONE) == [APPROVED]
    assert row(db, tenant, outbox_id).status == "sent"


def test_a_delivery_job_of_another_tenant_cannot_take_this_tenants_message(make_tenant, db):
    tenant = make_tenant(plugins=["unreliable_sms"])
    other = make_tenant(plugins=["unreliable_sms"])
    outbox_id = queue_for_later(db, tenant)
    time_passes(db, tenant, outbox_id)

    with db() as session, tenancy.tenant_scope(other):
        assert outbox.deliver(session, other, outbox_id) is None

    assert provider.accepted == []
    assert row(db, tenant, outbox_id).status == "pending"


def test_the_outbox_is_swept_every_minute_for_every_active_tenant(app, make_tenant):
    first = make_tenant()
    second = make_tenant(plugins=["unreliable_sms"])

    sent = scheduler_for(app).tick(now=1000.0)

    assert sorted(t for name, t in sent if name == "core.sweep_outbox") == sorted([first.id, second.id])
    job = next(job for owner, job in scheduler_for(app).jobs if job.name == "core.sweep_outbox")
    assert job.every_seconds == 60
