"""Reading how long something has gone on, as patients write it.

An amount and a unit ("3 weeks", "a couple of months", "1.5 years", "2-3 weeks", "18 hrs")
is stored as whole days. A phrase is stored with the patient's words beside its days, by a
fixed rule, so a clinician reads both: hours and "today", "since this morning" or "since last
night" count as 1 day; "since yesterday" 1; "since Monday" the days back to it; "since
Christmas", "since March" or "since 2019" the days since then; "recently" 14; and the long
vague ones ("ages", "years", "forever", "as long as I can remember") more than a year (366
days). Words that say nothing about length ("a while", "some time") are not readable: the
patient is asked again with examples. Ranges take the longer end.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

UNIT_DAYS = {"hour": 0, "day": 1, "week": 7, "fortnight": 14, "month": 30, "year": 365}
UNIT_DAYS["decade"] = 3650
UNIT_ALIASES = {
    "h": "hour", "hr": "hour", "hrs": "hour", "d": "day", "wk": "week", "wks": "week",
    "w": "week", "mo": "month", "mos": "month", "mth": "month", "mths": "month",
    "mnth": "month", "mnths": "month", "yr": "year", "yrs": "year", "y": "year",
    "hora": "hour", "dia": "day", "semana": "week", "mes": "month", "mese": "month",
    "ano": "year", "quincena": "fortnight",
}  # fmt: skip
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "couple": 2, "three": 3, "few": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12, "several": 4, "half": 0.5, "dozen": 12, "many": 5, "some": 3,
    "un": 1, "uno": 1, "una": 1, "dos": 2, "par": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12,
    "varios": 4, "varias": 4, "medio": 0.5, "media": 0.5, "unos": 3, "unas": 3,
}  # fmt: skip
LONG_VAGUE_DAYS = 366  # "ages", "years": more than a year
RECENT_DAYS = 14
SAME_DAY = ("today", "this morning", "this afternoon", "this evening", "last night", "tonight")
LONG_VAGUE = (
    "ages", "forever", "years", "for years", "many years", "donkeys years", "a long time",
    "a long while", "a very long time", "as long as i can remember", "all my life",
    "my whole life", "since i was a child", "since i was a kid", "since childhood",
    "since i was little", "since i was young", "since i was a teenager", "since birth",
    "since forever", "decades", "for ages", "for ever",
)  # fmt: skip
RECENT = ("recently", "not long", "a short while", "a little while", "lately", "just started")
MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
DAYS_OF_WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FEASTS = {"christmas": (12, 25), "xmas": (12, 25), "new year": (1, 1), "new years": (1, 1)}
FEASTS |= {"the summer": (6, 21), "summer": (6, 21), "the spring": (3, 20), "spring": (3, 20)}
FEASTS |= {"the autumn": (9, 22), "autumn": (9, 22), "the winter": (12, 21), "winter": (12, 21)}
_LEAD = re.compile(
    r"^(?:(?:for|about|around|roughly|maybe|probably|over|almost|nearly|approx|approximately"
    r"|like|just|more than|less than|under|at least|a good|the last|the past|past|last|since"
    r"|desde hace|hace|durante|desde|los ultimos|las ultimas|el ultimo|la ultima|mas de|casi"
    r"|como|alrededor de|aproximadamente"
    r"|it has been|its been|it's been|been|i think|i guess|well|um|erm|oh)\s+)+"
)
_TAIL = re.compile(r"(?:\s+(?:ago|now|or so|or more|and counting|on and off|or longer|ya"
                   r"|about|maybe|i think|at least))+$")  # fmt: skip
_NUM = r"\d+(?:[.,]\d+)?"
_AMOUNT = re.compile(
    rf"^(?:an?\s+)?(?:(?P<num>{_NUM}(?=\s*[-a-z])|[a-z]+(?=\s))"
    rf"(?:\s*(?:-|to|or)\s*(?P<upper>{_NUM}|[a-z]+(?=\s)))?"
    r"(?:\s+and\s+a\s+half)?(?:\s+(?:of|de))?\s*)?(?:a\s+)?(?P<unit>[a-z]+?)(?:e?s)?"
    r"(?P<half>\s+and\s+a\s+half)?$"
)


def parse_duration(raw: str, today: date | None = None) -> int | dict[str, Any] | None:
    """Days in a duration, or a phrase's days with its words; None when it is unreadable."""
    said = " ".join(raw.split())
    full = _clean(raw)
    text = _TAIL.sub("", _LEAD.sub("", full)).strip()
    if not text:
        return None
    forms = (full, full.removeprefix("since "), text)
    if any(form in LONG_VAGUE for form in forms):
        return {"days": LONG_VAGUE_DAYS, "said": said}
    days = _amount(text)
    if isinstance(days, int):
        return days
    if days == "hours":
        return {"days": 1, "said": said}
    today = today or datetime.now(UTC).date()
    for form in forms:
        phrase = _phrase(form, today)
        if phrase is not None:
            return {"days": phrase, "said": said}
    return None


def _clean(raw: str) -> str:
    folded = unicodedata.normalize("NFKD", raw.casefold().replace("’", "'"))
    text = "".join(c for c in folded if not unicodedata.combining(c))
    text = re.sub(r"[^\w\s.,'-]", " ", text)
    return " ".join(text.replace(",", " ").split()).strip(" .")


def _amount(text: str) -> int | str | None:
    """Whole days of 'N unit' ('hours' for a count of hours; None when not an amount)."""
    match = _AMOUNT.match(text)
    if not match:
        return None
    unit = UNIT_ALIASES.get(match["unit"], match["unit"])
    if unit not in UNIT_DAYS:
        return None
    amount = _number(match["upper"] or match["num"] or "1")
    if amount is None or amount <= 0:
        return None
    if " and a half" in text:
        amount += 0.5
    if unit == "hour":
        return "hours"
    return max(1, round(amount * UNIT_DAYS[unit]))


def _number(word: str) -> float | None:
    if word[0].isdigit():
        return float(word.replace(",", "."))
    return NUMBER_WORDS.get(word)


def _phrase(text: str, today: date) -> int | None:
    """Days for a phrase by the module's rule, or None."""
    if text in RECENT:
        return RECENT_DAYS
    if text in SAME_DAY or text in ("yesterday", "the day before yesterday"):
        return 1 if text != "the day before yesterday" else 2
    if text in DAYS_OF_WEEK:
        return (today.weekday() - DAYS_OF_WEEK.index(text) - 1) % 7 + 1
    if text in ("the weekend", "weekend"):
        return (today.weekday() - 5) % 7 + 1
    if text in FEASTS:
        return _since(today, *FEASTS[text])
    parts = text.split()
    if parts and parts[0] in MONTHS:
        year = int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else None
        return _since(today, MONTHS.index(parts[0]) + 1, 1, year)
    if re.fullmatch(r"(?:19|20)\d\d", text):
        return _since(today, 1, 1, int(text))
    return None


def _since(today: date, month: int, day: int, year: int | None = None) -> int | None:
    """Days since the most recent `month`/`day` (of `year` when given) up to today."""
    when = date(year if year is not None else today.year, month, day)
    if year is None and when > today:
        when = date(today.year - 1, month, day)
    days = (today - when).days
    return max(1, days) if days >= 0 else None
