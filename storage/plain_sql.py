"""Statements of the hot path as plain SQL, run on the DBAPI cursor of the caller's transaction.

A patient turn runs the same few statements again and again, and SQLAlchemy's work around each
(the compiled-cache look-up, building the parameters, the execution context, result and ORM
loading) had cost more CPU than the database spent running them. A `PlainStatement` is still
built by SQLAlchemy from the tables of `storage.tables` (the single source of truth: no schema
is copied by hand), but compiled once per dialect into its SQL text, its parameter order and
the type processors of its parameters and result columns; `run` then hands that text and the
processed values straight to the driver, on the connection of the caller's transaction (an ORM
session's, or a `storage.transactions.DriverTransaction`, which is the turn's). So
the SQL, the stored values and the transaction are the ones SQLAlchemy would have used, and a
driver error is raised as SQLAlchemy's (`IntegrityError`, `OperationalError`, ...) with its
parameters hidden, like any other statement's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Date, DateTime, Dialect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

from storage.transactions import DriverTransaction, as_sqlalchemy

Processor = Callable[[Any], Any]
Runner = Session | DriverTransaction  # where statements run: an ORM session's transaction or not


@dataclass(frozen=True, slots=True)
class PlainStatement:
    """A statement compiled for one dialect: its SQL, how to bind values, how to read rows."""

    sql: str
    order: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None  # positional drivers (SQLite)
    defaults: Mapping[str, Any]  # values compiled into the statement (already processed)
    processors: Mapping[str, Processor]  # per parameter name, for values given at run time
    results: tuple[Processor | None, ...]  # per result column
    dialect: Dialect

    def bind(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters for `values` (a tuple or a dict, as the driver takes them)."""
        merged = {**self.defaults, **values}
        for name, process in self.processors.items():
            value = values.get(name)
            if value is not None:
                merged[name] = process(value)
        return merged if self.order is None else self.order(merged)

    def read(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """A driver's row as SQLAlchemy would have read it (timestamps in UTC, ...)."""
        return tuple(
            [v if p is None or v is None else p(v) for p, v in zip(self.results, row, strict=True)]
        )


def compile_plain(
    statement: ClauseElement, dialect: Dialect, keys: Iterable[str] = ()
) -> PlainStatement:
    """Compile `statement` once for `dialect`; `keys` name the parameters given at run time."""
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiled, SQLCompiler)
    params = compiled.construct_params(_check=False)
    every: dict[str, Processor] = {}
    for name in params:
        column_type = compiled.binds[name].type
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            every[name] = _memoised(process) if _is_temporal(column_type) else process
    given = set(keys) | {name for name in params if compiled.binds[name].required}
    processors = {name: process for name, process in every.items() if name in given}
    defaults = {
        name: (value if name not in every or value is None else every[name](value))
        for name, value in params.items()
        if not compiled.binds[name].required
    }
    order = _getter(compiled.positiontup) if compiled.positiontup is not None else None
    columns = getattr(statement, "exported_columns", ())
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    return PlainStatement(compiled.string, order, defaults, processors, results, dialect)


def _is_temporal(column_type: TypeEngine[Any]) -> bool:
    """Whether a column holds dates or timestamps (immutable values that a turn repeats)."""
    return isinstance(column_type._type_affinity, type) and issubclass(
        column_type._type_affinity, (Date, DateTime)
    )


MEMO_SIZE = 256  # processed values kept per parameter (dates repeat; timestamps recur twice)


def _memoised(process: Processor) -> Processor:
    """`process` remembering its last few results (for immutable, hashable values only)."""
    memo: dict[Any, Any] = {}

    def remembered(value: Any) -> Any:
        found = memo.get(value)
        if found is None:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            found = memo[value] = process(value)
        return found

    return remembered


def _getter(names: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The values of `names` in order, as a tuple (one C call)."""
    if len(names) == 1:
        name = names[0]
        return lambda values: (values[name],)
    return itemgetter(*names)


def insert_for(dialect: str) -> Any:
    """The `insert` construct of a dialect (SQLite's or PostgreSQL's: both know ON CONFLICT)."""
    return sqlite_insert if dialect == "sqlite" else pg_insert


def prepared(
    session: Runner, key: Hashable, build: Callable[[str], ClauseElement], keys: Iterable[str] = ()
) -> PlainStatement:
    """The statement `build(dialect name)` compiled for the session's dialect, once per `key`."""
    dialect = dialect_of(session)
    found = _PREPARED.get((key, dialect.name))
    if found is None:
        found = compile_plain(build(dialect.name), dialect, keys)
        _PREPARED[(key, dialect.name)] = found
    return found


_PREPARED: dict[tuple[Hashable, str], PlainStatement] = {}


def dialect_of(session: Runner) -> Dialect:
    """The dialect of the database the session's transaction is on."""
    if isinstance(session, DriverTransaction):
        return session.dialect
    return session.get_bind().dialect


def orm(session: Runner) -> Session:
    """An ORM session in the same transaction (for statements not run as plain SQL)."""
    return session.session if isinstance(session, DriverTransaction) else session


def run(session: Runner, statement: PlainStatement, values: Mapping[str, Any]) -> list[Any]:
    """Execute once in the session's transaction; the rows it returned, read."""
    cursor = _cursor(session)
    try:
        cursor.execute(statement.sql, statement.bind(values))
        rows = cursor.fetchall() if cursor.description is not None else []
    except statement.dialect.loaded_dbapi.Error as exc:
        raise as_sqlalchemy(exc, statement.dialect, statement.sql) from exc
    finally:
        cursor.close()
    return [statement.read(row) for row in rows]


def run_many(session: Runner, statement: PlainStatement, rows: Sequence[Mapping[str, Any]]) -> None:
    """Execute once per row of values, in one driver call, in the session's transaction."""
    cursor = _cursor(session)
    try:
        cursor.executemany(statement.sql, [statement.bind(values) for values in rows])
    except statement.dialect.loaded_dbapi.Error as exc:
        raise as_sqlalchemy(exc, statement.dialect, statement.sql) from exc
    finally:
        cursor.close()


def _cursor(session: Runner) -> Any:
    """A DBAPI cursor on the connection of the session's transaction (begun if need be)."""
    if isinstance(session, DriverTransaction):
        return session.cursor()
    return session.connection().connection.cursor()
