"""The test PostgreSQL server: its URL, the skip (a failure in CI), and throwaway schemas.

`.ci/run` starts a server and sets INTAKE_TEST_POSTGRES_URL; locally the PostgreSQL tests are
skipped without it. Each test works in a fresh schema that is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.database import Database
from storage.migrate import upgrade

URL = os.environ.get("INTAKE_TEST_POSTGRES_URL")

if not URL and os.environ.get("CI"):
    pytest.fail("CI must provide INTAKE_TEST_POSTGRES_URL", pytrace=False)

requires_postgres = pytest.mark.skipif(not URL, reason="INTAKE_TEST_POSTGRES_URL is not set")


@contextmanager
def fresh_schema(prefix: str) -> Iterator[str]:
    """The URL of a new, empty schema on the test server; the schema is dropped on exit."""
    assert URL is not None
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = Database(URL)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def migrated(kind: str, folder: Path, name: str) -> Iterator[Database]:
    """A migrated database of `kind` ("sqlite": a file in `folder`; "postgres": a fresh schema
    on the test server, the test skipped without one), disposed of on exit."""
    with ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{folder / f'{name}.db'}"
        elif URL:
            url = stack.enter_context(fresh_schema(name))
        else:
            pytest.skip("INTAKE_TEST_POSTGRES_URL is not set")
        db = Database(url)
        stack.callback(db.dispose)
        upgrade(db)
        yield db
