"""openai-chat against a fake OpenAI-compatible server (http.server on 127.0.0.1 in a
thread): the request it sends, and that the API key goes only into the Authorization
header, never into an error, a repr, a log or the output."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import traceback
from http.server import ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from murakkab.runtime.agents import AgentError, get

from .fake_http import JsonHandler
from murakkab.runtime.agents.llm import ChatEndpoint, endpoint

KEY = "sk-test-5ecret-Key-0123456789"
KEY_ENV = "MURAKKAB_TEST_LLM_KEY"


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict[str, Any]] = []
        self.mode = "ok"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is part of the test

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class Handler(JsonHandler):
    server: FakeServer

    def do_GET(self) -> None:
        self.server.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": b""})
        if self.path != "/v1/models":
            self.send_json(404, b'{"error": "not found"}')
            return
        models = [] if self.server.mode == "no-models" else [{"id": "served-llm", "object": "model"}]
        self.send_json(200, json.dumps({"object": "list", "data": models}).encode())

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
        mode = self.server.mode
        if mode == "slow":
            time.sleep(1.0)
        if mode == "echo-401":  # a careless server that echoes the request headers in its error
            self.send_json(401, json.dumps({"error": {"message": f"bad key: {self.headers.get('Authorization')}",
                                                  "headers": dict(self.headers.items())}}).encode())
        elif mode == "redirect":
            self.send_response(307)
            self.send_header("Location", "http://203.0.113.1/steal")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "garbage":
            self.send_json(200, b"<html>not json " + KEY.encode() + b"</html>")
        else:
            answer = {"id": "x", "object": "chat.completion",
                      "choices": [{"index": 0, "message": {"role": "assistant", "content": " An umbrella. "},
                                   "finish_reason": "stop"}]}
            self.send_json(200, json.dumps(answer).encode())


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    yield from serving(monkeypatch)


def serving(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    """A fake endpoint on 127.0.0.1 for as long as the generator is open."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # talk to 127.0.0.1 directly
    monkeypatch.setenv(KEY_ENV, KEY)
    srv = FakeServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def ask(srv: FakeServer, **knobs: Any) -> str:
    args = dict(base_url=srv.base_url, model="tiny-llm", api_key_env=KEY_ENV, timeout_s=5.0)
    args.update(knobs)
    return get("openai-chat")("What is the man holding?", ["he is holding an umbrella"], "At 3 s: grey.", **args)


def assert_no_key(err: BaseException) -> None:
    text = "".join(traceback.format_exception(err)) + repr(err) + str(err) + (getattr(err, "hint", None) or "")
    assert KEY not in text
    assert err.__cause__ is None and err.__context__ is None  # no chain back to the request


def test_request_shape_and_key_only_in_the_header(server: FakeServer, capsys: pytest.CaptureFixture[str],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert ask(server, seed=2) == "An umbrella."
    (req,) = server.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == f"Bearer {KEY}"
    assert req["headers"]["Content-Type"] == "application/json"
    body = json.loads(req["body"])
    # A seeded call is one sample of a vote: sampled, not greedy.
    assert body["model"] == "tiny-llm" and body["temperature"] == 0.7 and body["seed"] == 2
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    user = body["messages"][1]["content"]
    assert "1. he is holding an umbrella" in user and "2. At 3 s: grey." in user
    assert user.endswith("Question: What is the man holding?")
    assert KEY.encode() not in req["body"]
    out = capsys.readouterr()
    assert KEY not in out.out + out.err + caplog.text
    ep = endpoint(server.base_url, "tiny-llm", KEY_ENV)
    assert KEY not in repr(ep) and KEY_ENV in repr(ep)


def test_a_single_answer_is_greedy_and_samples_of_a_vote_are_not(server: FakeServer) -> None:
    ask(server)
    ask(server, seed=1, temperature=0.2)
    single, chosen = (json.loads(r["body"]) for r in server.requests)
    assert single["temperature"] == 0.0 and "seed" not in single
    assert chosen["temperature"] == 0.2 and chosen["seed"] == 1


def test_no_key_variable_sends_no_header(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    assert ask(server) == "An umbrella."
    assert "Authorization" not in server.requests[0]["headers"]
    assert ask(server, api_key_env=None) == "An umbrella."


def test_an_error_that_echoes_the_key_is_scrubbed(server: FakeServer) -> None:
    server.mode = "echo-401"
    with pytest.raises(AgentError) as err:
        ask(server)
    assert "HTTP 401" in str(err.value) and "***" in str(err.value)
    assert err.value.hint is not None and f"${KEY_ENV} is set" in err.value.hint
    assert_no_key(err.value)
    server.mode = "garbage"
    with pytest.raises(AgentError, match="unexpected response") as err:
        ask(server)
    assert_no_key(err.value)


def test_redirects_are_refused(server: FakeServer) -> None:
    server.mode = "redirect"
    with pytest.raises(AgentError, match="HTTP 307") as err:
        ask(server)
    assert "refused" in str(err.value) and len(server.requests) == 1
    assert_no_key(err.value)


def test_unreachable_and_slow_endpoints(server: FakeServer) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(AgentError, match=f"cannot reach http://127.0.0.1:{closed}/v1/chat/completions") as err:
        ask(server, base_url=f"http://127.0.0.1:{closed}/v1")
    assert err.value.hint is not None and "server running" in err.value.hint
    assert_no_key(err.value)
    server.mode = "slow"
    with pytest.raises(AgentError, match="no answer from .* within 0.2 s") as err:
        ask(server, timeout_s=0.2)
    assert_no_key(err.value)


def test_without_a_model_name_the_one_the_endpoint_serves_is_used(server: FakeServer,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MURAKKAB_LLM_MODEL", raising=False)
    assert ask(server, model=None) == "An umbrella."
    listing, chat = server.requests
    assert (listing["path"], chat["path"]) == ("/v1/models", "/v1/chat/completions")
    assert listing["headers"]["Authorization"] == f"Bearer {KEY}"
    assert json.loads(chat["body"])["model"] == "served-llm"
    server.mode = "no-models"
    with pytest.raises(AgentError, match="no model named, and .*/v1/models lists none") as err:
        ask(server, model=None)
    assert "MURAKKAB_LLM_MODEL" in (err.value.hint or "")
    assert_no_key(err.value)


def test_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("MURAKKAB_LLM_BASE_URL", "OPENAI_BASE_URL", "MURAKKAB_LLM_MODEL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(AgentError, match="no endpoint configured"):
        endpoint()
    monkeypatch.setenv("MURAKKAB_LLM_BASE_URL", "http://localhost:8000/v1")
    assert endpoint() == ChatEndpoint("http://localhost:8000/v1", "")  # the model is asked of the server
    monkeypatch.setenv("MURAKKAB_LLM_MODEL", "m")
    assert endpoint() == ChatEndpoint("http://localhost:8000/v1", "m")
    with pytest.raises(AgentError, match="contains credentials") as err:
        ChatEndpoint(f"https://user:{KEY}@example.com/v1", "m")
    assert KEY not in err.value.render()
    with pytest.raises(AgentError, match="must be http"):
        ChatEndpoint("file:///etc/passwd", "m")
