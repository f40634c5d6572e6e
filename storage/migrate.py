"""Schema migrations (Alembic, in `storage/migrations`), run programmatically at start-up."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from storage.database import Database, StorageError, describe_operational_error

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x1A7A_4B07  # advisory lock key of schema upgrades on PostgreSQL
LOCK = text("SELECT pg_advisory_lock(:key)")
UNLOCK = text("SELECT pg_advisory_unlock(:key)")
log = logging.getLogger(__name__)


def alembic_config() -> Config:
    """An Alembic config pointing at the project's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(database: Database) -> None:
    """Bring the database schema to the newest revision (data migrations seal with its sealer).

    On PostgreSQL the upgrade holds an advisory lock, so instances starting together on one
    database migrate one after the other (the later ones find nothing to do).
    """
    config = alembic_config()
    config.attributes["sealer"] = database.sealer
    try:
        with database.engine.connect() as connection:
            locking = not database.is_sqlite
            if locking:
                connection.execute(LOCK, {"key": MIGRATION_LOCK})
                connection.commit()
            try:
                config.attributes["connection"] = connection
                before = MigrationContext.configure(connection).get_current_revision()
                command.upgrade(config, "head")
                after = MigrationContext.configure(connection).get_current_revision()
                connection.commit()
            finally:
                if locking:
                    connection.rollback()
                    connection.execute(UNLOCK, {"key": MIGRATION_LOCK})
                    connection.commit()
    except SQLAlchemyError as exc:
        message = describe_operational_error(exc, database.url, database.busy_timeout_ms)
        raise StorageError(message) from exc
    if before != after:
        log.info("database.upgraded from=%s to=%s", before, after)


def current_revision(database: Database) -> str | None:
    """The schema revision the database is at, or None when it is empty."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision of the migrations."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def autogenerate(database: Database, message: str) -> None:
    """Write a new migration from the difference between the tables and the database."""
    config = alembic_config()
    with database.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
