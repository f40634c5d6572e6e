"""Migrations: an empty database upgrades to head, and the migrated schema is exactly what the
table models say (Alembic autogenerate finds no difference), so a table change without a
migration fails here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, inspect
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.database import Database
from storage.migrate import current_revision, head_revision, script_heads, upgrade
from tests.storage.postgres import fresh_schema, requires_postgres


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[Database]:
    """A database file with nothing in it."""
    database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    yield database
    database.dispose()


def differences(database: Database, metadata: MetaData) -> list[Any]:
    """What autogenerate would write to bring the database to `metadata`."""
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_an_empty_database_upgrades_to_head(empty_database: Database) -> None:
    """Upgrading an empty file reaches the newest revision and creates every table."""
    assert current_revision(empty_database) is None
    upgrade(empty_database)
    assert current_revision(empty_database) == head_revision()
    tables = set(inspect(empty_database.engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables


def test_upgrading_twice_changes_nothing(empty_database: Database) -> None:
    """A second upgrade (every start-up runs one) is a no-op."""
    upgrade(empty_database)
    upgrade(empty_database)
    assert current_revision(empty_database) == head_revision()


def test_the_heads_read_as_text_are_alembics(tmp_path: Path) -> None:
    """The start-up check's heads (revision files read as text) are Alembic's; a file it
    cannot read makes the check give way to Alembic."""
    assert script_heads() == {head_revision()}
    (tmp_path / "0001_a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "0002_b.py").write_text("revision: str = 'b'\ndown_revision: str | None = 'a'\n")
    (tmp_path / "0003_c.py").write_text('revision = "c"\ndown_revision = ("a", "b")\n')
    assert script_heads(tmp_path) == {"c"}
    (tmp_path / "0004_odd.py").write_text("REVISION = 'd'\n")
    assert script_heads(tmp_path) == set()


def test_the_migrations_match_the_table_models(empty_database: Database) -> None:
    """Autogenerate finds no difference between the models and the migrated schema."""
    upgrade(empty_database)
    assert differences(empty_database, SQLModel.metadata) == []


def test_a_model_change_without_a_migration_is_caught(empty_database: Database) -> None:
    """The comparison above does fail for a model the migrations don't know (a new column)."""
    upgrade(empty_database)
    changed = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["patients"].append_column(Column("nickname", String(40)))
    found = differences(empty_database, changed)
    assert [(d[0], d[2], d[3].name) for d in found] == [("add_column", "patients", "nickname")]


@requires_postgres
def test_the_migrations_match_the_table_models_on_postgresql() -> None:
    """On PostgreSQL too, the migrated schema is exactly what the table models say."""
    with fresh_schema("drift") as url:
        database = Database(url)
        try:
            upgrade(database)
            assert differences(database, SQLModel.metadata) == []
        finally:
            database.dispose()
