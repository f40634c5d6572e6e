"""Wording lint for operator texts (being built): rejects diagnostic, scoring, advice and reassurance wording."""

from __future__ import annotations

from flows.engine.model import Flow
from flows.engine.problems import Problem, SourceMap


def lint(flow: Flow, source_map: SourceMap, file: str) -> list[Problem]:
    """Problems with the wording of every patient-facing text of `flow`."""
    return []
