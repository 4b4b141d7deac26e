"""Yichang's periodic work, run by ``gonghui scheduler`` for every tenant that enabled the plugin.

Each actor is idempotent (dramatiq delivers at least once): the reminder remembers the day it reminded, a
parked member already moved is no longer parked, and each SMS has its own dedupe key.
"""
from __future__ import annotations

from cities.yichang import applications, moves
from core.toolkit import actor


@actor("yichang.remind_overdue")
def remind_overdue(session, tenant):
    """Text the handlers of applications past the 1- or 3-working-day promise, once a working day."""
    applications.remind_overdue(session, tenant)


@actor("yichang.transfer_parked_members")
def transfer_parked_members(session, tenant):
    """Move members parked for units that have since formed a union into that union."""
    for unit in session.scalars(moves.units_with_parked_members_and_a_union()).all():
        moves.transfer_parked(session, tenant, unit, actor="yichang.transfer_parked_members")
