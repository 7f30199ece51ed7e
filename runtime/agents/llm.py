"""An LLM agent for any OpenAI-compatible chat endpoint (vLLM, llama.cpp server, Ollama, hosted).

    openai-chat  question_answering  (question, *context) -> str

:class:`ChatEndpoint` posts to ``{base_url}/chat/completions`` with the standard library
only (``urllib``) and returns the first choice's message. Configuration, each from the
agent's knobs or else the environment:

    base_url     knob ``base_url``, else $MURAKKAB_LLM_BASE_URL, else $OPENAI_BASE_URL
                 (e.g. http://localhost:8000/v1 for vLLM, http://localhost:11434/v1 for Ollama)
    model        knob ``model``, else $MURAKKAB_LLM_MODEL, else the first model the
                 endpoint lists (``GET {base_url}/models``)
    API key      read from the environment variable *named* by ``api_key_env`` (default
                 OPENAI_API_KEY) at each request; if it is unset, no key is sent (local
                 servers need none)

The key is a secret and is handled as one: it is sent only in the ``Authorization``
header, never stored on an object (so never in a repr), never logged or printed, and
scrubbed from every error message (a server may echo request headers in an error body).
Errors are raised outside the ``except`` block that caught the transport error, so no
exception chain leads back to the request that carried the header. Redirects are refused
rather than followed, so the header never goes to a host the user did not name, and a
base URL with credentials in it (``https://user:pass@host``) is refused.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from ..secrets import scrub
from .errors import AgentError
from .registry import agent
from .text import context_texts

DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
DEFAULT_TIMEOUT_S = 60.0
# Self-consistency decoding samples its paths at temperature 0.5-0.7 (Wang et al. 2023).
SAMPLING_TEMPERATURE = 0.7
MAX_ERROR_BODY = 500  # characters of an error response quoted in the message

QA_SYSTEM_PROMPT = ("Answer the question using only the numbered context below (transcripts, frame "
                    "descriptions, detections). Answer in one short sentence. If the context does not "
                    "contain the answer, say that it does not.")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl} refused", headers, fp)


_OPENER = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class ChatEndpoint:
    """An OpenAI-compatible chat-completions endpoint. Holds the *name* of the key's
    environment variable, never the key."""

    base_url: str
    model: str
    api_key_env: str | None = DEFAULT_API_KEY_ENV
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise AgentError(f"openai-chat: base URL must be http(s)://host[:port]/path, got "
                             f"'{parsed.scheme}://{parsed.hostname or ''}{parsed.path}'")
        if parsed.username or parsed.password:
            raise AgentError("openai-chat: the base URL contains credentials",
                             hint="put the key in an environment variable and name it with api_key_env")
        if not self.timeout_s > 0:
            raise AgentError(f"openai-chat: timeout_s must be positive, got {self.timeout_s!r}")

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    def chat(self, messages: list[dict[str, str]], *, temperature: float = 0.0, max_tokens: int = 256,
             seed: int | None = None) -> str:
        """The content of the first choice the endpoint returns for ``messages``."""
        payload: dict[str, Any] = {"model": self.model or self.served_model(), "messages": messages,
                                   "temperature": temperature, "max_tokens": max_tokens}
        if seed is not None:
            payload["seed"] = int(seed)
        raw = self._send(json.dumps(payload).encode("utf-8"))
        content: Any = None
        try:
            content = json.loads(raw)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            pass
        if not isinstance(content, str):  # raised outside the except block: no exception chain
            raise AgentError(f"openai-chat: unexpected response from {self.url}: "
                             f"{scrub(raw[:MAX_ERROR_BODY].decode('utf-8', 'replace'), (self.api_key_env,))!r}",
                             hint="the endpoint must speak the OpenAI chat-completions API")
        return content.strip()

    def served_model(self) -> str:
        """With no model named, the one the endpoint serves: the first of ``GET /models``
        (vLLM, llama.cpp server and Ollama serve one model, or list the loaded one first)."""
        url = self.base_url.rstrip("/") + "/models"
        raw = self._send(None, url)
        name: Any = None
        try:
            name = json.loads(raw)["data"][0]["id"]
        except (ValueError, KeyError, IndexError, TypeError):
            pass
        if not isinstance(name, str) or not name:
            raise AgentError(f"openai-chat: no model named, and {url} lists none",
                             hint="set the knob model=... or $MURAKKAB_LLM_MODEL (e.g. the name vLLM serves)")
        return name

    def _request(self, body: bytes | None, url: str) -> urllib.request.Request:
        req = urllib.request.Request(url, data=body, method="GET" if body is None else "POST", headers={
            "Content-Type": "application/json", "Accept": "application/json", "User-Agent": "murakkab"})
        if self.api_key_env and os.environ.get(self.api_key_env):
            req.add_header("Authorization", "Bearer " + os.environ[self.api_key_env])
        return req

    def _send(self, body: bytes | None, url: str | None = None) -> bytes:
        """POST ``body`` to the chat URL (or GET ``url`` when ``body`` is None)."""
        url = url or self.url
        error: str | None = None
        hint: str | None = None
        try:
            with _OPENER.open(self._request(body, url), timeout=self.timeout_s) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as e:
            detail = ""
            try:
                detail = e.read(MAX_ERROR_BODY).decode("utf-8", "replace")
            except (OSError, http.client.HTTPException):
                pass
            error = f"HTTP {e.code} {e.reason} from {url}" + (f": {detail}" if detail else "")
            if e.code in (401, 403):
                key_state = ("is set" if self.api_key_env and os.environ.get(self.api_key_env)
                             else "is not set" if self.api_key_env else "is not configured")
                hint = f"the endpoint refused the credentials; the key variable ${self.api_key_env or ''} {key_state}"
        except urllib.error.URLError as e:
            reason = e.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                error = f"no answer from {url} within {self.timeout_s:g} s"
            else:
                error = f"cannot reach {url}: {reason}"
                hint = "is the server running? check base_url ($MURAKKAB_LLM_BASE_URL)"
        except (TimeoutError, socket.timeout):
            error = f"no answer from {url} within {self.timeout_s:g} s"
        except (OSError, http.client.HTTPException) as e:
            error = f"connection to {url} failed: {type(e).__name__}: {e}"
        # Raised here, outside the except blocks: no __context__ leads back to the request.
        raise AgentError("openai-chat: " + scrub(error or "request failed", (self.api_key_env,)),
                         hint=scrub(hint, (self.api_key_env,)) if hint else None)


def endpoint(base_url: str | None = None, model: str | None = None, api_key_env: str | None = DEFAULT_API_KEY_ENV,
             timeout_s: float = DEFAULT_TIMEOUT_S) -> ChatEndpoint:
    """A :class:`ChatEndpoint` from the arguments, else the environment (module docstring)."""
    url = base_url or os.environ.get("MURAKKAB_LLM_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
    if not url:
        raise AgentError("openai-chat: no endpoint configured",
                         hint="set the knob base_url=... or $MURAKKAB_LLM_BASE_URL, e.g. http://localhost:8000/v1")
    name = model or os.environ.get("MURAKKAB_LLM_MODEL") or ""
    return ChatEndpoint(url, name, api_key_env, float(timeout_s))


def qa_messages(question: str, context: list[str]) -> list[dict[str, str]]:
    numbered = "\n".join(f"{i}. {text}" for i, text in enumerate(context, 1)) or "(no context)"
    return [{"role": "system", "content": QA_SYSTEM_PROMPT},
            {"role": "user", "content": f"Context:\n{numbered}\n\nQuestion: {question}"}]


@agent("openai-chat", interface="question_answering", version="2",  # 2: a DOCUMENT is read
       environment=("MURAKKAB_LLM_BASE_URL", "OPENAI_BASE_URL", "MURAKKAB_LLM_MODEL"),
       needs_env=("MURAKKAB_LLM_BASE_URL", "OPENAI_BASE_URL"))
def openai_chat(question: str, *context: Any, model: str | None = None, base_url: str | None = None,
                api_key_env: str | None = DEFAULT_API_KEY_ENV, temperature: float | None = None,
                max_tokens: int = 256, timeout_s: float = DEFAULT_TIMEOUT_S, seed: int | None = None) -> str:
    """The answer an OpenAI-compatible chat model gives from the context texts: greedy
    (temperature 0) for a single answer; sampled at ``SAMPLING_TEMPERATURE`` when ``seed``
    makes it one of several answers voted on (expand_paths), unless ``temperature`` is set."""
    if temperature is None:
        # Greedy decoding would give every sample the same answer and make the vote moot.
        temperature = 0.0 if seed is None else SAMPLING_TEMPERATURE
    ep = endpoint(base_url, model, api_key_env, timeout_s)
    return ep.chat(qa_messages(question, context_texts(context, "openai-chat")), temperature=temperature,
                   max_tokens=max_tokens, seed=seed)
