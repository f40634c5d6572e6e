"""Phrase matching for the free-text screen: normalised words with their spans, spelling tolerance.

Text is cut into clauses at punctuation and at a language's clause-break words ("but"), and
into words, each folded (lower case, accents and apostrophes dropped, letters repeated three or
more times collapsed to two) and kept with its place in the original text, so a match can quote
the patient's own words. A `Vocabulary` maps each word to its canonical form: a listed variant
("poop" -> "poo"), a known word, or a near miss of a known word with the same first letter:
no tolerance under five letters, one edit (insertion, deletion, substitution or swap) for five
to eight letters, two from nine ("diarhoea", "vomitted"). Listed real words ("fewer") are never
read as slips. A `PhraseSet` finds phrases as word sequences with small gaps ("threw up some
blood" holds "threw up blood"). Everything here is pure and compiled once per flow version.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice, product

from rapidfuzz.distance import OSA

FUZZY_MIN_LENGTH = 5  # known words shorter than this are matched exactly
TWO_EDITS_LENGTH = 9  # known words this long tolerate two edits
QUERY_MIN_LENGTH = 4  # a typed word shorter than this is never corrected
GUESS_CACHE_SIZE = 20_000  # bounded memo of spelling guesses; cleared when full
MAX_READINGS = 8  # readings of one clause with ambiguous slips
_APOSTROPHES = str.maketrans("", "", "'’‘`´ʼ")
_NON_ASCII_APOSTROPHES = re.compile("['’‘`´ʼ]")
_COMBINING = re.compile(r"[\u0300-\u036f]")  # accents left apart by NFKD
_REPEATS = re.compile(r"(.)\1{2,}")
_PUNCTUATION = re.compile(r"[.,;:!?\n\r()\[\]{}\"“”/|…¿¡]+|\s[-–—]+\s")
_TOKEN = re.compile(r"[^\W_]+(?:['’‘`´ʼ][^\W_]+)*")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"[a-z0-9]+")

AMBIGUOUS = "|"  # joins the known words a slip is equally near to
Token = tuple[str, int, int]
"""A folded word and its start and end in the original text."""


def fold(text: str) -> str:
    """Lower-case `text`, strip accents and apostrophes, and collapse letters repeated 3+ times."""
    bare = text.lower()
    if bare.isascii():
        bare = bare.translate(_APOSTROPHES)
    else:  # str.translate is slow on non-ASCII text; a regex is not
        bare = _COMBINING.sub("", unicodedata.normalize("NFKD", bare))
        bare = _NON_ASCII_APOSTROPHES.sub("", bare)
    return _REPEATS.sub(r"\1\1", bare)


def words(text: str) -> list[str]:
    """The folded words of `text`, ignoring punctuation."""
    return _WORD.findall(fold(text))


def clauses(text: str, breaks: frozenset[str]) -> Iterator[list[Token]]:
    """The folded words of `text` with their spans, one list per clause.

    Punctuation and break words end a clause.
    """
    start = 0
    for cut in [*_PUNCTUATION.finditer(text), None]:
        end = cut.start() if cut is not None else len(text)
        clause: list[Token] = []
        for token in _TOKEN.finditer(text, start, end):
            word = _NOT_WORD.sub("", fold(token.group()))
            if not word:
                continue
            if word in breaks:
                if clause:
                    yield clause
                clause = []
            else:
                clause.append((word, token.start(), token.end()))
        if clause:
            yield clause
        if cut is not None:
            start = cut.end()


def _options(word: str) -> tuple[str, ...]:
    """The known words a (possibly ambiguous) canonical word stands for."""
    return tuple(word.split(AMBIGUOUS)) if AMBIGUOUS in word else (word,)


def allowed_edits(length: int) -> int:
    """Spelling slips tolerated in a known word of `length` letters."""
    if length < FUZZY_MIN_LENGTH:
        return 0
    return 1 if length < TWO_EDITS_LENGTH else 2


def within_one_edit(a: str, b: str) -> bool:
    """Whether `a` becomes `b` by one insertion, deletion, substitution or adjacent swap."""
    return bool(OSA.distance(a, b, score_cutoff=1) <= 1)


def _deletions(word: str, depth: int) -> set[str]:
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


class Vocabulary:
    """Canonical forms of words: variants, known words, and near misses of known words.

    A variant may be several words ("throw up" -> "vomit", "blood test" -> "bloodtest"); such
    sequences are replaced by their canonical word after each word is made canonical.
    """

    def __init__(
        self,
        variants: dict[str, list[str]],
        known: Iterable[str],
        real: Iterable[str] = (),
        preferred: Iterable[str] = (),
    ) -> None:
        self._canonical: dict[str, str] = {}
        multi: list[tuple[str, str]] = []
        for word, others in variants.items():
            head = fold(word)
            self._canonical[head] = head
            for other in map(fold, others):
                if " " in other.strip():
                    multi.append((other, head))
                else:
                    self._canonical.setdefault(other.strip(), head)
        for word in known:
            self._canonical.setdefault(word, word)
        self._near: dict[str, set[str]] = {}
        for word in self._canonical:
            if word.isalpha():
                for key in _deletions(word, allowed_edits(len(word))):
                    self._near.setdefault(key, set()).add(word)
        for word in real:  # real words are themselves, never someone's slip
            self._canonical.setdefault(fold(word), fold(word))
        self._guessed: dict[str, str] = {}  # unknown word -> nearest known word (or itself)
        # between equally near words, a red-flag word wins: a missed flag costs more
        self._preferred = frozenset(self._canonical.get(w, w) for w in preferred)
        self._multi: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for other, head in multi:
            seq = tuple(self._canonical.get(w, w) for w in _WORD.findall(other))
            self._multi.setdefault(seq[0], []).append((seq, head))
        for entries in self._multi.values():
            entries.sort(key=lambda entry: -len(entry[0]))

    def knows(self, word: str) -> bool:
        """Whether a folded word is a listed word (a variant, a known or a real word)."""
        return word in self._canonical

    def canonical(self, word: str) -> str:
        """The canonical form of one folded word (the word itself when nothing is close)."""
        found = self._canonical.get(word) or self._guessed.get(word)
        if found is not None:
            return found
        if len(word) < QUERY_MIN_LENGTH or not word.isalpha():
            return word
        if len(self._guessed) >= GUESS_CACHE_SIZE:
            self._guessed.clear()
        self._guessed[word] = self._nearest(word)
        return self._guessed[word]

    def _nearest(self, word: str) -> str:
        candidates: set[str] = set()
        depth = 2 if len(word) >= TWO_EDITS_LENGTH - 1 else 1
        for key in _deletions(word, depth):
            candidates |= self._near.get(key, set())
        # Slips rarely change a first letter; "fizzy" is not "dizzy", "never" not "fever".
        ranked: list[tuple[int, bool, str]] = []
        for known in candidates:
            limit = allowed_edits(len(known))
            if known[0] != word[0] or not limit:
                continue
            distance = int(OSA.distance(word, known, score_cutoff=limit))
            if distance <= limit:
                preferred = self._canonical[known] in self._preferred
                ranked.append((distance, not preferred, self._canonical[known]))
        if not ranked:
            return word
        best = min(ranked)[:2]
        # a slip equally near several red-flag words stands for all of them
        tied = sorted({c for d, p, c in ranked if (d, p) == best})
        return AMBIGUOUS.join(tied)

    def readings(self, raw: list[Token]) -> list[list[Token]]:
        """Each way to read a clause: one, or one per word a slip is equally near to."""
        known = self._canonical.get
        single = [(known(w) or self.canonical(w), a, b) for w, a, b in raw]
        if not any(AMBIGUOUS in w for w, _, _ in single):
            return [self._join(single)]
        choices = [[(o, a, b) for o in _options(w)] for w, a, b in single]
        return [self._join(list(r)) for r in islice(product(*choices), MAX_READINGS)]

    def clause(self, raw: list[Token]) -> list[Token]:
        """The canonical words of a clause with their spans, several-word variants joined."""
        return self.readings(raw)[0]

    def _join(self, single: list[Token]) -> list[Token]:
        multi = self._multi
        options = [_options(w) for w, _, _ in single]
        if multi.keys().isdisjoint(w for choice in options for w in choice):
            return single
        joined: list[Token] = []
        i = 0
        while i < len(single):
            head = self._joined(options, i)
            if head is None:
                joined.append(single[i])
                i += 1
            else:
                word, size = head
                joined.append((word, single[i][1], single[i + size - 1][2]))
                i += size
        return joined

    def _joined(self, options: list[tuple[str, ...]], i: int) -> tuple[str, int] | None:
        """The several-word variant starting at `i` (its head and length), if any."""
        for first in options[i]:
            for seq, head in self._multi.get(first, ()):
                window = options[i : i + len(seq)]
                if len(window) == len(seq) and all(
                    s in o for s, o in zip(seq, window, strict=True)
                ):
                    return head, len(seq)
        return None

    def phrase(self, text: str) -> tuple[str, ...]:
        """The canonical words of a data phrase."""
        return tuple(w for w, _, _ in self.clause([(w, 0, 0) for w in words(text)]))


@dataclass(frozen=True, slots=True)
class Entry:
    """A phrase to find: its canonical words, what it means (kind, tag), and its allowed gap.

    `slot` is the range of word positions a placeholder ('{condition}') filled.
    """

    words: tuple[str, ...]
    kind: str
    tag: str
    gap: int
    slot: tuple[int, int] = (0, 0)


@dataclass(frozen=True, slots=True)
class Match:
    """Where an entry was found in a clause: the positions of its words."""

    entry: Entry
    positions: tuple[int, ...]

    @property
    def start(self) -> int:
        """Position of the phrase's first word."""
        return self.positions[0]


class PhraseSet:
    """Entries indexed by their first word, found in one pass over a clause."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._by_first: dict[str, list[tuple[Entry, frozenset[str]]]] = {}
        for entry in dict.fromkeys(e for e in entries if e.words):
            needed = frozenset(entry.words)
            self._by_first.setdefault(entry.words[0], []).append((entry, needed))

    def find(self, clause: list[str]) -> list[Match]:
        """Every entry occurrence in a clause of canonical words."""
        present = set(clause)
        found: list[Match] = []
        for start, word in enumerate(clause):
            for entry, needed in self._by_first.get(word, ()):
                if needed <= present:
                    positions = _extend(clause, entry, (start,))
                    if positions is not None:
                        found.append(Match(entry, positions))
        return found


def _extend(clause: list[str], entry: Entry, done: tuple[int, ...]) -> tuple[int, ...] | None:
    """Positions of the rest of `entry` after `done`, each within the gap, or None."""
    if len(done) == len(entry.words):
        return done
    wanted = entry.words[len(done)]
    last = done[-1]
    for at in range(last + 1, min(len(clause), last + 2 + entry.gap)):
        if clause[at] == wanted:
            found = _extend(clause, entry, (*done, at))
            if found is not None:
                return found
    return None
