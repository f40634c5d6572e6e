"""Safety vignettes as data: the story model, how stories load, a run's result, tallies by level.

A vignette (a YAML file) names the review level its story must reach (emergency, same_day,
soon or routine), the answers that differ from a routine patient's (`_defaults.yaml` beside
the stories), texts typed before answering a step (`before`), paraphrases of its key text
(`say`, filled in for `{say}`; each paraphrase is one run), how it answers "Just to check"
questions and the refusals it expects. `tests.safety.player` plays and judges them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from ruamel.yaml import YAML

LEVELS = ("emergency", "same_day", "soon", "routine")
DEFAULTS_FILE = "_defaults.yaml"
SUITE = Path(__file__).resolve().parent / "vignettes"  # the bundled stories

YesNo = Literal["yes", "no"]
Refusal = Literal[
    "diagnosis_refusal",
    "diagnosis_refusal_named",
    "serious_refusal",
    "advice_refusal",
    "test_refusal",
]


class Vignette(BaseModel):
    """One patient story and the level it must reach."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    level: Literal["emergency", "same_day", "soon", "routine"]
    language: str = "en"
    story: str
    answers: dict[str, Any] = Field(default_factory=dict)
    before: dict[str, list[str]] = Field(default_factory=dict)
    say: list[str] = Field(default_factory=list)
    confirm: YesNo | dict[str, YesNo] = "no"
    expect: list[Refusal] = Field(default_factory=list)

    def confirms(self, flag: str) -> bool:
        """The story's answer to the confirming question about `flag`."""
        answer = self.confirm if isinstance(self.confirm, str) else self.confirm.get(flag, "no")
        return answer == "yes"


@dataclass
class Run:
    """One replay of a vignette (with one paraphrase)."""

    vignette: Vignette
    said: str | None
    level: str = "routine"
    problems: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)  # advice words in messages to the patient
    refusals: int = 0  # refusal messages sent

    @property
    def name(self) -> str:
        """The vignette id, with the paraphrase when there is one."""
        return f"{self.vignette.id} [{self.said}]" if self.said is not None else self.vignette.id


def load_vignettes(directory: Path) -> tuple[list[Vignette], dict[str, Any]]:
    """The vignettes in `directory` (sorted by file name) and the routine defaults."""
    yaml = YAML(typ="safe", pure=True)
    defaults = yaml.load((directory / DEFAULTS_FILE).read_text(encoding="utf-8")) or {}
    stories = [
        Vignette.model_validate(yaml.load(path.read_text(encoding="utf-8")))
        for path in sorted(directory.glob("*.yaml"))
        if not path.name.startswith("_")
    ]
    return stories, defaults


@dataclass(frozen=True)
class LevelTally:
    """Runs of stories expected at one level, and how many reached at least that level."""

    level: str
    runs: int
    caught: int  # reached the expected level or a more urgent one
    exact: int  # reached exactly the expected level

    @property
    def sensitivity(self) -> float:
        """Share of runs that reached at least the expected level."""
        return self.caught / self.runs if self.runs else 1.0


def tally(runs: list[Run]) -> list[LevelTally]:
    """One tally per level, most urgent first (routine: `caught` means not over-triaged)."""
    rank = {level: i for i, level in enumerate(LEVELS)}
    tallies = []
    for level in LEVELS:
        mine = [r for r in runs if r.vignette.level == level]
        caught = sum(rank[r.level] <= rank[level] for r in mine)
        if level == "routine":
            caught = sum(r.level == "routine" for r in mine)
        exact = sum(r.level == level for r in mine)
        tallies.append(LevelTally(level, len(mine), caught, exact))
    return tallies


def over_triaged(runs: list[Run]) -> list[Run]:
    """Routine stories that raised any flag."""
    return [r for r in runs if r.vignette.level == "routine" and r.level != "routine"]


def missed(runs: list[Run]) -> list[Run]:
    """Runs that stayed below their expected level."""
    return [r for r in runs if LEVELS.index(r.level) > LEVELS.index(r.vignette.level)]
