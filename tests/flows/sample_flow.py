"""A small review-side flow built in code: every answer kind, sections, flags and workup hints."""

from __future__ import annotations

import itertools
from typing import Any

from flows.engine.format.messages import Messages
from flows.engine.format.model import Flow


def _choice(prompt: str, label: str, section: str, options: dict[str, str]) -> dict[str, Any]:
    return {
        "prompt": prompt,
        "label": label,
        "section": section,
        "answer": {
            "kind": "choice",
            "options": [{"value": v, "label": lab} for v, lab in options.items()],
        },
    }


def sample_flow_data() -> dict[str, Any]:
    """The flow as plain data (what a YAML file would hold)."""
    steps: dict[str, Any] = {
        "consent": _choice("May we?", "Consent", "admin", {"agree": "I agree", "no": "No"}),
        "age": {
            "prompt": "How old are you?",
            "label": "Age",
            "section": "about",
            "answer": {"kind": "number", "min": 16, "max": 110, "unit": "years"},
        },
        "vomit_blood": {
            "prompt": "Have you vomited blood?",
            "label": "Vomited blood",
            "section": "red_flags",
            "answer": {"kind": "yes_no"},
        },
        "main_concern": {
            "prompt": "What worries you most?",
            "label": "Main concern",
            "section": "concern",
            "answer": {"kind": "text"},
        },
        "concern_duration": {
            "prompt": "How long has it been going on?",
            "label": "How long",
            "section": "concern",
            "answer": {"kind": "duration"},
        },
        "gi_symptoms": {
            "prompt": "Which of these do you have?",
            "label": "Digestive symptoms",
            "section": "symptoms",
            "answer": {
                "kind": "multi",
                "options": [
                    {"value": "bloating", "label": "Bloating"},
                    {"value": "diarrhoea", "label": "Diarrhoea"},
                    {"value": "none", "label": "None of these"},
                ],
                "none": "none",
            },
        },
        "bloating_severity": {
            "prompt": "How bad is the bloating?",
            "label": "Bloating: how bad",
            "section": "symptoms",
            "answer": {"kind": "scale", "low": "none", "high": "worst"},
        },
        "bloating_frequency": _choice(
            "How often?",
            "Bloating: how often",
            "symptoms",
            {"daily": "Every day", "weekly": "Every week", "rarely": "Rarely"},
        ),
        "nsaids": {
            "prompt": "Do you take ibuprofen or similar?",
            "label": "NSAIDs",
            "section": "exposures",
            "answer": {"kind": "yes_no"},
        },
        "family_history": {
            "prompt": "Does anyone in your family have these?",
            "label": "Family history",
            "section": "history",
            "answer": {
                "kind": "multi",
                "options": [
                    {"value": "coeliac", "label": "Coeliac disease"},
                    {"value": "ibd", "label": "IBD"},
                    {"value": "none", "label": "None"},
                ],
                "none": "none",
            },
        },
        "goals": {
            "prompt": "What do you hope for?",
            "section": "goals",
            "answer": {"kind": "text"},
        },
        "end": {"prompt": "Thank you.", "answer": {"kind": "end"}},
    }
    order = list(steps)
    for current, following in itertools.pairwise(order):
        steps[current]["next"] = following
    return {
        "id": "sample",
        "version": 3,
        "title": "Sample intake",
        "languages": ["en"],
        "start": "consent",
        "consent": {"step": "consent", "accept": "agree"},
        "sections": [
            {"id": sid, "title": title}
            for sid, title in [
                ("red_flags", "Red-flag questions"),
                ("concern", "Main concern"),
                ("symptoms", "Symptoms"),
                ("exposures", "Exposures"),
                ("history", "Known diagnoses and family history"),
                ("goals", "Goals"),
            ]
        ],
        "steps": steps,
        "red_flags": [
            {
                "id": "vomit_blood",
                "level": "emergency",
                "label": "Vomiting blood",
                "when": {"answer": "vomit_blood", "equals": "yes"},
                "message": "Call now.",
            },
            {
                "id": "nsaid_flag",
                "level": "same_day",
                "label": "Bleeding on NSAIDs",
                "when": {"answer": "nsaids", "equals": "yes"},
                "message": "Call today.",
                "after_end": "Call today (told after the end).",
            },
            {
                "id": "family_history",
                "level": "soon",
                "label": "Family history with symptoms",
                "when": {"answer": "family_history", "includes": "ibd"},
                "message": "See a doctor soon.",
            },
        ],
        "workup": [
            {
                "panel": "stool_panel",
                "label": "Comprehensive stool panel",
                "when": {"answer": "gi_symptoms", "includes": "diarrhoea"},
                "reason": "Diarrhoea reported: check calprotectin.",
            },
            {
                "panel": "coeliac_panel",
                "label": "Coeliac panel",
                "when": {"answer": "family_history", "includes": "coeliac"},
                "reason": "Family history of coeliac disease.",
            },
        ],
        "messages": {
            **{name: f"[{name}]" for name in Messages.model_fields},
            "turn_failed": "[turn_failed] {emergency_number}",
        },
    }


def sample_flow() -> Flow:
    """The sample flow as a validated model."""
    return Flow.model_validate(sample_flow_data())


def sample_answers() -> dict[str, Any]:
    """A complete set of answers to the sample flow."""
    return {
        "consent": "agree",
        "age": 52,
        "vomit_blood": "no",
        "main_concern": "Bloating after every meal",
        "concern_duration": 21,
        "gi_symptoms": ["bloating", "diarrhoea"],
        "bloating_severity": 7,
        "bloating_frequency": "daily",
        "nsaids": "yes",
        "family_history": ["coeliac"],
        "goals": "Understand what is going on",
    }
