"""Source positions and the one error type users ever see.

Every stage (parser, binder, planner, CLI) raises :class:`MurakkabError`; the CLI
renders it as ``file:line:col: message``, the source line, a caret under the fault,
and a hint. Nothing else is allowed to escape to a user.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True)
class Source:
    """A named piece of job-language text (a file, or ``<string>``)."""

    name: str
    text: str = field(repr=False)

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        line_start = self.text.rfind("\n", 0, offset) + 1
        return line, offset - line_start + 1

    def line_text(self, line: int) -> str:
        # Split on '\n' only, as line_col counts: other breaks (\r, \f, U+2028) stay in the line.
        lines = self.text.split("\n")
        return lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""


@dataclass(frozen=True)
class Span:
    """A half-open character range ``[start, end)`` of a :class:`Source`."""

    source: Source = field(compare=False, repr=False)
    start: int
    end: int

    @property
    def line(self) -> int:
        return self.source.line_col(self.start)[0]

    @property
    def col(self) -> int:
        return self.source.line_col(self.start)[1]

    @property
    def text(self) -> str:
        return self.source.text[self.start : self.end]

    def where(self) -> str:
        return f"{self.source.name}:{self.line}:{self.col}"


# Control characters (a NUL, an escape sequence) are shown as their Unicode pictures
# (U+2400 + code, one column each, so the caret stays aligned), never sent raw to a
# terminal. Tabs are kept: the caret line expands them.
# The most columns of a source line an error quotes; a longer one is cut around the
# fault, with ELLIPSIS where it was cut.
QUOTED_COLUMNS = 200
ELLIPSIS = "\u2026"

CONTROL_PICTURES = {c: 0x2400 + c for c in range(0x20) if c != 0x09} | {0x7F: 0x2421}


class MurakkabError(Exception):
    """An error a person can act on: what went wrong, where, and what to do.

    ``span`` points at the fault in the job script when there is one; ``hint`` is a
    suggestion (a did-you-mean, the expected tokens in words, the best reachable value).
    """

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint

    def render(self) -> str:
        """The full, human-readable diagnostic (no traceback)."""
        if self.span is None:
            head = f"error: {self.message}"
            return head + (f"\n  hint: {self.hint}" if self.hint else "")
        line, col = self.span.line, self.span.col
        text = self.span.source.line_text(line).translate(CONTROL_PICTURES)
        width = max(1, min(self.span.end - self.span.start, len(text) - col + 1))
        if "\n" in self.span.text:
            width = max(1, len(text) - col + 1)
        gutter = f"{line:>4} | "
        # Tabs are shown expanded, and the caret is placed under the expanded column.
        pad = len(text[: col - 1].expandtabs(8))
        width = max(1, len(text[: col - 1 + width].expandtabs(8)) - pad)
        shown = text.expandtabs(8)
        if len(shown) > QUOTED_COLUMNS:
            # A long line (minified JSON, a generated script) is quoted around the fault.
            start = max(0, min(pad - QUOTED_COLUMNS // 4, len(shown) - QUOTED_COLUMNS))
            end = start + QUOTED_COLUMNS
            width = max(1, min(width, end - pad))
            lead = ELLIPSIS if start > 0 else ""
            shown = lead + shown[start:end] + (ELLIPSIS if end < len(shown) else "")
            pad += len(lead) - start
        caret = " " * (len(gutter) + pad) + "^" * width
        parts = [f"{self.span.where()}: error: {self.message}", gutter + shown, caret]
        if self.hint:
            parts.append(f"  hint: {self.hint}")
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.render()


class InfeasibleError(MurakkabError):
    """No plan meets the SLOs on this catalog and cluster; the message says how close."""


class NotSupportedError(MurakkabError):
    """A statement the language accepts but this version cannot execute yet."""


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The closest candidate to ``word`` (case-insensitive), or None."""
    pool = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(word.lower(), list(pool), n=1, cutoff=cutoff)
    return pool[match[0]] if match else None


def suggestion(word: str, candidates: Iterable[str], what: str) -> str:
    """A hint line: a did-you-mean when one is close, else the known names."""
    names = sorted(set(candidates))
    best = did_you_mean(word, names)
    if best is not None:
        return f"did you mean '{best}'?"
    if not names:
        return f"there are no {what}"
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"known {what}: {shown}"
