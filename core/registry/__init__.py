"""The registries: plain functions over the models, the same for the API, the pages, imports, jobs and tests.

Each function takes the caller's session and never commits: the caller (a request, a job, a CLI command) owns the
unit of work. Each change is audited with ``core.audit.record``; wrong input raises a domain error from
``core.errors`` that names the field.

One module per registry, named after what it keeps: ``regions`` (区域), ``organizations`` (the union tree), units,
people and their memberships.
"""
