"""Alembic environment of Gonghui: ``env.py`` and core's revisions in ``versions/`` (branch ``core``)."""
