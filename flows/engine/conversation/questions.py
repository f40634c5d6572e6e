"""Patient questions inside typed text: the fitting refusals, and the answer beside them.

A text may answer the question and ask something too ("Bloating. Which supplement should I
take?"). The text is cut at sentence ends and commas; the pieces that ask are answered with
the refusal of their intent (a "do I have X?" names only X, in the patient's words), and the
rest is the answer. Refusals are flow messages; "is this serious?" points to the clinician and,
for severe symptoms, to the emergency number, never to the workup.
"""

from __future__ import annotations

import re

from flows.engine.conversation.prompts import PromptBuilder
from flows.engine.conversation.values import Prompt
from flows.engine.safety.screening import ADVICE, DIAGNOSIS, SERIOUS, TEST, Screener, ScreenResult

_PIECES = re.compile(r"([.?!;\n,]+\s*)")
REFUSALS = {SERIOUS: "serious_refusal", TEST: "test_refusal", ADVICE: "advice_refusal"}
MAX_CONDITION = 60  # characters of the patient's condition words echoed in a refusal


def refusals(found: ScreenResult, ui: PromptBuilder) -> list[Prompt]:
    """One refusal per intent asked, in a fixed order."""
    prompts = []
    for intent in found.intents:
        if intent == DIAGNOSIS:
            condition = found.condition()
            if condition:
                text = ui.message("diagnosis_refusal_named", condition=condition[:MAX_CONDITION])
                prompts.append(Prompt(text=text))
            else:
                prompts.append(ui.notice("diagnosis_refusal"))
        else:
            prompts.append(ui.notice(REFUSALS[intent]))
    return prompts


def answer_part(text: str, screener: Screener, language: str) -> str:
    """`text` without the pieces that ask something ('' when every piece asks)."""
    parts = _PIECES.split(text)
    kept: list[str] = []
    for index in range(0, len(parts), 2):
        piece = parts[index]
        separator = parts[index + 1] if index + 1 < len(parts) else ""
        if piece.strip() and not screener.screen(piece, language).asks:
            kept.append(piece + separator)
    return "".join(kept).strip().rstrip(",;").strip()
