"""Masked personal data: what lists, logs and audit records show instead of a phone, ID or card number.

PIPL treats ID numbers and bank cards as sensitive personal information; a masked value still lets staff tell
two records apart and confirm a number a person reads out, without the page or the log holding it.
"""
from __future__ import annotations


def _keep(value: str | None, head: int, tail: int) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters; a value too short to keep both is all stars."""
    value = (value or "").strip().replace(" ", "")
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail:]


def mask_phone(phone: str | None) -> str:
    """``13800001234`` -> ``138****1234``: the carrier prefix and the last four digits."""
    return _keep(phone, 3, 4)


def mask_id_number(id_number: str | None) -> str:
    """``420502199001011234`` -> ``420502********1234``: the region code and the last four characters.

    The birth date in the middle is what identifies a person most, so it is the part hidden.
    """
    return _keep(id_number, 6, 4)


def mask_card_number(card_number: str | None) -> str:
    """``6222021234567890123`` -> ``622202*********0123``: issuer prefix and last four (PCI DSS)."""
    return _keep(card_number, 6, 4)
