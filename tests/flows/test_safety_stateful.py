"""Safety invariants over random conversations (Hypothesis stateful test on the real service).

Random sequences of answers, button presses, free text carrying red-flag and diagnosis
phrases, back, restart and repeated updates, against IntakeService on a real SQLite file:

- after an emergency phrase the next message is the escalation and no question follows;
- no message to a patient matches the diagnosis deny-list (bar reviewed exceptions);
- each update is applied at most once (a repeat is reported as a duplicate and changes nothing).
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlmodel import select

from bot.composition import Services, build_services
from bot.settings import BUNDLED_FLOWS, Settings
from flows.engine.conversation.values import Action, ActionKind, Inbound, Prompt, PromptKind, Turn
from flows.engine.loading.loader import LoadedFlow
from flows.engine.safety.wording import findings
from flows.registry import load_active
from storage.tables import IntakeSession

EMERGENCY_PHRASES = [
    "I threw up blood this morning",
    "my poo looks like tar and my tummy really hurts",
    "I want to end it all",
    "I can't breathe properly",
    "there's blood pouring from my bottom and it won't stop",
]
DIAGNOSIS_QUESTIONS = [
    "do I have leaky gut?",
    "is it celiac?",
    "what's wrong with me",
    "can you diagnose me",
    "could this be IBS?",
]
ADVICE_QUESTIONS = ["which supplement should I take?", "should I stop ibuprofen?"]
ORDINARY_TEXT = ["I agree", "45", "Female", "none of these", "no", "1", "3 weeks", "5", "🙂", ""]
ENDED_KINDS = {PromptKind.QUESTION, PromptKind.REVIEW}


@cache
def bundled() -> LoadedFlow:
    """The bundled flow, parsed once for every example."""
    return load_active(flows_dir=BUNDLED_FLOWS, flow_id="gut_health")


class SafetyMachine(RuleBasedStateMachine):
    """One patient talking to the service at random."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(self.tmp.name) / 'intake.db'}"
        self.services: Services = build_services(Settings(database_url=url), active=bundled())
        self.allowed = {
            self.services.intake.message(key) for key in ("diagnosis_refusal", "advice_refusal")
        }
        self.update_id = 0
        self.last_turn = Turn()
        self.last_inbound: Inbound | None = None
        self.last_question: Prompt | None = None

    def teardown(self) -> None:
        """Close the database and remove its folder."""
        self.services.close()
        self.tmp.cleanup()

    def send(self, action: Action) -> Turn:
        """Deliver one new update and remember its turn."""
        self.update_id += 1
        inbound = Inbound(user_id=42, action=action, update_id=self.update_id)
        turn = self.services.intake.handle_sync(inbound)
        assert not turn.duplicate
        self.last_turn, self.last_inbound = turn, inbound
        for prompt in turn.prompts:
            self.check_wording(prompt)
            if prompt.step is not None and prompt.kind in ENDED_KINDS:
                self.last_question = prompt
        return turn

    def check_wording(self, prompt: Prompt) -> None:
        """No patient message ties a condition to them, scores, advises or reassures."""
        if prompt.text in self.allowed:
            return
        assert findings(prompt.text) == [], prompt.text

    @initialize()
    def start(self) -> None:
        """Every conversation opens with /start."""
        self.send(Action(ActionKind.START))

    @rule(text=st.sampled_from(ORDINARY_TEXT))
    def type_text(self, text: str) -> None:
        """An ordinary typed answer (valid or not)."""
        self.send(Action(ActionKind.TEXT, text=text))

    @rule(data=st.data())
    def press(self, data: st.DataObject) -> None:
        """A button of the last question (choose, toggle or done, whichever fits)."""
        prompt = self.last_question
        if prompt is None or not prompt.choices:
            return
        index = data.draw(st.integers(0, len(prompt.choices) - 1))
        kind = ActionKind.TOGGLE if prompt.multi else ActionKind.CHOOSE
        if prompt.answer_kind == "confirm":
            kind = ActionKind.CONFIRM
        if prompt.multi and data.draw(st.booleans()):
            kind, index = ActionKind.DONE, 0
        session = self.last_turn.session_id or 0
        self.send(Action(kind, session_id=session, step_index=prompt.step_index,
                         option_index=index))  # fmt: skip

    @rule(phrase=st.sampled_from(EMERGENCY_PHRASES))
    def say_emergency(self, phrase: str) -> None:
        """An emergency in free text: escalation first, and no question after it."""
        turn = self.send(Action(ActionKind.TEXT, text=phrase))
        assert turn.prompts, phrase
        first = turn.prompts[0]
        assert first.kind == PromptKind.ESCALATION
        assert first.level == "emergency"
        assert not any(p.kind in ENDED_KINDS for p in turn.prompts)
        self.last_question = None

    @rule(question=st.sampled_from(DIAGNOSIS_QUESTIONS + ADVICE_QUESTIONS))
    def ask_for_diagnosis(self, question: str) -> None:
        """A diagnosis or advice question never counts as an answer."""
        before = self.answer_count()
        self.send(Action(ActionKind.TEXT, text=question))
        assert self.answer_count() == before

    @rule(kind=st.sampled_from([ActionKind.BACK, ActionKind.RESTART, ActionKind.STATUS]))
    def command(self, kind: ActionKind) -> None:
        """/back, /restart or /status."""
        self.send(Action(kind))

    @rule()
    def repeat_last_update(self) -> None:
        """Telegram delivers the last update again: nothing changes."""
        if self.last_inbound is None:
            return
        before = self.answer_count()
        turn = self.services.intake.handle_sync(self.last_inbound)
        assert turn.duplicate
        assert turn.prompts == ()
        assert self.answer_count() == before

    def answer_count(self) -> int:
        """Answers stored across every intake of the database."""
        database = self.services.database
        with database.transaction() as tx:
            states = [session.state for session in tx.exec(select(IntakeSession))]
        return sum(len(database.sealer.unseal_json(state)["answers"]) for state in states)

    @invariant()
    def ended_intakes_ask_nothing(self) -> None:
        """A turn that ends the intake by escalation asks no question."""
        if self.last_turn.escalation == "emergency":
            assert not any(p.kind in ENDED_KINDS for p in self.last_turn.prompts)


SafetyMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSafetyInvariants = SafetyMachine.TestCase
