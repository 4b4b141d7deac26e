"""Stub: filled in by its owner."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("yichang_print_pages", __name__)


def menu_items(tenant, user):
    return []
