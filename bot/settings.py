"""Settings of the product, read once at the edge from the environment or `.env`.

Names are the contract of DESIGN §6 (prefix `INTAKE_`). Nothing else reads the environment.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:  # the flow model is imported by the commands that load a flow, not here
    from flows.engine.loading.cache import FlowCache

BUNDLED_FLOWS = Path(__file__).resolve().parent.parent / "flows" / "definitions"
PLACEHOLDER_BOOKING_URL = "https://clinic.example/book?ref={intake_id}"


class Settings(BaseSettings):
    """Every setting of the product, with its default."""

    model_config = SettingsConfigDict(
        env_prefix="INTAKE_",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    database_url: str = "sqlite:///./intake.db"
    flow: str = "gut_health"
    flows_dir: Path = BUNDLED_FLOWS
    booking_url: str = PLACEHOLDER_BOOKING_URL
    review_chat_id: int | None = None
    # notices: the review chat learns only level, item number and age; full_cards: it gets the
    # whole clinician summary (every member of the group reads it, and Telegram stores it)
    review_chat_mode: Literal["notices", "full_cards"] = "notices"
    clinician_ids: str = ""
    emergency_number: str = "112"
    encryption_key: SecretStr | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    listen: str = "127.0.0.1:8080"
    flow_watch_seconds: float = Field(default=5.0, ge=0)
    abandon_after_hours: float = Field(default=24.0, gt=0)
    flow_cache_dir: str | None = None  # None: the user's cache folder; "off": no cache
    log_level: str = Field(default="INFO")
    # retention, in days (0: keep until the patient deletes it)
    retain_unfinished_days: int = Field(default=30, ge=0)
    retain_reviewed_days: int = Field(default=365, ge=0)
    retain_audit_days: int = Field(default=730, ge=0)
    # Telegram redelivers an update for up to a day: a shorter memory could apply one twice;
    # it reuses update ids after a week: a longer one could swallow a new update as a repeat
    retain_updates_days: int = Field(default=7, ge=2, le=7)
    # a legal duty to keep reviewed intakes (medical records); 0: none
    legal_retention_days: int = Field(default=0, ge=0)

    @field_validator("clinician_ids")
    @classmethod
    def _ids_are_numbers(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip() and not part.strip().lstrip("-").isdigit():
                raise ValueError(f"'{part.strip()}' is not a Telegram user id (digits only)")
        return value

    @property
    def clinician_id_set(self) -> frozenset[int]:
        """The clinician allow-list as integers."""
        return frozenset(int(p) for p in self.clinician_ids.split(",") if p.strip())

    @property
    def instance_name(self) -> str:
        """This process's name in the inbox: host and listening address (or `polling`); the
        same after a restart, so a restarted process takes back what it held."""
        where = self.listen if self.webhook_url else "polling"
        return f"{socket.gethostname()}:{where}"

    @property
    def flow_cache(self) -> FlowCache | None:
        """The cache of validated flows (see flows.engine.loading.cache), or None when off."""
        from flows.engine.loading.cache import FlowCache

        if self.flow_cache_dir is None:
            base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
            return FlowCache(Path(base) / "intake-bot" / "flows")
        if self.flow_cache_dir.strip().lower() == "off":
            return None
        return FlowCache(Path(self.flow_cache_dir).expanduser())

    @property
    def encryption_keys(self) -> str | None:
        """The encryption key(s), newest first, or None."""
        return self.encryption_key.get_secret_value() if self.encryption_key else None

    @property
    def booking_url_is_placeholder(self) -> bool:
        """Whether the booking link is still the shipped placeholder."""
        return self.booking_url == PLACEHOLDER_BOOKING_URL
