"""Phrase matching for the free-text screen: normalised words, spelling tolerance, word gaps.

Text is folded (lower case, accents and apostrophes dropped, letters repeated three or more
times collapsed to two), cut into clauses at punctuation and at a language's clause-break words
("but"), and split into words. A `Vocabulary` maps each word to its canonical form: a listed
variant ("poop" -> "poo"), a known word, or a known word of five or more letters one edit away
with the same first letter ("vomitted" -> "vomited"). A `PhraseSet` finds phrases as word
sequences with small gaps ("threw up some blood" holds "threw up blood"). Everything here is
pure and compiled once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

FUZZY_MIN_LENGTH = 5
GUESS_CACHE_SIZE = 20_000  # bounded memo of spelling guesses; cleared when full
_APOSTROPHES = str.maketrans("", "", "'’‘`´ʼ")
_NON_ASCII_APOSTROPHES = re.compile("['’‘`´ʼ]")
_COMBINING = re.compile(r"[\u0300-\u036f]")  # accents left apart by NFKD
_REPEATS = re.compile(r"(.)\1{2,}")
_PUNCTUATION = re.compile(r"[.,;:!?\n\r()\[\]{}\"“”/|…¿¡]+|\s[-–—]+\s")
_WORD = re.compile(r"[a-z0-9]+")


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


def clauses(text: str, breaks: frozenset[str]) -> Iterator[list[str]]:
    """The folded words of `text`, one list per clause (punctuation and break words end one)."""
    for piece in _PUNCTUATION.split(fold(text)):
        clause: list[str] = []
        for word in _WORD.findall(piece):
            if word in breaks:
                if clause:
                    yield clause
                clause = []
            else:
                clause.append(word)
        if clause:
            yield clause


def within_one_edit(a: str, b: str) -> bool:
    """Whether `a` becomes `b` by one insertion, deletion, substitution or adjacent swap."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    if a[i + 1 :] == b[i + 1 :]:
        return True
    return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Vocabulary:
    """Canonical forms of words: variants, known words, and near misses of long known words.

    A variant may be several words ("throw up" -> "vomit", "blood test" -> "bloodtest"); such
    sequences are replaced by their canonical word after each word is made canonical.
    """

    def __init__(self, variants: dict[str, list[str]], known: Iterable[str]) -> None:
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
            if len(word) >= FUZZY_MIN_LENGTH and word.isalpha():
                for key in {word, *_deletions(word)}:
                    self._near.setdefault(key, set()).add(word)
        self._guessed: dict[str, str] = {}  # unknown word -> nearest known word (or itself)
        self._multi: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for other, head in multi:
            seq = tuple(self._canonical.get(w, w) for w in _WORD.findall(other))
            self._multi.setdefault(seq[0], []).append((seq, head))
        for entries in self._multi.values():
            entries.sort(key=lambda entry: -len(entry[0]))

    def canonical(self, word: str) -> str:
        """The canonical form of one folded word (the word itself when nothing is close)."""
        found = self._canonical.get(word) or self._guessed.get(word)
        if found is not None:
            return found
        if len(word) < FUZZY_MIN_LENGTH or not word.isalpha():
            return word
        if len(self._guessed) >= GUESS_CACHE_SIZE:
            self._guessed.clear()
        self._guessed[word] = self._nearest(word)
        return self._guessed[word]

    def _nearest(self, word: str) -> str:
        candidates: set[str] = set()
        for key in {word, *_deletions(word)}:
            candidates |= self._near.get(key, set())
        # Slips rarely change a first letter; "fizzy" is not "dizzy", "never" not "fever".
        close = sorted(c for c in candidates if c[0] == word[0] and within_one_edit(word, c))
        return self._canonical[close[0]] if close else word

    def clause(self, raw: list[str]) -> list[str]:
        """The canonical words of a clause, with several-word variants joined."""
        known = self._canonical.get
        single = [known(w) or self.canonical(w) for w in raw]
        multi = self._multi
        if multi.keys().isdisjoint(single):
            return single
        joined: list[str] = []
        i = 0
        while i < len(single):
            for seq, head in multi.get(single[i], ()):
                if tuple(single[i : i + len(seq)]) == seq:
                    joined.append(head)
                    i += len(seq)
                    break
            else:
                joined.append(single[i])
                i += 1
        return joined

    def phrase(self, text: str) -> tuple[str, ...]:
        """The canonical words of a data phrase."""
        return tuple(self.clause(words(text)))


@dataclass(frozen=True, slots=True)
class Entry:
    """A phrase to find: its canonical words, what it means (kind, tag), and its allowed gap."""

    words: tuple[str, ...]
    kind: str
    tag: str
    gap: int


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
