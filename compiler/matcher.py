"""A deterministic local matcher from plain-words task descriptions to catalog entries.

TF-IDF with cosine similarity over each candidate's name, description and example
phrasings, after light stemming. Small, dependency-free, and the same answer every
run; the confidence is the cosine score of the best candidate (0..1).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

# Minimum cosine score for a description to bind without complaint. Chosen so that
# every example phrasing in the seed catalog binds to its own interface while
# one-word overlaps ("the video") do not.
MIN_CONFIDENCE = 0.2

_STOP = frozenset(
    "a an the of in on for to from and or with each every all any given into by at as is are be "
    "this that these those it its their them using use then".split()
)
_SUFFIXES = ("ization", "ation", "ings", "ing", "ions", "ion", "ers", "er", "ies", "es", "ed", "s")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def tokens(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", text.lower().replace("_", " "))
    return [_stem(w) for w in words if w not in _STOP]


@dataclass(frozen=True)
class Match:
    name: str
    score: float


@dataclass(frozen=True)
class Matcher:
    """Rank named documents against a query. Build once per catalog."""

    names: tuple[str, ...]
    vectors: tuple[dict[str, float], ...]
    idf: dict[str, float]

    @classmethod
    def build(cls, docs: Sequence[tuple[str, str]]) -> "Matcher":
        counted = [(name, Counter(tokens(text))) for name, text in docs]
        df: Counter[str] = Counter()
        for _, c in counted:
            df.update(c.keys())
        n = len(counted)
        idf = {t: math.log((1 + n) / (1 + d)) + 1.0 for t, d in df.items()}
        vectors = tuple(_normalise({t: (1 + math.log(k)) * idf[t] for t, k in c.items()}) for _, c in counted)
        return cls(tuple(name for name, _ in counted), vectors, idf)

    def rank(self, query: str) -> list[Match]:
        q = Counter(tokens(query))
        qv = _normalise({t: (1 + math.log(k)) * self.idf[t] for t, k in q.items() if t in self.idf})
        scores = [Match(name, round(sum(w * vec.get(t, 0.0) for t, w in qv.items()), 4))
                  for name, vec in zip(self.names, self.vectors)]
        return sorted(scores, key=lambda m: (-m.score, m.name))


def _normalise(v: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(x * x for x in v.values()))
    return {t: x / norm for t, x in v.items()} if norm else {}
