"""A tenant's branding: what ``tenant.branding`` (a JSON column) may hold, checked before it reaches a page.

Keys, every one optional:

==================  =====================================================================================
``short_name``      a short name for narrow screens (宜昌工会); default: the tenant's name
``logo_url``        the logo: a path on this site (``/static/...``), an ``https://`` address or a
                    ``data:image/...`` URI; shown 40 px high. Without it the first character of the name
                    stands in a badge
``primary_color``   ``#rrggbb``: the header and buttons. The text on it is white or black, whichever is
                    readable (WCAG contrast 4.5:1); links use the colour darkened until they are readable
``accent_color``    ``#rrggbb``: the footer rule and highlights
``footer``          one line of text at the foot of every page
``contact_name``    who to contact (市总工会组织部), shown in the footer with
``contact_phone``   their phone and
``contact_email``   their e-mail address
``contact_address`` a postal address
``language``        ``zh_CN`` (the default) or ``en``: the language pages open in
==================  =====================================================================================

Anything else is ignored, and a value of the wrong shape falls back to the default, so a bad edit cannot break
the pages or inject markup into the style sheet (the colours go into a ``<style>`` element, where HTML escaping
does not protect).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PRIMARY = "#c8102e"
DEFAULT_ACCENT = "#f2b705"
KEYS = ("short_name", "logo_url", "primary_color", "accent_color", "footer", "contact_name", "contact_phone",
        "contact_email", "contact_address", "language")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_LOGO = re.compile(
    r"^(/(?!/)[^\s\"'<>]*|https://[^\s\"'<>]+|data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=]+)$"
)
WHITE, INK = "#ffffff", "#1a1a1a"
#: WCAG 2 AA for body text.
READABLE = 4.5


@dataclass(frozen=True)
class Branding:
    name: str
    short_name: str
    logo_url: str
    primary: str
    accent: str
    on_primary: str
    link: str
    footer: str
    contact_name: str
    contact_phone: str
    contact_email: str
    contact_address: str

    @property
    def monogram(self) -> str:
        return (self.short_name or self.name or "工")[:1]


def of(tenant) -> Branding:
    """The branding of ``tenant`` (None: the platform's own), every value checked."""
    data = dict(tenant.branding or {}) if tenant is not None else {}
    name = tenant.name if tenant is not None else "工会服务平台"
    text = {key: _text(data.get(key)) for key in KEYS}
    primary = _colour(data.get("primary_color"), DEFAULT_PRIMARY)
    return Branding(
        name=name,
        short_name=text["short_name"] or name,
        logo_url=data["logo_url"] if isinstance(data.get("logo_url"), str) and _LOGO.match(data["logo_url"]) else "",
        primary=primary,
        accent=_colour(data.get("accent_color"), DEFAULT_ACCENT),
        on_primary=WHITE if contrast(primary, WHITE) >= READABLE else INK,
        link=readable_on_white(primary),
        footer=text["footer"],
        contact_name=text["contact_name"],
        contact_phone=text["contact_phone"],
        contact_email=text["contact_email"],
        contact_address=text["contact_address"],
    )


def _text(value) -> str:
    return value.strip()[:200] if isinstance(value, str) else ""


def _colour(value, default: str) -> str:
    return value.lower() if isinstance(value, str) and _COLOUR.match(value) else default


def _luminance(colour: str) -> float:
    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable_on_white(colour: str) -> str:
    """``colour``, darkened step by step until text in it is readable on white."""
    while contrast(colour, WHITE) < READABLE:
        colour = "#" + "".join(f"{int(int(colour[i:i + 2], 16) * 0.85):02x}" for i in (1, 3, 5))
    return colour
