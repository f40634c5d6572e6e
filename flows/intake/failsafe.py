"""Never silent: a failed turn still answers the patient, always with the emergency number.

Typed text is screened with the active flow's screener before the turn touches the database
(pure work, so it cannot fail for the database's reasons). When the turn then fails (the
database locked past its busy timeout or unwritable, a sealing error, any bug), the patient
gets the screened flag's own message first, if the text raised one, then the flow's
`turn_failed`: the clinic has not received this message, send it again, in an emergency call
the number. Failures are counted (`failures`, shown on the webhook's /healthz) and logged with
the update id, the error's class and where it happened, never the patient's words.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable

from flows.engine.conversation.prompts import Placeholders, PromptBuilder
from flows.engine.conversation.values import ActionKind, Inbound, Prompt, Turn
from flows.registry import FlowRegistry

log = logging.getLogger(__name__)
SCREENED = frozenset({ActionKind.TEXT, ActionKind.SCREEN})


class FailSafe:
    """Screens before a turn and answers for it when it fails."""

    def __init__(
        self,
        *,
        registry: FlowRegistry,
        places: Callable[[], Placeholders],
        language: Callable[[str | None], str],
    ) -> None:
        self.registry = registry
        self.places = places
        self.language = language
        self.failures = 0
        self._lock = threading.Lock()

    def screen(self, inbound: Inbound) -> dict[str, str]:
        """Red flags the inbound's text raises on its own, with their levels (none for buttons
        and commands); never raises."""
        action = inbound.action
        if action.kind not in SCREENED or not action.text:
            return {}
        try:
            conversation = self.registry.active_conversation()
            language = self.language(action.language or inbound.profile.language)
            facts = conversation.screener.screen(action.text, language).facts
            return conversation.rules.held({}, facts) if facts else {}
        except Exception:  # the screen is a safety net: its own bug must not sink the turn
            log.exception("screen.failed update_id=%s", inbound.update_id)
            return {}

    def fallback(
        self, inbound: Inbound, flags: dict[str, str], error: BaseException | None = None
    ) -> Turn:
        """The reply to a failed turn: the most urgent flag's message, then `turn_failed`."""
        with self._lock:
            self.failures += 1
        where = "".join(traceback.format_tb(error.__traceback__)) if error is not None else ""
        log.error(
            "turn.failed update_id=%s error=%s\n%s",
            inbound.update_id,
            type(error).__name__ if error is not None else "not received",
            where,
        )
        prompts: list[Prompt] = []
        escalation = None
        try:
            conversation = self.registry.active_conversation()
            ui = PromptBuilder(
                conversation.fm, self.places(), self.language(inbound.profile.language)
            )
            if flags:  # held() lists the most urgent first
                flag, escalation = next(iter(flags.items()))
                prompts.append(ui.escalation(flag, escalation))
            prompts.append(ui.notice("turn_failed"))
        except Exception:  # even the flow's texts failed: the number still goes out
            log.exception("turn.fallback_failed update_id=%s", inbound.update_id)
            prompts.append(Prompt(text=_LAST_RESORT.format(number=self.places().emergency_number)))
        return Turn(prompts=tuple(prompts), escalation=escalation, failed=True)


# Only when the flow's own texts cannot be read; every other patient text lives in the flow.
_LAST_RESORT = "Sorry, the clinic has not received this message. In an emergency, call {number}."
