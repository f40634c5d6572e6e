"""The database: engine creation, SQLite tuning, transactions, and clear errors when it is unusable.

SQLite (the embedded default) runs in WAL mode with `synchronous=FULL` and a busy timeout,
and every transaction starts with `BEGIN IMMEDIATE` so concurrent writers queue instead of
failing or losing updates (see PITFALLS.md). PostgreSQL URLs use the psycopg driver;
read-modify-write code asks for row locks with `for_update`.

Every engine hides bound parameters from its exceptions (`hide_parameters`), so no SQL error
carries a value into a log. A SQLite file is created with mode 0600 (its WAL and shared-memory
files take the same mode from it) and an existing one is narrowed to 0600; `secure_delete`
overwrites deleted rows in the file instead of leaving them in free pages.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from storage.sealing import Sealer
from storage.transactions import DriverTransaction

BUSY_TIMEOUT_MS = 5000
POOL_SIZE = 10  # PostgreSQL connections kept open (and threads running turns)
FILE_MODE = 0o600  # the database file, its -wal and -shm, exports: owner only
READ_ONLY = "intake_read_only"  # execution option: begin without taking the write lock
T = TypeVar("T")


class StorageError(Exception):
    """The database cannot be used; the message says why and what to check, never contents."""


class Database:
    """One engine plus the sealer for values at rest."""

    def __init__(
        self, url: str, *, sealer: Sealer | None = None, busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> None:
        self.url = normalise_url(url)
        self.sealer = sealer or Sealer()
        self.is_sqlite = self.url.startswith("sqlite")
        self.busy_timeout_ms = busy_timeout_ms
        self.engine = _create_engine(self.url, busy_timeout_ms)
        # Turns run in these threads, off the event loop. SQLite takes one writer at a time,
        # so one thread: no turns queueing inside SQLite's busy wait, one connection's cache.
        workers = 1 if self.is_sqlite else POOL_SIZE
        self.workers = ThreadPoolExecutor(workers, thread_name_prefix="db")

    async def run(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Await blocking database work run in `workers` (queued with the turns)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.workers, functools.partial(work, *args, **kwargs))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except OperationalError as exc:
                session.rollback()
                raise StorageError(
                    describe_operational_error(exc, self.url, self.busy_timeout_ms)
                ) from exc
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def driver_transaction(self) -> Iterator[DriverTransaction]:
        """A transaction on a driver connection (see `storage.transactions`): committed on
        success, rolled back on error."""
        try:
            tx = DriverTransaction(self.engine)
            try:
                yield tx
                tx.commit()
            finally:
                tx.close()
        except OperationalError as exc:
            raise StorageError(
                describe_operational_error(exc, self.url, self.busy_timeout_ms)
            ) from exc

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session that never waits for a writer, even one in this thread.

        On SQLite it starts a deferred transaction (WAL readers don't block), so reading inside
        another open `transaction()` cannot deadlock on its write lock.
        """
        try:
            with (
                self.engine.connect().execution_options(**{READ_ONLY: True}) as connection,
                Session(bind=connection) as session,
            ):
                yield session  # closing the session ends (rolls back) the read
        except OperationalError as exc:
            raise StorageError(
                describe_operational_error(exc, self.url, self.busy_timeout_ms)
            ) from exc

    def check(self) -> None:
        """Raise StorageError unless the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise StorageError(
                describe_operational_error(exc, self.url, self.busy_timeout_ms)
            ) from exc

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def normalise_url(url: str) -> str:
    """Pick the project's drivers: psycopg 3 for PostgreSQL."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def describe_operational_error(
    exc: BaseException, url: str, waited_ms: int = BUSY_TIMEOUT_MS
) -> str:
    """A clear, contents-free explanation of a database failure."""
    detail = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
    where = safe_url(url)
    if "locked" in detail:
        return f"the database {where} is locked by another process (waited {waited_ms} ms)"
    if "unable to open" in detail or "readonly" in detail:
        return f"cannot open the database {where}: check the path exists and is writable"
    return f"the database {where} is not usable: {detail}"


def safe_url(url: str) -> str:
    """The URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def _create_engine(url: str, busy_timeout_ms: int) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, busy_timeout_ms)
    if not url.startswith("postgresql"):
        raise StorageError(f"'{safe_url(url)}' is not a database URL this product supports")
    try:
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=POOL_SIZE,
            max_overflow=10,
            hide_parameters=True,
        )
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StorageError(f"'{safe_url(url)}' is not a usable database URL") from exc


def _sqlite_engine(url: str, busy_timeout_ms: int) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:" and not path.startswith("file:"):
        parent = Path(path).expanduser().resolve().parent
        if not parent.exists():
            raise StorageError(f"cannot open the database {url}: folder {parent} does not exist")
        restrict_file(Path(path).expanduser())
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: a committed turn survives power loss (NORMAL may drop the last commits, and
        # the patient has already been answered). Measured cost: see the README.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.connection.dbapi_connection.in_transaction:
            return  # begun on the driver already (a `DriverTransaction`'s session)
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")

    return engine


def restrict_file(path: Path) -> None:
    """Create a SQLite file (and narrow an existing one, with its -wal and -shm) to mode 0600."""
    try:
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
        for companion in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if not companion.exists():
                continue
            info = companion.stat()
            if info.st_mode & 0o777 != FILE_MODE and info.st_uid == os.getuid():
                companion.chmod(FILE_MODE)
    except OSError as exc:
        raise StorageError(f"cannot open the database file {path}: {exc.strerror}") from None
