"""Text agents: extractive question answering, concatenation and majority vote (pure Python).

    extractive-qa  question_answering  (question, *context) -> str   best context sentence(s) by BM25
    concat-text    text_concatenation  list[str] -> str
    majority-vote  answer_vote         list[str] -> str

``extractive-qa`` does not generate: it splits every context text into sentences (at
``.``, ``!``, ``?`` followed by a space, and at line breaks; a context item that is a
list, such as the per-scene transcripts, is read item by item, in order), scores each
sentence against the question with Okapi BM25 (Robertson & Zaragoza 2009; k1 = 1.5,
b = 0.75, idf = ln(1 + (N − df + 0.5) / (df + 0.5)), the sentences being the documents)
and returns the best ``top_k`` sentences, best first, joined by a space. Words are lower
case, stop words removed and crudely stemmed (``holding`` → ``hold``), the same way in the
question and the context. Ties go to the earlier sentence, so the answer is deterministic.
When no sentence shares a word with the question it returns :data:`NO_ANSWER`.
Context items that are not text (numbers such as a sample's seed, clips, frames) are
ignored.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections import Counter
from typing import Any, Iterable

from ...compiler.probe import not_utf8
from .errors import AgentError
from .registry import agent
from .values import Document

NO_ANSWER = "No answer found in the context."
BM25_K1, BM25_B = 1.5, 0.75  # the usual Okapi BM25 defaults (Robertson & Zaragoza 2009)

# Function words that carry no content (a small English list; questions are short, and a
# shared "the" must not decide the answer).
STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she should
so some such than that the their theirs them themselves then there these they this those through to
too under until up very was we were what when where which while who whom why will with would you your
yours yourself yourselves s t
""".split())

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def _stem(word: str) -> str:
    """A crude suffix stripper so inflections match: holding, holds → hold; cities → city."""
    for suffix, keep in (("ing", 3), ("ies", 3), ("ed", 3), ("es", 3), ("s", 3)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            if suffix == "ies":
                return word[:-3] + "y"
            if suffix == "s" and word.endswith("ss"):
                return word
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """The content words of ``text``: lower case, accents folded, stop words dropped, stemmed."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    folded = folded.replace("'", "")
    return [_stem(w) for w in _WORD.findall(folded) if w not in STOP_WORDS]


def context_texts(items: Iterable[Any], who: str = "question-answering") -> list[str]:
    """The text items of a context, lists flattened in order, a DOCUMENT read as its
    text (``who`` names the agent in an error reading it); other items (frames, clips)
    dropped."""
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Document):
            out.append(read_document(item, who))
        elif isinstance(item, (list, tuple)):
            out.extend(context_texts(item, who))
    return out


def read_document(document: Any, who: str | None = "text-chunker") -> str:
    """The text of a document; AgentError when it cannot be read as UTF-8 text (its message
    starts with ``who:`` when ``who`` is given)."""
    said = f"{who}: " if who else ""
    if isinstance(document, os.PathLike):
        document = os.fspath(document)
    if not isinstance(document, str):
        raise AgentError(f"{said}the document must be the path of a text file, got {type(document).__name__}")
    try:
        with open(document, encoding="utf-8-sig") as f:
            return f.read()
    except FileNotFoundError:
        raise AgentError(f"{said}document not found: {document}",
                         hint="pass the path of a UTF-8 text file, relative to the directory you run from") from None
    except UnicodeDecodeError as e:
        message, hint = not_utf8(document, e)
        raise AgentError(f"{said}{message}", hint=hint) from None
    except OSError as e:
        raise AgentError(f"{said}cannot read {document}: {e.strerror or e}") from None




def sentences(texts: Iterable[str]) -> list[str]:
    out: list[str] = []
    for text in texts:
        out.extend(s.strip() for s in _SENTENCE_END.split(text) if s.strip())
    return out


def bm25_rank(query: list[str], docs: list[list[str]]) -> list[float]:
    """Okapi BM25 score of each document (a list of terms) for the query terms."""
    n = len(docs)
    if n == 0:
        return []
    avgdl = sum(len(d) for d in docs) / n or 1.0
    df = Counter(t for d in docs for t in set(d))
    scores = []
    for d in docs:
        tf = Counter(d)
        score = 0.0
        for t in set(query):
            if tf[t]:
                idf = math.log(1.0 + (n - df[t] + 0.5) / (df[t] + 0.5))
                score += idf * tf[t] * (BM25_K1 + 1) / (tf[t] + BM25_K1 * (1 - BM25_B + BM25_B * len(d) / avgdl))
        scores.append(score)
    return scores


@agent("extractive-qa", interface="question_answering", version="2")  # 2: a DOCUMENT is read
def extractive_qa(question: str, *context: Any, top_k: int = 1, seed: int | None = None) -> str:
    """The context sentence(s) that best match the question (BM25); no generation.

    ``seed`` is accepted for sampled paths (answer_vote over k samples) and ignored: the
    answer is deterministic."""
    if not isinstance(question, str):
        raise AgentError(f"extractive-qa: the question must be text, got {type(question).__name__}")
    if not isinstance(top_k, int) or top_k < 1:
        raise AgentError(f"extractive-qa: top_k must be a whole number >= 1, got {top_k!r}")
    candidates = sentences(context_texts(context, "extractive-qa"))
    query = terms(question)
    scores = bm25_rank(query, [terms(s) for s in candidates])
    ranked = sorted((i for i, s in enumerate(scores) if s > 0), key=lambda i: (-scores[i], i))
    if not ranked:
        return NO_ANSWER
    return " ".join(candidates[i] for i in ranked[:top_k])


@agent("concat-text", interface="text_concatenation", version="2")  # 2: blank parts are skipped
def concat_text(parts: list[str], *, separator: str = "\n") -> str:
    """The non-blank texts joined in order by ``separator`` (a line break by default): the
    transcript of a silent 30 s piece of a long recording adds no empty line."""
    if isinstance(parts, str) or not isinstance(parts, (list, tuple)):
        raise AgentError(f"concat-text: parts must be a list of texts, got {type(parts).__name__}")
    bad = [type(p).__name__ for p in parts if not isinstance(p, str)]
    if bad:
        raise AgentError(f"concat-text: every part must be text, got {bad[0]}")
    return separator.join(p for p in parts if p.strip())


def normalise_answer(text: str) -> str:
    """The form answers are compared in: case-folded, spaces collapsed, outer punctuation dropped."""
    return " ".join(text.casefold().split()).strip(" .,;:!?\"'")


@agent("majority-vote", interface="answer_vote", version="1")
def majority_vote(candidates: list[str]) -> str:
    """The answer given most often (compared normalised); ties go to the answer seen first.
    Returns the first candidate of the winning group as it was written."""
    if isinstance(candidates, str) or not isinstance(candidates, (list, tuple)):
        raise AgentError(f"majority-vote: candidates must be a list of texts, got {type(candidates).__name__}")
    if not candidates:
        raise AgentError("majority-vote: there are no candidate answers to vote on")
    if not all(isinstance(c, str) for c in candidates):
        raise AgentError("majority-vote: every candidate must be text")
    keys = [normalise_answer(c) for c in candidates]
    counts = Counter(keys)
    first = {k: i for i, k in reversed(list(enumerate(keys)))}
    winner = max(counts, key=lambda k: (counts[k], -first[k]))
    return candidates[first[winner]]
