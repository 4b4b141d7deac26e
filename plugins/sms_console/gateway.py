"""A gateway that sends nothing: it logs each message (phone masked) and keeps it in ``sms_console_message``.

It behaves like a provider that honours the client reference: a message it already holds is acknowledged
again with the same reference and not recorded twice. It keeps its record in its own transaction, as a real
provider's record is independent of whether the delivery job later manages to mark the message sent.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa

from core.toolkit import SmsMessage, SmsResult, mask_phone, unit_of_work
from plugins.sms_console.models import ConsoleMessage

log = logging.getLogger(__name__)


class ConsoleGateway:
    def send(self, message: SmsMessage) -> SmsResult:
        with unit_of_work() as session:
            row = session.scalar(sa.select(ConsoleMessage).where(ConsoleMessage.client_ref == message.client_ref))
            if row is None:
                row = ConsoleMessage(phone=message.phone, text=message.text, client_ref=message.client_ref)
                session.add(row)
                session.flush()
                log.info("SMS to %s (ref %s): %s", mask_phone(message.phone), message.client_ref, message.text)
        return SmsResult(accepted=True, provider_ref=f"console-{row.id}")
