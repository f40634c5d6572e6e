"""What the Telegram front end needs of the intake service: a `typing.Protocol` seam.

`flows.intake.service.IntakeService` satisfies it; tests may pass a fake. Only values of
`flows.engine.conversation.values` cross it, never a Telegram type.
"""

from __future__ import annotations

from typing import Protocol

from bot.settings import Settings
from flows.engine.conversation.values import Inbound, Turn
from flows.intake.abandonment import IdleSweeper
from storage.database import Database


class Deletion(Protocol):
    """The outcome of erasing a patient."""

    @property
    def message(self) -> str:
        """What to tell the patient (what was deleted, what the clinic keeps and why)."""
        ...


class PatientService(Protocol):
    """The patient side of the intake service, as the bot calls it."""

    async def handle(self, inbound: Inbound) -> Turn:
        """Run one patient turn (idempotent on `inbound.update_id`)."""
        ...

    def fallback(self, inbound: Inbound) -> Turn:
        """The failed-turn reply (with the emergency number) for an update not stored."""
        ...

    async def delete_patient(self, *, user_id: int, language: str | None = None) -> Deletion:
        """Erase everything about a patient (but what a legal duty keeps)."""
        ...

    async def patient_copy(self, *, user_id: int, language: str | None = None) -> list[str]:
        """The lines of the patient's copy of everything stored about them."""
        ...

    async def save_contact(self, *, user_id: int, phone: str) -> str | None:
        """Keep the patient's own call-back number (sealed); the intake status, None if none."""
        ...

    async def mark_unreachable(self, *, user_id: int) -> None:
        """Record that the patient blocked the bot."""
        ...

    async def replay(self, *, user_id: int, language: str | None = None) -> Turn:
        """What to send a patient whose last reply may have been lost."""
        ...

    def message(self, key: str, language: str | None = None) -> str:
        """A `messages:` text of the active flow."""
        ...

    @property
    def languages(self) -> list[str]:
        """The active flow's languages, the default first."""
        ...

    @property
    def failures(self) -> int:
        """Failed turns since start."""
        ...


class ServiceSet(Protocol):
    """The composition root's services, as far as the bot needs them."""

    @property
    def settings(self) -> Settings:
        """The settings everything was built from."""
        ...

    @property
    def intake(self) -> PatientService:
        """The intake service."""
        ...

    @property
    def database(self) -> Database:
        """The database (the bot keeps its inbox there)."""
        ...

    @property
    def sweeper(self) -> IdleSweeper:
        """Closes idle intakes (run by the bot's housekeeping)."""
        ...
