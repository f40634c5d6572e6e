"""Shared fixtures: a migrated SQLite database in `tmp_path` and the services wired on it.

`services` is what the CLI builds (`build_services`), on the bundled flow (loaded once per test
session: parsing it takes about a second), with a test booking link and emergency number so
tests can check both are filled in. `say` runs one typed turn. Package conftests
(`tests/flows/`, `tests/bot/`) add their own fixtures beside these.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.composition import Services, build_services
from bot.settings import BUNDLED_FLOWS, Settings
from flows.engine.conversation.values import Action, ActionKind, Inbound, Turn
from flows.engine.loading.loader import LoadedFlow
from flows.intake.service import IntakeService
from flows.registry import load_active
from storage.database import Database

BOOKING_URL = "https://book.test/precision?intake={intake_id}"
EMERGENCY_NUMBER = "999"


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for a test: no `.env`, the given database, the test booking link and number."""
    values: dict[str, object] = {
        "database_url": database_url,
        "booking_url": BOOKING_URL,
        "emergency_number": EMERGENCY_NUMBER,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The URL of a fresh SQLite file in this test's folder."""
    return f"sqlite:///{tmp_path / 'intake.db'}"


@pytest.fixture(scope="session")
def bundled_flow() -> LoadedFlow:
    """The bundled flow, loaded and validated once."""
    return load_active(flows_dir=BUNDLED_FLOWS, flow_id="gut_health")


@pytest.fixture
def services(database_url: str, bundled_flow: LoadedFlow) -> Iterator[Services]:
    """The composition root on a migrated SQLite file and the bundled flow."""
    built = build_services(make_settings(database_url), active=bundled_flow)
    yield built
    built.close()


@pytest.fixture
def service(services: Services) -> IntakeService:
    """The intake service of `services`."""
    return services.intake


@pytest.fixture
def database(services: Services) -> Database:
    """The migrated database of `services`."""
    return services.database


def say(service: IntakeService, user: int, text: str, *, update_id: int | None = None) -> Turn:
    """One typed message from `user`, as one turn of the service."""
    action = Action(ActionKind.TEXT, text=text)
    return service.handle_sync(Inbound(user_id=user, action=action, update_id=update_id))
