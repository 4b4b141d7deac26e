"""Staff pages (desktop first): the dashboard (``core.web.staff.dashboard``), plugin settings for tenant admins
(``core.web.staff.plugin_settings``) and the other staff areas of ``core.web.staff``. Importing this module
registers their routes on ``core.web.core_pages``."""
from __future__ import annotations

from core.web import staff  # noqa: F401  (the routes of the staff areas)
from core.web.staff import dashboard, plugin_settings  # noqa: F401  (they register routes)
