"""Typed patients for the stats tests and bench: every line one answer, as in the terminal chat.

`ROUTINE` completes the bundled intake (no red flag); `EMERGENCY` reports vomiting blood at the
first safety question.
"""

ROUTINE = [
    "I agree",
    "34",
    "Female",
    "No",
    "None of these",
    "never",
    "no",
    "none of these",
    "None of these",
    "I get bloated after most meals and my tummy hurts",
    "6 months",
    "1, 2",
    "6",
    "weekly",
    "5",
    "weekly",
    "lower",
    "tiredness, brain fog",
    "6",
    "4",
    "monthly",
    "one_two",
    "most_days",
    "7",
    "badly",
    "no",
    "no",
    "/skip",
    "not_sure",
    "none",
    "none",
    "none",
    "I want to understand what is going on",
    "/skip",
    "submit",
]
EMERGENCY = ["I agree", "58", "Male", "1", "What happens next?"]
