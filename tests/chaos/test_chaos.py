"""The chaos run at a small size, in the test suite (CI runs it): nothing lost, doubled or
reordered while instances are killed. `make chaos` runs it at full size (see `run`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.run import chaos_run
from tests.storage.postgres import URL, requires_postgres

PATIENTS = 8
pytestmark = [pytest.mark.chaos, requires_postgres]


async def test_three_instances_killed_at_random_lose_nothing(tmp_path: Path) -> None:
    """Three webhook instances on one PostgreSQL, updates posted 1-3 times, SIGKILLs: every
    patient completes; no answer lost, no duplicate, no second active intake, no reordering."""
    assert URL is not None
    figures = await chaos_run(URL, PATIENTS, seed=7, logs=tmp_path, timeout=600)
    print(figures.line())
    assert figures.kills >= 1
    assert figures.repeats > 0
    assert figures.clean, figures.line()
