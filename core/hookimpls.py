"""Core's own implementations of hooks, registered as the plugin "core" (always on for every tenant)."""
from __future__ import annotations

from core import outbox
from core.contributions import PeriodicJob
from core.plugins import hookimpl


@hookimpl
def periodic_jobs():
    # Re-sends what the direct delivery missed (broker down at commit, Redis restarted, a worker died).
    return [PeriodicJob("core.sweep_outbox", outbox.sweep_outbox, every_seconds=60)]
