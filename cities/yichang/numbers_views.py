"""Stub: filled in by its owner."""
from __future__ import annotations

from flask import Blueprint

from core.toolkit import ApiBlueprint

api = ApiBlueprint("yichang_numbers_api", __name__)
pages = Blueprint("yichang_numbers_pages", __name__)


def menu_items(tenant, user):
    return []


def dashboard_widgets(tenant, user):
    return []
