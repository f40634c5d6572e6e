"""The building blocks of every flow model: step ids, option values, language codes,
patient-facing `Text`, and `Strict`, the base model that refuses unknown keys and keeps values
immutable.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

StepId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
OptionValue = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=32)]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]

Text = str | dict[LanguageCode, str]
"""Patient-facing text: one string (the default language) or a mapping language -> string."""


class Strict(BaseModel):
    """Base for flow models: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
