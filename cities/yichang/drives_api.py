"""Stub: filled in by its owner."""
from __future__ import annotations

from core.toolkit import ApiBlueprint

blp = ApiBlueprint("yichang_drives_api", __name__)
