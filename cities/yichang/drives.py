"""Stub: filled in by its owner."""
from __future__ import annotations

from core.toolkit import actor


@actor("yichang.open_formation_drives")
def open_formation_drives(session, tenant):
    """Open a formation drive for each unit without a union from which enough members are parked."""
