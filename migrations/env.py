"""Alembic environment: core's revisions plus those of every plugin the deployment loaded.

``core.migrate`` passes its ``Target`` (database URL from the settings, loaded plugins) in the config's
attributes; the plain ``alembic`` command in a checkout gets one from the ``GONGHUI_*`` environment.
"""
from alembic import context

from core import migrate
from core.db import make_engine

target = context.config.attributes.get("gonghui") or migrate.target_from_environment()
# alembic.ini cannot know which plugins are loaded; the revisions are read only after this line.
context.script.version_locations = target.version_locations


def run_offline() -> None:
    context.configure(url=target.database_url, literal_binds=True, **migrate.context_options(target))
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(target.database_url)
    try:
        with engine.connect() as connection, migrate.foreign_keys_off(connection):
            context.configure(connection=connection, **migrate.context_options(target))
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
