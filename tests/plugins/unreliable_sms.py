"""A plugin only tests use: an SMS gateway in front of a provider that can be down or refuse a number.

It stands for the outside world, the one part of delivery a test may not reach for real.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core.toolkit import PluginMeta, SmsMessage, SmsResult, hookimpl

meta = PluginMeta(name="unreliable_sms", label="测试短信通道", version="1.0.0", kind="integration")


@dataclass
class Provider:
    #: While down, every call fails as a broken connection would.
    down: bool = False
    #: Numbers the provider refuses for good (an empty number, 空号).
    refused: dict[str, str] = field(default_factory=lambda: {"13800000000": "空号"})
    #: Every message the provider accepted, in order, retries included.
    accepted: list[SmsMessage] = field(default_factory=list)

    def send(self, message: SmsMessage) -> SmsResult:
        if self.down:
            raise ConnectionError("the SMS provider does not answer")
        if message.phone in self.refused:
            return SmsResult(accepted=False, permanent=True, error=self.refused[message.phone])
        self.accepted.append(message)
        return SmsResult(accepted=True, provider_ref=f"p-{len(self.accepted)}")


provider = Provider()


@hookimpl
def sms_gateway(tenant):
    return provider
