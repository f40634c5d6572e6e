"""Plugging the clinician side into the Application: its handlers and its delivery worker.

`review_plugin` gives `build_application` the clinician handlers (for the extra group, before
the patient handlers), a hook that shows the clinician commands in the menus of clinicians and
of the review chat, and the hooks that start and stop the outbox worker with the Application
(notices to INTAKE_REVIEW_CHAT_ID when it is set, retractions always). Without a review chat,
intakes only queue up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import BotCommand, BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import BaseHandler

from bot.composition import Services
from bot.telegram.application import AnyApplication, Hook
from bot.telegram.clinician import ClinicianHandlers
from bot.telegram.commands import command_menu
from bot.telegram.outbox import POLL_SECONDS, worker_hooks

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReviewPlugin:
    """What `build_application` takes for the clinician side."""

    handlers: list[BaseHandler[Any, Any, Any]]
    post_init: list[Hook] = field(default_factory=list)
    post_stop: list[Hook] = field(default_factory=list)


CLINICIAN_MENU = (
    BotCommand("queue", "Pending intakes, most urgent first"),
    BotCommand("show", "Show an intake: /show ID"),
    BotCommand("claim", "Claim an intake: /claim ID"),
    BotCommand("done", "Mark reviewed: /done ID note"),
    BotCommand("stats", "Queue counts"),
)


def review_plugin(services: Services, *, poll: float = POLL_SECONDS) -> ReviewPlugin:
    """The clinician handlers and menus, and the outbox worker's hooks."""
    settings = services.settings
    clinician = ClinicianHandlers(
        services.review,
        clinicians=settings.clinician_id_set,
        review_chat=settings.review_chat_id,
        message=services.intake.message,
    )
    patient_menu = command_menu(services.intake, services.registry.active.default_language)
    menus = menu_hook(settings.clinician_id_set, settings.review_chat_id, patient_menu)
    start, stop = worker_hooks(
        services.review_outbox, services.review_wakeup, settings.review_chat_id, poll=poll
    )
    return ReviewPlugin(clinician.handlers(), [menus, start], [stop])


def menu_hook(
    clinicians: frozenset[int], review_chat: int | None, patient_menu: Sequence[BotCommand]
) -> Hook:
    """A post-init hook that shows the clinician commands to clinicians and in the review chat."""

    async def set_menus(app: AnyApplication) -> None:
        """Set each clinician's private menu (patient and clinician commands) and the chat's."""
        menus: list[tuple[int, Sequence[BotCommand]]] = [
            (c, (*patient_menu, *CLINICIAN_MENU)) for c in sorted(clinicians)
        ]
        if review_chat is not None:
            menus.append((review_chat, CLINICIAN_MENU))
        for chat_id, commands in menus:
            try:
                await app.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
            except TelegramError as exc:  # the chat may not exist yet: the menu is a comfort
                _LOG.warning("menu not set for chat %s: %s", chat_id, type(exc).__name__)

    return set_menus
