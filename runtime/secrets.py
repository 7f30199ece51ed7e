"""Secrets in the environment, kept out of everything murakkab prints or stores.

An agent's error message is the agent's text: a user's agent, or a server an agent calls,
may quote a key it was given (``"bad key sk-..."``). Before such text reaches a note, an
error, a trace or the catalog, :func:`scrub` blanks out the values of the environment
variables that hold secrets: those whose names say so (``*_API_KEY``, ``*_TOKEN``,
``*_SECRET``, ``*_PASSWORD``; values of at least :data:`MIN_SECRET_CHARS` characters, so a
flag like ``HF_TOKEN=1`` does not blank every "1"), and those named explicitly (the
catalog's ``agents.api_key_env``), in the forms a server may echo them in: as written,
JSON-escaped and URL-quoted.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from typing import Iterable

SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$", re.IGNORECASE)
MIN_SECRET_CHARS = 8
MASK = "***"


def secret_values(names: Iterable[str | None] = ()) -> list[str]:
    """The values of the secret variables set now, longest first (so a secret that
    contains another is blanked whole)."""
    named = {n for n in names if n}
    values = {os.environ[n] for n in named if os.environ.get(n)}
    values |= {v for n, v in os.environ.items() if SECRET_NAME.search(n) and len(v) >= MIN_SECRET_CHARS}
    return sorted(values, key=len, reverse=True)


def scrub(text: str, names: Iterable[str | None] = ()) -> str:
    """``text`` with every secret value (:func:`secret_values`) replaced by ``***``."""
    for secret in secret_values(names):
        for form in (secret, json.dumps(secret)[1:-1], urllib.parse.quote(secret, safe="")):
            text = text.replace(form, MASK)
    return text
