"""Interfaces to outside services: SMS gateways and card issuers, and the messages they exchange.

A plugin implements one of these protocols for a real provider's protocol (and ships a simulator that speaks
it on a local socket), and returns it from the ``sms_gateway`` or ``card_issuer`` tenant hook. Core never
calls a gateway in a request: the outbox delivery job does, with the outbox id as the client reference, so a
provider that honours it never sends twice.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str
    #: The outbox id: providers use it to drop a retry of a message they already accepted.
    client_ref: str
    template: str = ""
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SmsResult:
    accepted: bool
    provider_ref: str = ""
    #: A failure that will not get better by retrying (bad number, blocked content).
    permanent: bool = False
    error: str = ""


class SmsGateway(Protocol):
    def send(self, message: SmsMessage) -> SmsResult:
        """Hand one message to the provider. Raise only for transport errors worth a retry."""


@dataclass(frozen=True)
class CardHolder:
    """What a card issuer may receive (name as on the ID, ID number, phone), with the member's consent."""

    name: str
    id_number: str
    phone: str


@dataclass(frozen=True)
class CardRequest:
    holder: CardHolder
    organization: str
    client_ref: str


@dataclass(frozen=True)
class CardResult:
    accepted: bool
    card_ref: str = ""
    permanent: bool = False
    error: str = ""


class CardIssuer(Protocol):
    def issue(self, request: CardRequest) -> CardResult:
        """Ask the issuer for a card. Raise only for transport errors worth a retry."""

    def cancel(self, card_ref: str, client_ref: str) -> CardResult:
        """Cancel a card (the member left)."""
