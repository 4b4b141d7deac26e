"""Core's own implementations of hooks, registered as the plugin "core" (always on for every tenant)."""
from __future__ import annotations

from core.plugins import hookimpl


@hookimpl
def periodic_jobs():
    return []
