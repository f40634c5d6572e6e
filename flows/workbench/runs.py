"""What one scenario run recorded, and how a run tells where it went wrong.

A `Run` is transport-neutral: the texts shown (with `{booking_url}` and `{emergency_number}`
left as placeholders), the steps asked, each red flag with the level it reached and the step
it was raised at, the `next` branches followed, the end, and the patient's `Move`s, which
other channels (the terminal chat, Telegram) replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.engine.conversation.prompts import Placeholders
from flows.workbench.scenario_files import LoadedScenario

PLACES = Placeholders(booking_url="{booking_url}", emergency_number="{emergency_number}")
IN_PROGRESS, ESCALATED, CANCELLED = "in_progress", "escalated", "cancelled"


@dataclass(frozen=True)
class Move:
    """One thing the patient did: press, toggle, done, type, confirm or a command."""

    kind: str
    step: str | None
    value: str | None = None  # option value, typed text, command, or yes / no
    index: int | None = None  # the option's position among the step's buttons


@dataclass(frozen=True)
class Raised:
    """A red flag as raised: its level (after modifiers) and the step it came up at."""

    level: str
    step: str


@dataclass(frozen=True)
class Failure:
    """Where a run diverged from its scenario, and how."""

    line: int
    step: str | None
    what: str
    expected: str
    actual: str

    def describe(self, file: str) -> str:
        """`file:line: at step S: what: expected E, got A`."""
        where = f" at step {self.step}:" if self.step else ""
        return (
            f"{file}:{self.line}:{where} {self.what}: expected {self.expected}, got {self.actual}"
        )


@dataclass
class Run:
    """Everything a scenario run recorded."""

    loaded: LoadedScenario
    flow_file: str
    failures: list[Failure] = field(default_factory=list)
    shown: list[tuple[str, str]] = field(default_factory=list)  # (step at the time, text)
    asked: list[str] = field(default_factory=list)
    raised: dict[str, Raised] = field(default_factory=dict)
    edges: set[tuple[str, str]] = field(default_factory=set)
    passed_over: set[str] = field(default_factory=set)
    moves: list[Move] = field(default_factory=list)
    end: str = IN_PROGRESS
    end_step: str = ""
    status: str = "active"
    priority: str = "none"

    @property
    def passed(self) -> bool:
        """Whether the run met every expectation."""
        return not self.failures

    def fail(self, line: int, step: str | None, what: str, expected: str, actual: str) -> None:
        """Record a divergence."""
        self.failures.append(Failure(line, step, what, expected, actual))
