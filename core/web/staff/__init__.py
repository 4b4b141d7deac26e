"""Staff pages (desktop first, usable at 360 px), beside the dashboard in ``core.web.staff_pages``: the
organization tree, units, person lookup, the audit trail, users, roles and tokens. Each module holds one area's
routes (on ``core.web.core_pages``) and asks the same scope questions as the API, through ``core.auth`` and the
registry (``common``)."""
from core.web.staff import audit_trail, organizations, people, units, users  # noqa: F401  (they register routes)
