"""The transactional outbox: outside effects (a text message, a card request) written with the change that
causes them, and delivered by a job once that change has committed.

- ``enqueue`` adds an ``OutboxMessage`` in the caller's transaction, once per ``(tenant, dedupe_key)``. If the
  transaction rolls back, the row is gone and nothing is sent.
- When the transaction commits, ``core.deliver_outbox`` is sent for the row. If the broker is down at that
  moment, the commit still stands and the sweep delivers the row later.
- The delivery job claims the row with one conditional UPDATE, commits the claim, calls the gateway with the
  outbox id as client reference, and records the outcome. A second job for the same row finds it claimed or
  done and does nothing, so a message is handed to the gateway once; a worker that dies between the gateway
  call and the record leaves a claim that the sweep takes over after ``outbox_claim_timeout``, and the
  gateway drops the repeat by its client reference.
- Once a message is sent, failed for good or skipped, its payload keeps only what operators need (``redactors``:
  for a text message the template and the masked phone; the text, which may hold a sign-in code, is cleared).
- ``core.sweep_outbox`` runs every minute per tenant and re-sends what is due: rows whose job was lost (Redis
  restarted), retries after a backoff, stale claims.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.db import insert_or_skip, utcnow
from core.integrations import SmsMessage
from core.jobs import actor
from core.masking import mask_phone
from core.models.outbox import OutboxMessage
from core.models.tenant import Tenant
from core.tenancy import NoTenantInScope, current_tenant

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"

#: Transport failures before a message is given up as failed (about two and a half hours of retries).
MAX_ATTEMPTS = 10
#: First retry delay after a transport failure; it doubles per attempt up to ``MAX_BACKOFF``. It stays below
#: dramatiq's own retry delay after attempt n (15 s * 2**(n-1), up to twice that), so dramatiq's retry finds the
#: message due.
FIRST_BACKOFF = dt.timedelta(seconds=10)
MAX_BACKOFF = dt.timedelta(hours=1)
#: How long a message without a usable gateway waits before it is tried again: one sweep period.
WAIT_FOR_GATEWAY = dt.timedelta(seconds=60)
#: Most rows one sweep re-sends for a tenant; the rest go in the next minute.
SWEEP_BATCH = 500

NO_SMS_GATEWAY = "no SMS gateway enabled"

_TO_SEND = "gonghui.outbox.to_send"


class DeliveryRefused(RuntimeError):
    """The gateway did not accept a message for a reason that may pass: the message is retried."""


@dataclass(frozen=True)
class Outcome:
    """What a deliverer reports: ``sent``, ``failed`` (permanently), or ``pending`` (wait and try again)."""

    status: str
    provider_ref: str = ""
    error: str = ""


# --- writing ---------------------------------------------------------------------------------------------------


def enqueue(
    session: Session, *, kind: str, dedupe_key: str, payload: dict, plugin: str = "core",
    available_at: dt.datetime | None = None,
) -> OutboxMessage:
    """Add an outside effect to the current transaction; once per ``dedupe_key`` in the current tenant.

    Enqueueing a key that exists returns the existing row unchanged. Do not commit: the request or job that
    owns ``session`` does, and only then is the delivery job sent. ``available_at`` (naive UTC) delays it.
    """
    values = dict(kind=kind, plugin=plugin, dedupe_key=dedupe_key, payload=payload, status=PENDING, attempts=0,
                  available_at=available_at or utcnow())
    tenant = current_tenant()
    if tenant is None:  # the platform's own messages: no unique key to lean on (NULL tenant), so look first
        message = _by_key(session, dedupe_key)
        if message is not None:
            return message
        message = OutboxMessage(**values)
        session.add(message)
        session.flush()
    else:
        # One statement: a second transaction queueing the same key waits for the first to commit, then inserts
        # nothing and finds its row. Autoflushes the caller's changes first: an error here is this row's.
        message = session.scalars(
            insert_or_skip(OutboxMessage, session.get_bind().dialect.name).values(tenant_id=tenant.id, **values)
            .on_conflict_do_nothing(index_elements=["tenant_id", "dedupe_key"])
            .returning(OutboxMessage)
        ).first()
        if message is None:
            return _by_key(session, dedupe_key)
    _send_after_commit(session, message)
    return message


def send_sms(
    session: Session, *, phone: str, text: str, dedupe_key: str, plugin: str = "core", template: str = "",
    params: dict | None = None,
) -> OutboxMessage:
    """Queue a text message to ``phone`` in the current transaction (see ``enqueue``)."""
    payload = {"phone": phone.strip(), "text": text, "template": template, "params": dict(params or {})}
    return enqueue(session, kind="sms", dedupe_key=dedupe_key, payload=payload, plugin=plugin)


def _by_key(session: Session, dedupe_key: str) -> OutboxMessage | None:
    return session.scalar(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))


def _send_after_commit(session: Session, message: OutboxMessage) -> None:
    if _TO_SEND not in session.info:
        session.info[_TO_SEND] = []
        event.listen(session, "after_commit", _on_commit)
        event.listen(session, "after_transaction_end", _on_transaction_end)
    session.info[_TO_SEND].append((message.tenant_id, message.id, message.available_at))


def _on_commit(session: Session) -> None:
    to_send, session.info[_TO_SEND] = session.info[_TO_SEND], []
    now = utcnow()
    for tenant_id, outbox_id, available_at in to_send:
        if available_at > now:
            continue  # a message for later: the sweep sends it when it is due
        try:
            deliver_outbox.send(tenant=tenant_id, outbox_id=outbox_id)
        except Exception:  # whatever the broker raises: the row is committed, and the sweep will find it
            log.warning("outbox %s: could not queue its delivery; the sweep will send it", outbox_id, exc_info=True)


def _on_transaction_end(session: Session, transaction) -> None:
    # The outermost transaction ended without a commit (a commit has emptied the list already): the rows it
    # wrote are gone. Savepoints (``transaction.parent`` set) do not end the unit of work.
    if transaction.parent is None:
        session.info[_TO_SEND] = []


# --- delivering ------------------------------------------------------------------------------------------------


def _deliver_sms(session: Session, tenant: Tenant, message: OutboxMessage) -> Outcome:
    gateway = current_app.extensions["gonghui"].plugins.tenant_hooks(session, tenant).sms_gateway(tenant=tenant)
    if gateway is None:
        return Outcome(PENDING, error=NO_SMS_GATEWAY)
    payload = message.payload
    result = gateway.send(
        SmsMessage(
            phone=payload["phone"], text=payload["text"], client_ref=str(message.id),
            template=payload.get("template", ""), params=payload.get("params") or {},
        )
    )
    if result.accepted:
        return Outcome(SENT, provider_ref=result.provider_ref)
    if result.permanent:
        return Outcome(FAILED, error=result.error or "refused by the gateway")
    raise DeliveryRefused(result.error or "the gateway did not accept the message")


#: The delivery function of each kind of message. It returns an ``Outcome`` and raises for failures worth a
#: retry. The card-issuer work adds "card".
deliverers: dict[str, Callable[[Session, Tenant, OutboxMessage], Outcome]] = {"sms": _deliver_sms}


def _redact_sms(payload: dict) -> dict:
    """What operators need of a text message once it is done: the template and the phone, masked. The text and
    the template's parameters go: they may hold a sign-in code or someone's name."""
    return {"phone": mask_phone(payload.get("phone")), "template": payload.get("template", ""), "redacted": True}


#: How a finished message of each kind keeps its payload: only what operators need (the personal data it carried
#: served the delivery and is cleared after it). A kind with none keeps its payload whole; the card-issuer work
#: adds "card".
redactors: dict[str, Callable[[dict], dict]] = {"sms": _redact_sms}


def _describe(message: OutboxMessage) -> str:
    """How a log line names a message: never the phone in clear."""
    phone = message.payload.get("phone") if isinstance(message.payload, dict) else None
    to = f" to {mask_phone(phone)}" if phone else ""
    return f"outbox {message.id} ({message.kind}{to}, tenant {message.tenant_id})"


def _claim(session: Session, outbox_id: int, now: dt.datetime) -> bool:
    stale = now - dt.timedelta(seconds=current_app.extensions["gonghui"].settings.outbox_claim_timeout)
    result = session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == outbox_id,
            OutboxMessage.available_at <= now,
            sa.or_(
                OutboxMessage.status == PENDING,
                sa.and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_at < stale),
            ),
        )
        .values(status=SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _finish(message: OutboxMessage, status: str, *, provider_ref: str = "", error: str = "") -> None:
    """A final status (sent, failed or skipped): nothing will deliver the message again, so its personal data goes."""
    redact = redactors.get(message.kind)
    if redact is not None and isinstance(message.payload, dict) and not message.payload.get("redacted"):
        message.payload = redact(message.payload)
    message.status = status
    message.done_at = utcnow()
    message.provider_ref = provider_ref or None
    message.last_error = error or None


def _backoff(attempts: int) -> dt.timedelta:
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def deliver(session: Session, tenant: Tenant, outbox_id: int) -> str | None:
    """Deliver one message if it is due and nobody else holds it; return its new status, or None if not claimed.

    Commits on ``session`` twice: the claim before the gateway is called (so a second worker sees it), and
    a transport failure before it is re-raised (so the backoff survives the job's rollback).
    """
    if not _claim(session, outbox_id, utcnow()):
        return None
    session.commit()
    message = session.get(OutboxMessage, outbox_id, populate_existing=True)
    if message.plugin != "core" and message.plugin not in current_app.extensions["gonghui"].plugins.enabled(
        session, tenant
    ):
        log.info("%s skipped: %s is not enabled for this tenant", _describe(message), message.plugin)
        _finish(message, SKIPPED, error=f"{message.plugin} is not enabled for this tenant")
        return message.status
    deliverer = deliverers.get(message.kind)
    if deliverer is None:
        log.error("%s failed: no deliverer for this kind", _describe(message))
        _finish(message, FAILED, error=f"no deliverer for kind {message.kind!r}")
        return message.status
    try:
        outcome = deliverer(session, tenant, message)
    except Exception as exc:
        if _retry_later(session, outbox_id, exc):
            raise  # dramatiq retries it; the sweep does too if dramatiq gives up first
        return FAILED
    if outcome.status == PENDING:
        _wait(message, outcome.error)
    else:
        level = logging.INFO if outcome.status == SENT else logging.WARNING
        log.log(level, "%s %s: %s", _describe(message), outcome.status, outcome.error or outcome.provider_ref)
        _finish(message, outcome.status, provider_ref=outcome.provider_ref, error=outcome.error)
    return message.status


def _wait(message: OutboxMessage, reason: str) -> None:
    """Put a message back without counting an attempt: nothing was tried, so nothing should give up."""
    log.warning("%s waits: %s; it is tried again every minute", _describe(message), reason)
    message.status = PENDING
    message.attempts -= 1
    message.available_at = utcnow() + WAIT_FOR_GATEWAY
    message.last_error = reason


def _retry_later(session: Session, outbox_id: int, exc: Exception) -> bool:
    """Record a failed attempt; False when it was the last one and the message is now failed."""
    # The deliverer may have left the session unusable; start clean, record the failure and commit it, because
    # the exception re-raised afterwards rolls the job's unit of work back.
    session.rollback()
    message = session.get(OutboxMessage, outbox_id, populate_existing=True)
    error = f"{type(exc).__name__}: {exc}"[:1000]
    if message.attempts >= MAX_ATTEMPTS:
        log.error("%s failed after %d attempts: %s", _describe(message), message.attempts, error)
        _finish(message, FAILED, error=error)
        session.commit()
        return False
    log.warning("%s attempt %d failed, retried later: %s", _describe(message), message.attempts, error)
    message.status = PENDING
    message.available_at = utcnow() + _backoff(message.attempts)
    message.last_error = error
    session.commit()
    return True


def sweep(session: Session, tenant: Tenant) -> list[int]:
    """Send a delivery job for every message of ``tenant`` that is due or held by a claim gone stale."""
    now = utcnow()
    stale = now - dt.timedelta(seconds=current_app.extensions["gonghui"].settings.outbox_claim_timeout)
    due = session.scalars(
        sa.select(OutboxMessage.id)
        .where(
            sa.or_(
                sa.and_(OutboxMessage.status == PENDING, OutboxMessage.available_at <= now),
                sa.and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_at < stale),
            )
        )
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
        .limit(SWEEP_BATCH)
    ).all()
    for outbox_id in due:
        deliver_outbox.send(tenant=tenant, outbox_id=outbox_id)
    if due:
        log.info("outbox sweep: %d messages re-sent for tenant %s", len(due), tenant.id)
    return list(due)


# The actor's time limit stays well under the default claim timeout (300 s): a claim is taken over only when
# its worker is gone, not while a slow gateway call is still running.
@actor("core.deliver_outbox", max_retries=MAX_ATTEMPTS, time_limit_ms=60_000)
def deliver_outbox(session: Session, tenant: Tenant | None, outbox_id: int) -> None:
    if tenant is None:
        raise NoTenantInScope("core.deliver_outbox was sent without a tenant")
    deliver(session, tenant, outbox_id)


@actor("core.sweep_outbox", max_retries=0)
def sweep_outbox(session: Session, tenant: Tenant | None) -> None:
    if tenant is None:
        raise NoTenantInScope("core.sweep_outbox was sent without a tenant: it would sweep every tenant")
    sweep(session, tenant)
