"""Request traces: arrivals per window from a CSV with one row per request.

The Azure LLM inference traces (``samples/traces/azure_llm_2023``) have a ``TIMESTAMP``
column such as ``2023-11-16 18:15:46.6805900``; any CSV with a column of ISO-8601 times,
or of seconds (a number), works, separated by commas, semicolons, tabs or bars (read
from the header line).
"""

from __future__ import annotations

import csv
import math
import re
from datetime import datetime
from pathlib import Path

_FRACTION = re.compile(r"(\.\d{6})\d+")


# The column of a request's completion tokens (the Azure LLM traces'): its spread sets
# how far above the mean a tail request's tokens go (workload.Request.token_tail).
TOKEN_COLUMN = "GeneratedTokens"


class TraceError(Exception):
    """A trace that cannot be read, with what is wrong (the binder locates it)."""


def _seconds(text: str) -> float:
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    # datetime takes at most microseconds; the Azure traces write 100 ns ticks.
    return datetime.fromisoformat(_FRACTION.sub(r"\1", text).replace("Z", "+00:00")).timestamp()


def arrivals(path: Path, column: str, tokens: str | None = None,
             tokens_required: bool = False) -> tuple[list[float], list[float]]:
    """Arrival times in seconds from the first request, sorted, and each request's value
    in the ``tokens`` column (1.0 for all without one, or where a row leaves it empty; a
    missing column is an error only when ``tokens_required``)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # a BOM (as Excel writes) is not a header
            header = f.readline()
            f.seek(0)
            reader = csv.DictReader(f, dialect=_dialect(header))
            have = reader.fieldnames or []
            if column not in have:
                raise TraceError(f"{path} has no column '{column}' (columns: {', '.join(have) or 'no header'})")
            if tokens and tokens not in have:
                if tokens_required:
                    raise TraceError(f"{path} has no column '{tokens}' (columns: {', '.join(have)})")
                tokens = None
            rows = []
            for line, row in enumerate(reader, 2):
                value = row.get(tokens) if tokens else None
                rows.append((_time(path, line, row[column]), _tokens(path, line, tokens, value)))
    except OSError as exc:
        raise TraceError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise TraceError(f"{path} is not a UTF-8 CSV file") from None
    except csv.Error as exc:
        raise TraceError(f"{path}: {exc}") from None
    if not rows:
        raise TraceError(f"{path} has no requests")
    rows.sort()
    return [t - rows[0][0] for t, _ in rows], [n for _, n in rows]


def _dialect(header: str) -> type[csv.Dialect]:
    """Commas, or the one other separator (; tab |) the header line uses instead."""
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t|") if header.strip() else csv.excel
    except csv.Error:  # one column: nothing to sniff
        return csv.excel


def _time(path: Path, line: int, text: str | None) -> float:
    try:
        t = _seconds(text or "")
    except (ValueError, OverflowError):
        t = math.nan
    if not math.isfinite(t):
        raise TraceError(f"{path}:{line}: '{text}' is not a time (ISO 8601 or seconds)")
    return t


def _tokens(path: Path, line: int, column: str | None, text: str | None) -> float:
    if not column or not (text or "").strip():
        return 1.0
    try:
        n = float(text or "")
    except ValueError:
        n = math.nan
    if not math.isfinite(n) or n < 0:
        raise TraceError(f"{path}:{line}: '{text}' in column '{column}' is not a number of tokens")
    return n


def rates(times: list[float], window_s: float, scale: float = 1.0) -> tuple[float, ...]:
    """Requests per second in consecutive windows of ``window_s`` covering the trace
    (the last, partial window dropped unless it is the only one), times ``scale``. A
    trace shorter than one window is one window as long as the trace (at least 1 s):
    its requests over the whole window would understate its rate."""
    span = times[-1] if times else 0.0
    full = int(math.floor(span / window_s))
    if full == 0:
        return (scale * len(times) / max(span, 1.0),)
    per = [0] * full
    for t in times:
        i = int(t // window_s)
        if i < full:
            per[i] += 1
    return tuple(scale * n / window_s for n in per)
