"""The review queue on a real PostgreSQL: concurrent claims and outbox leases across workers.

Runs when INTAKE_TEST_POSTGRES_URL names a database (`.ci/run` starts one), each test in a
fresh schema that is dropped afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from flows.review.outbox import ReviewOutbox
from storage import queue
from storage.database import Database
from storage.migrate import upgrade
from tests.flows.review_seed import flow_lookup, seed_intake
from tests.storage.postgres import fresh_schema, requires_postgres

pytestmark = requires_postgres


@pytest.fixture
def database() -> Iterator[Database]:
    """A migrated database in a fresh schema of the test server."""
    with fresh_schema("q") as url:
        db = Database(url)
        upgrade(db)
        yield db
        db.dispose()


def race(workers: int, work: Callable[[int], None]) -> None:
    """Run `work(i)` in `workers` threads released at the same moment."""
    barrier = threading.Barrier(workers)

    def run(i: int) -> None:
        barrier.wait()
        work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_concurrent_claims_one_wins(database: Database) -> None:
    """Eight clinicians claiming one item at once on PostgreSQL: exactly one succeeds."""
    item_id = seed_intake(database, user=1)
    wins: list[int] = []

    def claim(i: int) -> None:
        with database.transaction() as tx:
            if queue.claim_item(tx, item_id=item_id, by=f"dr{i}", name="n"):
                wins.append(i)

    race(8, claim)
    assert len(wins) == 1
    with database.transaction() as tx:
        item = queue.get_review_item(tx, item_id=item_id)
    assert item is not None
    assert item.claimed_by == f"dr{wins[0]}"


def test_two_workers_split_the_outbox(database: Database) -> None:
    """Two delivery workers on one PostgreSQL never take the same outbox row."""
    for user in range(1, 21):
        seed_intake(database, user=user)
    taken: list[list[int]] = []

    def work(i: int) -> None:
        outbox = ReviewOutbox(database=database, flows=flow_lookup())
        taken.append([d.row_id for d in outbox.due(limit=50)])

    race(2, work)
    first, second = taken
    assert not set(first) & set(second)
    assert len(first) + len(second) == 20


def test_concurrent_claim_next_takes_different_items(database: Database) -> None:
    """On PostgreSQL, SKIP LOCKED lets eight clinicians take eight different items at once."""
    for user in range(1, 9):
        seed_intake(database, user=user)
    got: list[int | None] = []

    def take(i: int) -> None:
        with database.transaction() as tx:
            got.append(queue.claim_next(tx, by=f"dr{i}", name="n"))

    race(8, take)
    assert None not in got
    assert len(set(got)) == 8
