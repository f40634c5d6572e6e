"""A generator of benign patient texts: routine gut complaints in everyday words.

Foods, bloating and wind, tiredness, stress, sleep and everyday life, plus words that sound
alarming in another sense ("this bloating is killing me", "black coffee", "blood orange").
Used by the property test that random benign texts raise (almost) no flags, and by the report
of what the screen costs routine patients.
"""

from __future__ import annotations

import random

FOODS = (
    "bread", "pasta", "cheese", "milk", "onions", "garlic", "beans", "black coffee",
    "red wine", "beer", "chocolate", "spicy food", "a curry", "apples", "broccoli",
    "fizzy drinks", "tea", "toast", "cereal", "pizza", "blood orange juice", "black pudding",
    "black beans", "dark chocolate", "salad", "eggs", "yoghurt", "ice cream", "crisps",
)  # fmt: skip
SYMPTOMS = (
    "bloated", "really bloated", "gassy", "windy", "full very quickly", "a bit sluggish",
    "uncomfortable", "a mild tummy ache", "a rumbly tummy", "burpy", "constipated now and then",
    "loose poo sometimes", "heartburn after big meals", "a bit queasy", "tired", "foggy",
)  # fmt: skip
FEELINGS = (
    "tired all the time", "exhausted by the afternoon", "low on energy", "stressed at work",
    "anxious about exams", "worn out from the kids", "foggy in the mornings", "a bit down",
    "fed up with the bloating", "frustrated", "busy with deadlines", "short on sleep",
)  # fmt: skip
LIFE = (
    "walking the dog", "going to the gym", "night shifts", "late nights", "travelling for work",
    "my holiday", "Christmas", "moving house", "starting a new job", "the weekend",
    "a long flight", "a wedding", "my exams", "a stressful month",
)  # fmt: skip
IDIOMS = (
    "this bloating is killing me", "I'm dying for a proper night's sleep", "it's a bloody pain",
    "my heart sank when I saw the scales", "I could murder a pizza", "it drives me mad",
    "I'm sick of feeling bloated", "I'm sick and tired of it", "work is a nightmare",
    "I nearly died laughing", "my jeans are tight after lunch", "my chest of drawers fell over",
    "I went red in the face", "I've been feeling blue", "the pain in the neck is my boss",
)  # fmt: skip
TEMPLATES = (
    "I get {symptom} after {food}.",
    "Every time I eat {food} I feel {symptom}",
    "{feeling}, and {idiom}",
    "Since {life} I've been {symptom} most days",
    "I feel {symptom} when I'm {feeling}",
    "mostly {symptom}, worse after {food} and during {life}",
    "{idiom}. I feel {symptom} after {food}",
    "I'm {feeling} and get {symptom} after {food} or {food2}",
    "no real pain, just {symptom} after {food}",
    "I sleep badly after {life} and feel {feeling}",
)  # fmt: skip


def benign_text(rng: random.Random) -> str:
    """One routine patient text."""
    template = rng.choice(TEMPLATES)
    return template.format(
        food=rng.choice(FOODS),
        food2=rng.choice(FOODS),
        symptom=rng.choice(SYMPTOMS),
        feeling=rng.choice(FEELINGS),
        life=rng.choice(LIFE),
        idiom=rng.choice(IDIOMS),
    )


def benign_texts(count: int, seed: int = 0) -> list[str]:
    """`count` routine patient texts, reproducibly."""
    rng = random.Random(seed)
    return [benign_text(rng) for _ in range(count)]
