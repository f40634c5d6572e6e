"""The benchmark seeding: intakes, their counts and review items, read back in list order."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.composition import Services, build_services
from storage.queue import PRIORITY_RANK
from storage.tables import IntakeSession, Patient, ReviewItem
from tests.bench.seed import seed, time_reads
from tests.conftest import make_settings
from tests.storage.postgres import URL, fresh_schema

INTAKES = 300


@pytest.fixture(params=["sqlite", "postgresql"])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    """Services on an empty SQLite file, or a fresh PostgreSQL schema (when one is set up)."""
    if request.param == "sqlite":
        services = build_services(make_settings(f"sqlite:///{tmp_path / 'seed.db'}"))
        yield services
        services.close()
        return
    if not URL:
        pytest.skip("INTAKE_TEST_POSTGRES_URL is not set")
    with fresh_schema("seed") as url:
        services = build_services(make_settings(url))
        yield services
        services.close()


def test_seeding_stores_intakes_and_their_review_items(empty: Services) -> None:
    seed(empty, INTAKES, random.Random(3))
    with empty.database.transaction() as tx:
        assert tx.exec(select(func.count()).select_from(Patient)).one() == INTAKES
        assert tx.exec(select(func.count()).select_from(IntakeSession)).one() == INTAKES
        ended = tx.exec(
            select(func.count())
            .select_from(IntakeSession)
            .where(IntakeSession.status.in_(("completed", "escalated")))  # type: ignore[attr-defined]
        ).one()
        items = list(tx.exec(select(ReviewItem)))
    assert 0 < len(items) == ended
    assert {item.priority_rank for item in items} <= set(PRIORITY_RANK.values())
    assert {item.status for item in items} <= {"pending", "claimed", "reviewed"}


def test_the_first_pages_come_most_urgent_first(empty: Services) -> None:
    seed(empty, INTAKES, random.Random(4))
    page = empty.review.list_items("bench", limit=10)
    queue = empty.review.queue("bench", limit=5)
    assert len(page) == 10
    assert len(queue) <= 5
    assert all(r.status == "pending" for r in queue)
    order = [(r.priority, r.queued_at, r.item_id) for r in page]
    ranked = sorted(order, key=lambda o: (PRIORITY_RANK[o[0]], o[1], o[2]))
    assert order == ranked
    assert all(r.telegram_user_id is not None for r in page)  # patients read with the page
    assert set(time_reads(empty, runs=1)) == {
        "review list (first 50)",
        "review queue (first 20)",
        "stats report",
    }
