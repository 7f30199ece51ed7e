"""Secrets in the environment, kept out of everything murakkab prints or stores.

An agent's error message is the agent's text: a user's agent, or a server an agent calls,
may quote a key it was given (``"bad key sk-..."``). Before such text reaches a note, an
error, an output, a trace or the catalog, :func:`scrub` blanks out the values of the
environment variables that hold secrets, and the cache (``runtime/cache.py``) does not
store an answer :func:`contains_secret` finds one in.

Which variables hold secrets (:func:`secret_names`):

- those whose names say so (:data:`SECRET_NAME`: ``*_API_KEY``, ``*_KEY``, ``*_TOKEN``,
  ``*_SECRET``, ``*_SECRET_ACCESS_KEY``, ``*_PASSWORD``, ``*_PAT``, ``*_DSN``,
  ``DATABASE_URL``, ``*_WEBHOOK_URL``, ...), with values of at least
  :data:`MIN_SECRET_CHARS` characters, so a flag like ``HF_TOKEN=1`` does not blank every
  "1";
- any variable whose value is a URL with a password in it (``postgres://u:pw@host``):
  the whole URL and the password alone;
- those named explicitly: the catalog's ``agents.api_key_env``, and the comma-separated
  names in ``$MURAKKAB_SECRET_VARS`` (:data:`SECRET_VARS_ENV`) for a user's own.

A server may echo a key in many encodings, and each is recognised (:func:`_pattern`):
as written; JSON-escaped (``\\/``, ``\\"``, ``\\u`` and four hex digits, in either case); HTML entities
(named, ``&#NN;``, ``&#xHH;``); URL-encoded (``%HH`` in either case, ``+`` for a space,
whichever characters were left unquoted); these per character, so a mix of them is
caught too; hex (either case); and base64 (standard and URL-safe, with or without
padding, and the part of the key's base64 that does not depend on what precedes it, so
a key base64-encoded inside longer text is caught at each of the three byte alignments).
"""

from __future__ import annotations

import base64
import binascii
import functools
import html.entities
import os
import re
import urllib.parse
from typing import Any, Iterable

SECRET_NAME = re.compile(
    r"(API_?KEY|(^|_)KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIALS?|(^|_)PAT|(^|_)DSN"
    r"|^DATABASE_URL|WEBHOOK_URL)$", re.IGNORECASE)
SECRET_VARS_ENV = "MURAKKAB_SECRET_VARS"
MIN_SECRET_CHARS = 8
MASK = "***"
# A URL with a password in its user part: scheme://user:password@host...
_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:(?P<password>[^/@\s]+)@")


def secret_names(names: Iterable[str | None] = ()) -> set[str]:
    """The names of the variables set now whose values are secrets: ``names``, those in
    ``$MURAKKAB_SECRET_VARS`` and those :data:`SECRET_NAME` matches."""
    explicit = {n for n in names if n}
    explicit |= {n.strip() for n in os.environ.get(SECRET_VARS_ENV, "").split(",") if n.strip()}
    return {n for n in explicit if os.environ.get(n)} | {
        n for n, v in os.environ.items() if SECRET_NAME.search(n) and len(v) >= MIN_SECRET_CHARS}


def secret_values(names: Iterable[str | None] = ()) -> list[str]:
    """The values of the secret variables set now (and the passwords in secret-bearing
    URLs among all variables), longest first, so a secret that contains another is
    blanked whole."""
    values = {os.environ[n] for n in secret_names(names)}
    for v in os.environ.values():
        m = _URL_PASSWORD.match(v)
        if m and len(m["password"]) >= MIN_SECRET_CHARS:
            values |= {v, m["password"], urllib.parse.unquote(m["password"])}
    return sorted(values, key=len, reverse=True)


def scrub(text: str, names: Iterable[str | None] = ()) -> str:
    """``text`` with every secret value (:func:`secret_values`), in any of the encodings
    the module docstring lists, replaced by ``***``."""
    for secret in secret_values(names):
        text = _pattern(secret).sub(MASK, text)
    return text


def contains_secret(value: Any, names: Iterable[str | None] = ()) -> bool:
    """Does any text in ``value`` (a string, bytes, or lists, tuples and dicts of them,
    keys included) hold a secret value in any encoding?"""
    secrets = secret_values(names)
    return bool(secrets) and any(_pattern(s).search(t) for t in _texts(value) for s in secrets)


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (bytes, bytearray)):
        yield bytes(value).decode("latin-1")  # byte for byte: an ASCII key is found as is
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _texts(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(k)
            yield from _texts(v)


def _anycase(hex_digits: str) -> str:
    """A regex matching ``hex_digits`` in either case (``2f`` -> ``2[fF]``)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in hex_digits)


@functools.lru_cache(maxsize=None)
def _entity_names() -> dict[str, tuple[str, ...]]:
    """Each character's named HTML entities (``/`` -> ``sol;``; ``&`` -> ``amp;``, ``amp``, ``AMP;``, ...),
    those without a semicolon included, as browsers and ``html.unescape`` read them."""
    names: dict[str, list[str]] = {}
    for name, char in html.entities.html5.items():
        if len(char) == 1:
            names.setdefault(char, []).append(name)
    return {c: tuple(n) for c, n in names.items()}


def _char_forms(c: str) -> list[str]:
    """Regexes for one character of a secret in every per-character encoding."""
    code = ord(c)
    forms = [re.escape(c)]
    # JSON: \u and four hex digits (a UTF-16 surrogate pair beyond the BMP), the short escapes, \/.
    units = [code] if code < 0x10000 else [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)]
    forms.append("".join(r"\\u" + _anycase(f"{u:04x}") for u in units))
    short = {'"': '"', "\\": "\\\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}
    if c in short:
        forms.append(r"\\" + re.escape(short[c]))
    # HTML: decimal and hex character references (leading zeros allowed), named entities.
    forms.append(f"&#0*{code};")
    forms.append(f"&#[xX]0*{_anycase(f'{code:x}')};")
    forms += ["&" + re.escape(n) for n in _entity_names().get(c, ())]
    # URL: %HH per UTF-8 byte; '+' for a space (quote_plus).
    forms.append("".join("%" + _anycase(f"{b:02x}") for b in c.encode("utf-8", "surrogatepass")))
    if c == " ":
        forms.append(r"\+")
    return forms


def _base64_forms(secret: bytes) -> set[str]:
    """The key's base64 as it may appear: whole (standard and URL-safe, with or without
    padding), and for each of the three byte alignments inside longer data, the
    characters that depend on the key's bytes alone."""
    forms = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(secret).decode()
        forms |= {whole, whole.rstrip("=")}
        for pad in range(3):
            enc = encode(b"\0" * pad + secret).decode()
            # Base64 character i covers bits [6i, 6i + 6); the key covers [8 pad, 8 (pad + n)).
            first, last = -(-8 * pad // 6), 8 * (pad + len(secret)) // 6
            core = enc[first:last]
            if len(core) >= MIN_SECRET_CHARS:
                forms.add(core)
    return forms


@functools.lru_cache(maxsize=256)
def _pattern(secret: str) -> re.Pattern[str]:
    """One regex for ``secret`` in every encoding, longest alternatives first."""
    raw = secret.encode("utf-8", "surrogatepass")
    whole = {re.escape(f) for f in _base64_forms(raw)} | {_anycase(binascii.hexlify(raw).decode())}
    per_char = "".join("(?:" + "|".join(_char_forms(c)) + ")" for c in secret)
    return re.compile("|".join(sorted(whole, key=len, reverse=True) + [per_char]))
