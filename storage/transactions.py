"""A transaction on a pooled driver connection, with an ORM `Session` only when one is asked for.

A patient turn runs its few hot statements as plain SQL (`storage.plain_sql`), and most turns
need nothing else. Opening and committing an ORM `Session` for them cost more CPU than those
statements did: its transaction bookkeeping, the `Connection` around the driver's, and a
statement to begin. A `DriverTransaction` takes a connection from the engine's pool, begins
on the driver (`BEGIN IMMEDIATE` on SQLite, so writers queue as with every other transaction;
PostgreSQL's driver begins by itself) and commits on the driver. The ORM work of the rarer
turns (consent, the end of an intake, a flag queued for review) asks for `session`: an ORM
`Session` made then, on the same connection and in the same transaction, whose changes are
flushed before the commit. Driver errors are raised as SQLAlchemy's, parameters hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError, StatementError
from sqlmodel import Session


class DriverTransaction:
    """One transaction on one pooled driver connection (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect: Dialect = engine.dialect
        self._pooled: Any = self._driver(engine.raw_connection)
        self._connection: Connection | None = None
        self._session: Session | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._committed = False
        if self.dialect.name == "sqlite":
            try:
                self._driver(self._begin_immediate)
            except BaseException:
                self._pooled.close()
                raise

    def cursor(self) -> Any:
        """A driver cursor in this transaction."""
        return self._pooled.cursor()

    @property
    def session(self) -> Session:
        """An ORM session in this transaction (made on first use; flushed at commit)."""
        if self._session is None:
            self._connection = Connection(self.engine, connection=self._pooled)
            self._connection.begin()  # SQLAlchemy's record of it: the driver has begun
            self._session = Session(
                bind=self._connection,
                expire_on_commit=False,
                join_transaction_mode="rollback_only",
            )
        return self._session

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the transaction has committed (not after a rollback)."""
        self._after_commit.append(callback)

    def commit(self) -> None:
        """Flush the session's changes, if any, and commit; then run the after-commit calls."""
        if self._session is not None:
            self._session.commit()  # flushes; the transaction itself is committed below
        if self._connection is not None:
            self._connection.commit()
        else:
            self._driver(self._pooled.commit)
            self._committed = True
        for callback in self._after_commit:
            callback()

    def close(self) -> None:
        """Give the connection back to the pool; anything not committed is rolled back."""
        if self._session is not None:
            self._session.close()
        if self._connection is not None:
            self._connection.close()
        elif self._committed:  # nothing to reset: back to the pool without a rollback
            self._pooled._close_special(transaction_reset=True)
        else:
            self._pooled.close()  # the pool rolls back what is left

    def _begin_immediate(self) -> None:
        """Take SQLite's write lock now (see `storage.database`)."""
        cursor = self._pooled.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        finally:
            cursor.close()

    def _driver(self, call: Callable[[], Any]) -> Any:
        """A driver call, its error raised as SQLAlchemy's."""
        try:
            return call()
        except self.dialect.loaded_dbapi.Error as exc:
            raise as_sqlalchemy(exc, self.dialect) from exc


def as_sqlalchemy(exc: Exception, dialect: Dialect, sql: str | None = None) -> StatementError:
    """A driver error (`dialect.loaded_dbapi.Error`) as SQLAlchemy raises it: the same
    classes, parameters hidden."""
    return DBAPIError.instance(
        sql, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True, dialect=dialect
    )
