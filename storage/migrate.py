"""Schema migrations (Alembic, in `storage/migrations`), run programmatically at start-up.

Alembic is imported only when there is something to migrate: a database already at the head
revision (the stored version equals the head read from the revision files as text) costs one
`SELECT`, which keeps every command's start-up short.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from storage.database import Database, StorageError, describe_operational_error

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
REVISION = re.compile(r"^revision\b[^=\n]*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
DOWN_REVISION = re.compile(r"^down_revision\b[^=\n]*=(.*)$", re.MULTILINE)
QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")
STORED = text("SELECT version_num FROM alembic_version")
MIGRATION_LOCK = 0x1A7A_4B07  # advisory lock key of schema upgrades on PostgreSQL
LOCK = text("SELECT pg_advisory_lock(:key)")
UNLOCK = text("SELECT pg_advisory_unlock(:key)")
log = logging.getLogger(__name__)


def alembic_config() -> Config:
    """An Alembic config pointing at the project's migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(database: Database) -> None:
    """Bring the database schema to the newest revision (data migrations seal with its sealer).

    On PostgreSQL the upgrade holds an advisory lock, so instances starting together on one
    database migrate one after the other (the later ones find nothing to do). A database
    already at the head revision is left alone without importing Alembic.
    """
    try:
        with database.engine.connect() as connection:
            if stored_revisions(connection) == script_heads():
                return
            before, after = _migrate(database, connection)
    except SQLAlchemyError as exc:
        message = describe_operational_error(exc, database.url, database.busy_timeout_ms)
        raise StorageError(message) from exc
    if before != after:
        log.info("database.upgraded from=%s to=%s", before, after)


def _migrate(database: Database, connection: Connection) -> tuple[str | None, str | None]:
    from alembic import command
    from alembic.migration import MigrationContext

    config = alembic_config()
    config.attributes["sealer"] = database.sealer
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
    return before, after


def stored_revisions(connection: Connection) -> set[str]:
    """The revisions the database says it is at (none for an empty database)."""
    try:
        stored = set(connection.execute(STORED).scalars())
    except (OperationalError, ProgrammingError):  # no version table yet (or unreadable)
        stored = set()
    connection.rollback()
    return stored


def script_heads(versions: Path = MIGRATIONS / "versions") -> set[str]:
    """The head revisions of the migration files, read as text: no file names them as parent.

    An unreadable file (no `revision = "..."` line) gives an empty set, which never equals a
    database's revisions, so Alembic then decides.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = REVISION.search(source), DOWN_REVISION.search(source)
        if revision is None or down is None:
            return set()
        revisions.add(revision.group(1))
        parents.update(QUOTED.findall(down.group(1)))
    return revisions - parents


def current_revision(database: Database) -> str | None:
    """The schema revision the database is at, or None when it is empty."""
    from alembic.migration import MigrationContext

    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision of the migrations."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def autogenerate(database: Database, message: str) -> None:
    """Write a new migration from the difference between the tables and the database."""
    from alembic import command

    config = alembic_config()
    with database.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
