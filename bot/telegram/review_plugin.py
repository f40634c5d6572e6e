"""Plugging the clinician side into the Application: its handlers and its delivery worker.

`review_plugin` gives `build_application` the clinician handlers (for the extra group, before
the patient handlers) and, when INTAKE_REVIEW_CHAT_ID is set, the hooks that start and stop
the outbox worker with the Application. Without a review chat, intakes only queue up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram.ext import BaseHandler

from bot.composition import Services
from bot.telegram.application import Hook
from bot.telegram.clinician import ClinicianHandlers
from bot.telegram.outbox import POLL_SECONDS, worker_hooks


@dataclass(frozen=True)
class ReviewPlugin:
    """What `build_application` takes for the clinician side."""

    handlers: list[BaseHandler[Any, Any, Any]]
    post_init: list[Hook] = field(default_factory=list)
    post_stop: list[Hook] = field(default_factory=list)


def review_plugin(services: Services, *, poll: float = POLL_SECONDS) -> ReviewPlugin:
    """The clinician handlers, and the outbox worker's hooks when a review chat is set."""
    settings = services.settings
    clinician = ClinicianHandlers(
        services.review,
        clinicians=settings.clinician_id_set,
        review_chat=settings.review_chat_id,
        message=services.intake.message,
    )
    if settings.review_chat_id is None:
        return ReviewPlugin(clinician.handlers())
    start, stop = worker_hooks(
        services.review_outbox, services.review_wakeup, settings.review_chat_id, poll=poll
    )
    return ReviewPlugin(clinician.handlers(), [start], [stop])
