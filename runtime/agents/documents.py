"""Document agents: chunking, extractive summaries and their reduction (pure Python, numpy
and scipy's sparse matrices).

    text-chunker        document_chunking   path -> list[str]      chunks of about chunk_tokens tokens
    extractive-summary  summarization       str -> str             central sentences, up to summary_tokens
    extractive-reduce   summary_reduction   list[str] -> str       de-duplicated, then as extractive-summary

Tokens are counted as words × :data:`TOKENS_PER_WORD` (1.3, the ratio the catalog's
``document_tokens`` and ``speech_tokens_per_s`` statistics use; words are runs of
non-space characters), so no tokenizer is loaded and the count is the same on every
machine. A budget of ``n`` tokens is therefore ``floor(n / 1.3)`` words.

``text-chunker`` reads a UTF-8 text file (a byte-order mark is skipped) and packs its
paragraphs (blocks between blank lines) greedily into chunks of at most ``chunk_tokens``
tokens: a chunk ends where the next paragraph would not fit. A paragraph longer than the
budget is cut at sentence ends (``.``, ``!`` or ``?`` followed by space), and a sentence
longer than the budget into windows of whole words. Every chunk is an exact slice of the
file, stripped of the white space at its ends; the chunks, in order, hold every word of
the file. An empty file has no chunks.

``extractive-summary`` does not generate. It reads line breaks inside a paragraph as
spaces (hard-wrapped text), except after sentence-ending punctuation or a colon and
before a list item, splits the text into sentences with :func:`.text.sentences` and
words with :func:`.text.terms` (lower case, stop words dropped, stemmed), and scores each
sentence by the cosine similarity of its TF-IDF vector to the centroid of all sentence
vectors (centroid-based summarization, Radev et al. 2004; tf = count, idf = ln((1 + N) /
(1 + df)) + 1, N sentences, vectors L2-normalised). Sentences are taken best first
(ties: the earlier) while they fit in ``summary_tokens``, skipping one whose cosine over
term counts with a sentence already taken exceeds :data:`DUPLICATE_SIMILARITY`; the
summary is the taken sentences in their original order, joined by a space. Lines
without end punctuation (headings, list labels) count towards the centroid but are not
taken when the text has a punctuated sentence. When no sentence fits the budget the best
one is returned alone, so a text with words never gets an empty summary.

``extractive-reduce`` reads the parts' sentences in order, drops every sentence whose
cosine over term counts with one kept before it exceeds :data:`DUPLICATE_SIMILARITY`
(the first wording of a repeated point is kept), and selects from the rest as
``extractive-summary`` does, to ``summary_tokens``. The dropped repeats still count
towards the centroid: a point that many parts make is central.

Parameters: ``chunk_tokens`` (default 1024) and ``summary_tokens`` (default 256) are the
budgets, in tokens; their defaults are the catalog statistics of the same names. The seed
declares no interface knobs for them (``interface_knobs.csv``), so a job cannot set them
with ``WITH (...)`` yet; called directly, the agents take them as keywords.

Every agent is deterministic: the same input gives the same output, in every process.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

import numpy as np
from scipy import sparse

from .errors import AgentError
from .registry import agent
from .text import read_document, sentences, terms
from .values import Document

TOKENS_PER_WORD = 1.3            # LLM tokens per English word (the catalog statistics' ratio)
DEFAULT_CHUNK_TOKENS = 1024      # statistics.chunk_tokens: a common map-reduce chunk size
DEFAULT_SUMMARY_TOKENS = 256     # statistics.summary_tokens: a one-paragraph summary
# Two sentences whose term-count vectors have a cosine above this say the same thing:
# "Revenue grew 9 percent." and "Revenue grew 14 percent." share 3 of 4 terms (0.75) and
# are both kept; a repeated sentence (1.0) or one with a word added (~0.9) is not.
DUPLICATE_SIMILARITY = 0.8

_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_WORD_RUN = re.compile(r"\S+")
# Where a paragraph may be cut: after end punctuation and white space. Unlike
# text.sentences, a line break alone is no sentence end here: inside a paragraph it is
# hard wrapping.
_SENTENCE_GAP = re.compile(r"(?<=[.!?])\s+")
# A line break inside a paragraph that is only wrapping: not after end punctuation or a
# colon, and not before a list item (-, *, •, or "1." / "1)").
_SOFT_BREAK = re.compile(r"(?<=[^.!?:\s])[ \t]*\n[ \t]*(?=\S)(?![-*•]\s|\d+[.)]\s)")
_PUNCTUATED = re.compile(r"[.!?][\"'”’)\]]*$")


def count_tokens(text: str) -> float:
    """The approximate LLM token count of ``text``: words × 1.3."""
    return len(text.split()) * TOKENS_PER_WORD


def _budget_words(tokens: Any, agent_name: str, knob: str) -> int:
    """The most words a budget of ``tokens`` tokens holds (at least one)."""
    if isinstance(tokens, bool) or not isinstance(tokens, (int, float)) or not tokens > 0 or math.isinf(tokens):
        raise AgentError(f"{agent_name}: {knob} must be a number of tokens > 0, got {tokens!r}")
    return max(1, int(tokens / TOKENS_PER_WORD))


# -- chunking ---------------------------------------------------------------------------

def _spans(text: str, start: int, end: int, gap: re.Pattern[str]) -> list[tuple[int, int]]:
    """The pieces of ``text[start:end]`` between matches of ``gap``, as stripped (start, end)."""
    out: list[tuple[int, int]] = []
    pos = start
    for m in gap.finditer(text, start, end):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, end))
    stripped = []
    for a, b in out:
        piece = text[a:b]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        if b - trail > a + lead:
            stripped.append((a + lead, b - trail))
    return stripped


def _units(text: str, max_words: int) -> list[tuple[int, int, int]]:
    """(start, end, words) of the pieces chunks are packed from: paragraphs, or the
    sentences of a paragraph over the budget, or word windows of a sentence over it."""
    units: list[tuple[int, int, int]] = []
    for p0, p1 in _spans(text, 0, len(text), _BLANK_LINE):
        words = len(text[p0:p1].split())
        if words <= max_words:
            units.append((p0, p1, words))
            continue
        for s0, s1 in _spans(text, p0, p1, _SENTENCE_GAP):
            runs = list(_WORD_RUN.finditer(text, s0, s1))
            for i in range(0, len(runs), max_words):
                window = runs[i:i + max_words]
                units.append((window[0].start(), window[-1].end(), len(window)))
    return units


@agent("text-chunker", interface="document_chunking", version="1")
def text_chunker(document: str, *, chunk_tokens: float = DEFAULT_CHUNK_TOKENS) -> list[str]:
    """The UTF-8 text file at ``document`` cut into consecutive chunks of at most
    ``chunk_tokens`` tokens (words × 1.3), at paragraph, else sentence, boundaries."""
    max_words = _budget_words(chunk_tokens, "text-chunker", "chunk_tokens")
    text = read_document(document)
    chunks: list[str] = []
    start = end = words = 0
    for u0, u1, n in _units(text, max_words):
        if words and words + n > max_words:
            chunks.append(text[start:end])
            words = 0
        if not words:
            start = u0
        end, words = u1, words + n
    if words:
        chunks.append(text[start:end])
    return chunks


# -- extractive selection ---------------------------------------------------------------

def _read_sentences(texts: list[str]) -> list[str]:
    """The sentences of ``texts`` in order, hard-wrapped lines joined first."""
    return sentences(_SOFT_BREAK.sub(" ", t) for t in texts)


def _matrix(bags: list[list[str]]) -> sparse.csr_matrix:
    """Term counts, one sparse row per bag of terms (columns in sorted term order): memory
    linear in the text, where a dense matrix of a 5.6 MB document took gigabytes."""
    vocab = {t: j for j, t in enumerate(sorted({t for bag in bags for t in bag}))}
    indptr, indices, data = [0], [], []
    for bag in bags:
        # Columns in order within each row, so sums over a row add in the same order.
        for j, c in sorted((vocab[t], c) for t, c in Counter(bag).items()):
            indices.append(j)
            data.append(float(c))
        indptr.append(len(indices))
    return sparse.csr_matrix((np.array(data, dtype=float), np.array(indices, dtype=np.int64),
                              np.array(indptr, dtype=np.int64)), shape=(len(bags), len(vocab)))


def _unit_rows(m: sparse.csr_matrix) -> sparse.csr_matrix:
    """``m`` with every non-zero row scaled to length 1."""
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sparse.csr_matrix(sparse.diags(scale) @ m)


# The most cosines a block of ``_distinct`` may hold (rows of the block times sentences;
# 12 bytes each in a sparse matrix: 24 MB), whatever the text's length.
_BLOCK_CELLS = 2**21


def _cosines(unit: sparse.csr_matrix, rows: sparse.csr_matrix) -> sparse.csr_matrix:
    """Cosine similarity of each of ``rows`` (unit rows) with every row of ``unit``,
    rounded to 9 places so that a pair exactly at the threshold (4 of 5 terms shared: 0.8)
    is compared the same way whatever order the sums were added in. Sparse: only pairs
    that share a term are stored."""
    out = sparse.csr_matrix(rows @ unit.T)
    out.data = np.round(out.data, 9)
    return out


def _centrality(tf: sparse.csr_matrix) -> np.ndarray:
    """Cosine of each row's TF-IDF vector (``tf``: term counts) to the centroid of all of
    them (0 for an empty row)."""
    df = np.bincount(tf.indices, minlength=tf.shape[1])
    idf = np.log((1 + tf.shape[0]) / (1 + df)) + 1.0
    unit = _unit_rows(sparse.csr_matrix(tf @ sparse.diags(idf)))
    centroid = np.asarray(unit.mean(axis=0)).ravel()
    norm = float(np.linalg.norm(centroid))
    return unit @ centroid / norm if norm > 0 else np.zeros(tf.shape[0])


def _select(sents: list[str], max_words: int, eligible: list[int] | None = None) -> str:
    """The most central sentences that fit in ``max_words`` words, none a near duplicate
    of another, in their original order; only ``eligible`` ones (all by default) are
    taken, but every sentence counts towards the centroid."""
    if not sents:
        return ""
    tf = _matrix([terms(s) for s in sents])
    # Rounded, so a last-bit difference between two equal scores cannot reorder them.
    scores = np.round(_centrality(tf), 12)
    unit = _unit_rows(tf)
    pool = list(range(len(sents))) if eligible is None else eligible
    candidates = [i for i in pool if _PUNCTUATED.search(sents[i])] or pool
    ranked = sorted(candidates, key=lambda i: (-scores[i], i))
    # Near duplicates of a taken sentence, marked as each is taken: one row of cosines a
    # taken sentence (a budget's worth), never the n x n matrix.
    duplicate = np.zeros(len(sents), dtype=bool)
    taken: list[int] = []
    used = 0
    for i in ranked:
        n = len(sents[i].split())
        if used + n > max_words or duplicate[i]:
            continue
        taken.append(i)
        used += n
        row = _cosines(unit, unit[i])
        duplicate[row.indices[row.data > DUPLICATE_SIMILARITY]] = True
    return " ".join(sents[i] for i in sorted(taken or ranked[:1]))


@agent("extractive-summary", interface="summarization", version="1")
def extractive_summary(text: str | Document, *, summary_tokens: float = DEFAULT_SUMMARY_TOKENS) -> str:
    """The text's most central sentences (TF-IDF centroid), up to ``summary_tokens``
    tokens, in their original order; no generation. A whole document (DOCUMENT is a
    TEXT) is read and summarised as one text."""
    if isinstance(text, Document):
        text = read_document(text, "extractive-summary")
    if not isinstance(text, str):
        raise AgentError(f"extractive-summary: the text must be text, got {type(text).__name__}")
    max_words = _budget_words(summary_tokens, "extractive-summary", "summary_tokens")
    return _select(_read_sentences([text]), max_words)


def _distinct(sents: list[str]) -> list[int]:
    """The indices of ``sents`` without every sentence that nearly repeats one before it.

    The cosines are taken a block of rows at a time (``_BLOCK_CELLS``), so memory stays
    linear in the sentence count; within a block each row is decided in order, against the
    sentences kept so far."""
    n = len(sents)
    unit = _unit_rows(_matrix([terms(s) for s in sents]))
    kept = np.zeros(n, dtype=bool)
    step = max(1, min(512, _BLOCK_CELLS // max(1, n)))
    for a in range(0, n, step):
        block = _cosines(unit, unit[a:a + step])
        for r in range(block.shape[0]):
            i = a + r
            cols = block.indices[block.indptr[r]:block.indptr[r + 1]]
            vals = block.data[block.indptr[r]:block.indptr[r + 1]]
            near = cols[(vals > DUPLICATE_SIMILARITY) & (cols < i)]
            if not kept[near].any():
                kept[i] = True
    return [int(i) for i in np.flatnonzero(kept)]


@agent("extractive-reduce", interface="summary_reduction", version="1")
def extractive_reduce(parts: list[str], *, summary_tokens: float = DEFAULT_SUMMARY_TOKENS) -> str:
    """The parts' sentences with near duplicates dropped, then the most central ones up
    to ``summary_tokens`` tokens, in order; no generation."""
    if isinstance(parts, str) or not isinstance(parts, (list, tuple)):
        raise AgentError(f"extractive-reduce: parts must be a list of texts, got {type(parts).__name__}")
    bad = [type(p).__name__ for p in parts if not isinstance(p, str)]
    if bad:
        raise AgentError(f"extractive-reduce: every part must be text, got {bad[0]}")
    max_words = _budget_words(summary_tokens, "extractive-reduce", "summary_tokens")
    sents = _read_sentences(list(parts))
    # A point many parts repeat is central: the repeats pull the centroid towards it,
    # and only its first wording can be taken.
    return _select(sents, max_words, _distinct(sents)) if sents else ""
