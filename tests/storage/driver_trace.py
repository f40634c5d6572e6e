"""What reaches SQLite: every statement run on an engine's connections, as SQLite traced it.

The hot statements of a turn go to the driver directly (`storage.plain_sql`), past SQLAlchemy's
events, so tests that count a turn's statements ask SQLite itself (`set_trace_callback`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def traced(engine: Engine) -> Iterator[list[str]]:
    """The statements SQLite runs on connections checked out meanwhile (an executemany: one
    per row), in order."""
    statements: list[str] = []

    def on_checkout(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    def on_checkin(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.set_trace_callback(None)

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)
    try:
        yield statements
    finally:
        event.remove(engine, "checkout", on_checkout)
        event.remove(engine, "checkin", on_checkin)
