"""Core's own implementations of hooks, registered as the plugin "core" (always on for every tenant)."""
from __future__ import annotations

from core import outbox
from core.contributions import PeriodicJob
from core.plugins import hookimpl


@hookimpl
def periodic_jobs():
    # Re-sends what the direct delivery missed (broker down at commit, Redis restarted, a worker died).
    from core.registry import imports  # here: it declares its actors with core.jobs' decorator

    return [PeriodicJob("core.sweep_outbox", outbox.sweep_outbox, every_seconds=60),
            # Uploads of finished imports hold ID numbers in clear: removed after GONGHUI_IMPORT_FILES_KEPT_DAYS.
            PeriodicJob("core.expire_import_files", imports.expire_files_job, every_seconds=24 * 3600)]
