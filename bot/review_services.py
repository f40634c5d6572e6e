"""The clinician side alone: the database and the review service, as the review commands use it.

`bot.composition` wires the whole product; this wires the part a clinician's terminal needs,
from the same pieces. A listing reads no flow, so the flow registry (and with it the flow model,
the YAML loader and the conversation engine) is built when a summary or an export first needs
a flow's labels, not at start-up: `review list` then starts in a fraction of the time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.settings import Settings
from flows.review.service import ReviewService
from storage.database import Database
from storage.migrate import upgrade
from storage.rotation import check_key
from storage.sealing import Sealer

if TYPE_CHECKING:
    from flows.engine.format.model import Flow


@dataclass
class ReviewServices:
    """The database and the review service over it."""

    settings: Settings
    database: Database
    review: ReviewService

    def close(self) -> None:
        """Release the database connections."""
        self.database.dispose()


def build_review_services(settings: Settings, database_url: str | None = None) -> ReviewServices:
    """Open (and migrate) the database, check its key; the flows are read on first use."""
    database = open_database(settings, database_url)
    lookup = FlowLookup(settings, database)
    return ReviewServices(settings, database, ReviewService(database=database, flows=lookup))


class FlowLookup:
    """A flow version's definition by (id, version): the active flow's files are read on the
    first call, stored versions from the database (the same answers as the flow registry's
    `flow`, without pinning the active flow: the review commands start no intake)."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings, self.database = settings, database
        self._active: Flow | None = None
        self._stored: dict[tuple[str, int], Flow] = {}
        self._lock = threading.Lock()

    def __call__(self, flow_id: str, version: int) -> Flow:
        """The definition of that flow version (active or stored)."""
        from flows.registry import load_active
        from flows.snapshots import stored_snapshot

        with self._lock:
            if self._active is None:
                settings = self.settings
                loaded = load_active(
                    flows_dir=settings.flows_dir, flow_id=settings.flow, cache=settings.flow_cache
                )
                self._active = loaded.flow
            active, key = self._active, (flow_id, version)
            if key == (active.id, active.version):
                return active
            if key not in self._stored:
                self._stored[key] = stored_snapshot(self.database, flow_id, version, active)
            return self._stored[key]


def open_database(settings: Settings, url: str | None, *, check_keys: bool = True) -> Database:
    """The database, migrated, its key checked against the canary (a SealError when wrong)."""
    database = Database(url or settings.database_url, sealer=Sealer(settings.encryption_keys))
    try:
        upgrade(database)
        if check_keys:
            check_key(database)
    except BaseException:
        database.dispose()
        raise
    return database
