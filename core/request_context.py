"""What the current request (or the job it started) is: its id and the caller's address, for logs and audit.

Every log line carries ``request_id``; a job inherits the id of the request that sent it, so one id follows a
piece of work from the browser to the SMS gateway.
"""
from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


@dataclass(frozen=True)
class RequestInfo:
    request_id: str = ""
    address: str = ""


_current: ContextVar[RequestInfo] = ContextVar("gonghui_request", default=RequestInfo())


def current() -> RequestInfo:
    return _current.get()


def enter(info: RequestInfo):
    return _current.set(info)


def leave(token) -> None:
    _current.reset(token)


def new_request_id(offered: str | None = None) -> str:
    """Keep a well-formed id the caller (a proxy) sent; otherwise make one."""
    if offered and _VALID_ID.match(offered):
        return offered
    return uuid.uuid4().hex


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get().request_id or "-"
        return True


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_gonghui", False) for h in root.handlers):
        root.setLevel(level.upper())
        return
    handler = logging.StreamHandler()
    handler._gonghui = True
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
