"""The composition root: builds the database, flow registry and services from the settings.

Settings are read once at the edge (the CLI) and passed in; everything else gets plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

from bot.review_services import open_database
from bot.settings import Settings
from flows.engine.format.model import Flow
from flows.engine.loading.loader import LoadedFlow
from flows.intake.abandonment import IdleSweeper
from flows.intake.service import IntakeService
from flows.registry import FlowRegistry, load_active
from flows.retention import Retention, RetentionPeriods
from flows.review.outbox import ReviewOutbox, Wakeup
from flows.review.service import ReviewService
from flows.watch import FlowFiles
from storage.database import Database


@dataclass
class Services:
    """Everything the edges use, wired once."""

    settings: Settings
    database: Database
    registry: FlowRegistry
    intake: IntakeService
    review: ReviewService
    review_outbox: ReviewOutbox
    review_wakeup: Wakeup
    flow_files: FlowFiles
    sweeper: IdleSweeper
    retention: Retention

    def close(self) -> None:
        """Release the database connections."""
        self.database.dispose()


def build_services(
    settings: Settings,
    *,
    flow_file: Path | None = None,
    database_url: str | None = None,
    active: LoadedFlow | None = None,
    typed: bool = False,
    check_keys: bool = True,
) -> Services:
    """Open (and migrate) the database, check its key, load the active flow, build the services.

    `active` is an already loaded flow to run instead of reading the flow files (tests share one).
    `typed` runs flows for a channel without buttons (the terminal chat).
    `check_keys=False` skips the key check (`keys rotate` makes its own).
    """
    database = open_database(settings, database_url, check_keys=check_keys)
    source = partial(
        load_active,
        flows_dir=settings.flows_dir,
        flow_id=settings.flow,
        flow_file=flow_file,
        cache=settings.flow_cache,
    )
    try:
        registry = FlowRegistry(active or source(), database, source=source, typed=typed)
    except BaseException:
        database.dispose()
        raise
    intake = IntakeService(
        database=database,
        registry=registry,
        booking_url=settings.booking_url,
        emergency_number=settings.emergency_number,
        claimant=settings.instance_name,
        legal_retention_days=settings.legal_retention_days,
    )
    wakeup = Wakeup()
    intake.on_queued = wakeup.notify

    def flows(flow_id: str, version: int) -> Flow:
        return registry.flow(flow_id, version)  # a definition: compiling it is not needed

    return Services(
        settings=settings,
        database=database,
        registry=registry,
        intake=intake,
        review=ReviewService(database=database, flows=flows, notify=wakeup.notify),
        review_outbox=ReviewOutbox(
            database=database, flows=flows, full_cards=settings.review_chat_mode == "full_cards"
        ),
        review_wakeup=wakeup,
        flow_files=FlowFiles(settings.flows_dir, flow_file),
        sweeper=IdleSweeper(
            database=database,
            idle=timedelta(hours=settings.abandon_after_hours),
            notify=wakeup.notify,
        ),
        retention=Retention(database, retention_periods(settings)),
    )


def retention_periods(settings: Settings) -> RetentionPeriods:
    """The retention periods the settings ask for."""
    return RetentionPeriods(
        unfinished_days=settings.retain_unfinished_days,
        reviewed_days=settings.retain_reviewed_days,
        audit_days=settings.retain_audit_days,
        updates_days=settings.retain_updates_days,
        legal_days=settings.legal_retention_days,
    )
