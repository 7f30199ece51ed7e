"""Hardening of the runtime (issue 14): a cache whose entries cannot lie or run code and
whose reader no file can crash or hang; secrets recognised in every encoding, kept out of
notes, outputs and the cache; and workers that never outlive a killed or terminated run."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import murakkab
from murakkab.catalog.catalog import Catalog
from murakkab.runtime import cache as cache_mod
from murakkab.runtime.agents import registry
from murakkab.runtime.cache import Cache, decode, encode
from murakkab.runtime.secrets import MASK, contains_secret, scrub, secret_names

ROOT = Path(__file__).parent.parent
QA = """SET quality_floor = off;
CREATE WORKFLOW w (q TEXT, notes LIST<TEXT>) AS (
  a := question_answering (q, notes) USING (agent = '{agent}')
) RETURNS a;
RUN w (q => 'What is the person holding?', notes => ['It rains.', 'He is holding an umbrella.']);"""
KEY = "k" * 64


def _entries(root: Path) -> list[Path]:
    return sorted(root.rglob("*.entry"))


def _qa(cache: Path, agent: str = "extractive-qa", catalog: Catalog | None = None):
    (outcome,) = murakkab.run(QA.format(agent=agent), backend="local", catalog=catalog or Catalog(),
                              cache_dir=cache, retries=0)
    return outcome.result


# -- the cache: entries that must not be trusted --------------------------------------------------
def _forge(entry: Path, value: object, *, sign_with: bytes | None = None) -> None:
    """Rewrite ``entry`` with ``value`` as its payload, in the right format and with a
    correct content hash: what someone who can write the folder but not read this user's
    key can do (or, given ``sign_with``, someone who has a key of their own)."""
    head = json.loads(entry.read_bytes().partition(b"\n")[0])
    payload = json.dumps(encode(value)).encode()
    head.update(bytes=len(payload), sha256=hashlib.sha256(payload).hexdigest())
    if sign_with is not None:
        head["mac"] = cache_mod._mac(sign_with, head["key"], head["sha256"])
    entry.write_bytes(json.dumps(head).encode() + b"\n" + payload)


@pytest.mark.parametrize("forger_key", [None, b"\x01" * 32], ids=["unsigned", "signed-by-another-key"])
def test_a_planted_answer_is_computed_again_with_a_note(tmp_path: Path, forger_key: bytes | None) -> None:
    first = _qa(tmp_path)
    (entry,) = _entries(tmp_path)
    _forge(entry, "PLANTED", sign_with=forger_key)
    again = _qa(tmp_path)
    assert again.outputs == first.outputs and "PLANTED" not in str(again.outputs)
    assert again.cache_hits == 0
    assert any("not trusted (not signed with this user's cache key" in n for n in again.notes), again.notes
    # The recomputed answer replaced the planted one, and a third run reads it back.
    third = _qa(tmp_path)
    assert third.cache_hits == 1 and third.outputs == first.outputs and not third.notes


def test_an_entry_written_for_another_key_is_not_served(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    assert cache.put("a" * 64, "the answer to a") is None
    (entry,) = _entries(tmp_path)
    other = cache._path("b" * 64)
    other.parent.mkdir(parents=True)
    other.write_bytes(entry.read_bytes())  # a valid, signed entry, but of another call
    found = cache.lookup("b" * 64)
    assert found.value is Cache.MISSING and "written for another call" in (found.note or "")
    assert cache.lookup("a" * 64).value == "the answer to a"


class _Touch:
    """A pickle that creates a file when it is loaded: what a code-running entry does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (str(self.marker), "w"))


def test_a_code_running_entry_runs_nothing_and_is_computed_again(tmp_path: Path) -> None:
    first = _qa(tmp_path / "c")
    (entry,) = _entries(tmp_path / "c")
    marker = tmp_path / "pwned"
    evil = pickle.dumps(_Touch(marker))
    assert not marker.exists()
    entry.write_bytes(evil)
    entry.with_suffix(".pkl").write_bytes(evil)  # where the old pickle cache kept it
    again = _qa(tmp_path / "c")
    assert not marker.exists(), "loading the cache ran code"
    assert again.outputs == first.outputs and again.cache_hits == 0
    assert any("not trusted (not a murakkab cache entry)" in n for n in again.notes), again.notes
    pickle.loads(evil)  # the marker is real: loading the pickle would have created it
    assert marker.exists()


@pytest.mark.parametrize("make", [
    lambda p: os.mkfifo(p),
    lambda p: p.mkdir(),
    lambda p: p.symlink_to("/dev/zero"),
    lambda p: p.write_bytes(b""),
    lambda p: (p.write_bytes(b"x"), p.chmod(0)),
], ids=["fifo", "directory", "symlink-to-dev-zero", "empty", "unreadable"])
def test_an_entry_that_is_not_a_readable_file_neither_hangs_nor_fails(tmp_path: Path, make) -> None:
    cache = Cache(tmp_path)
    path = cache._path(KEY)
    path.parent.mkdir(parents=True)
    make(path)

    def hang(_signum: int, _frame: object) -> None:
        raise TimeoutError("the cache reader hung")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(5)
    try:
        found = cache.lookup(KEY)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert found.value is Cache.MISSING and found.note and "not trusted" in found.note
    # Writing the answer over it is never fatal either (a folder in the way is a note).
    note = cache.put(KEY, "fresh")
    assert note is None or "cannot write cache entry" in note


def test_a_foreign_signing_key_is_not_trusted(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    assert cache.put(KEY, "x") is None
    key_file = tmp_path / f".key-{os.getuid()}"
    key_file.chmod(0o644)  # readable by others: anyone could have copied it and signed with it
    found = Cache(tmp_path).lookup(KEY)
    assert found.value is Cache.MISSING and "not private to this user" in (found.note or "")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048))
def test_fuzz_random_bytes_never_escape_or_verify(tmp_path: Path, data: bytes) -> None:
    cache = Cache(tmp_path)
    path = cache._path(KEY)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    found = cache.lookup(KEY)
    assert found.value is Cache.MISSING
    assert found.note is not None


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                     max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(st.binary(max_size=256), _JSON.map(lambda j: json.dumps(j).encode())))
def test_fuzz_a_signed_payload_is_trusted_only_as_a_runtime_value(tmp_path: Path, payload: bytes) -> None:
    """Even past the signature (the worst case: the user's own key), the decoder hands
    back nothing but runtime values, and raises nothing."""
    cache = Cache(tmp_path)
    digest = hashlib.sha256(payload).hexdigest()
    head = {"format": cache_mod.FORMAT, "key": KEY, "bytes": len(payload), "sha256": digest,
            "mac": cache_mod._mac(cache._signing_key(), KEY, digest)}
    path = cache._path(KEY)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json.dumps(head).encode() + b"\n" + payload)
    found = cache.lookup(KEY)
    if found.value is Cache.MISSING:
        assert found.note and "does not store" in found.note
    else:
        assert found.note is None
        assert json.dumps(encode(found.value)) == json.dumps(json.loads(payload))  # exactly what encode writes


def test_every_runtime_value_round_trips() -> None:
    import numpy as np

    from murakkab.runtime.agents.values import Clip, Document, Frame

    clip = Clip("v.mp4", 1.0, 2.5)
    value = [None, True, 3, 2.5, float("inf"), "text", b"\x00\xff", (1, "a"), {"k": [1], 2: None}, clip,
             Document("d.txt"), Frame(np.arange(18, dtype=np.uint8).reshape(2, 3, 3), clip, 1.5),
             np.linspace(0, 1, 4, dtype=np.float32)]
    back = decode(json.loads(json.dumps(encode(value))))
    assert back[:-1] == value[:-1] and back[-1].dtype == np.float32 and np.array_equal(back[-1], value[-1])
    with pytest.raises(TypeError):
        encode(object())
    with pytest.raises(TypeError):
        encode(np.array([object()]))


# -- secrets in every encoding --------------------------------------------------------------------
SECRET = "sk-Ab/c+d=e&f<g>h\"i'j k~l\u00e9m"
# How a server may quote the key back: each form must be blanked, never shown.
ENCODINGS: dict[str, Callable[[str], str]] = {
    "as written": lambda s: s,
    "json": lambda s: json.dumps(s)[1:-1],
    "json with \\/": lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),
    "json \\u escapes": lambda s: "".join(f"\\u{ord(c):04x}" for c in s),
    "json \\U escapes": lambda s: "".join(f"\\u{ord(c):04X}" for c in s),
    "html entities": lambda s: html.escape(s),
    "html decimal": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "html hex": lambda s: "".join(f"&#x{ord(c):x};" for c in s),
    "url default safe": lambda s: urllib.parse.quote(s),
    "url safe=''": lambda s: urllib.parse.quote(s, safe=""),
    "url plus": lambda s: urllib.parse.quote_plus(s),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64 unpadded": lambda s: base64.b64encode(s.encode()).decode().rstrip("="),
    "base64 urlsafe": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
    "hex": lambda s: s.encode().hex(),
    "HEX": lambda s: s.encode().hex().upper(),
    **{f"base64 inside text at offset {k}": (lambda s, k=k: base64.b64encode(
        b"x" * k + b"Authorization: Bearer " + s.encode() + b" trailing").decode()) for k in range(3)},
}
LEAKY_QA = "leaky-qa"
ECHO_QA = "echo-qa"


@pytest.fixture()
def leaky_agents(monkeypatch: pytest.MonkeyPatch) -> Iterator[Catalog]:
    """Two agents that quote the key in the encoding $HARDEN_FORM names: one in its
    error, one in its answer. The key is in a variable only the name pattern marks."""
    monkeypatch.setenv("AZURE_OPENAI_KEY", SECRET)

    def quoted() -> str:
        return ENCODINGS[os.environ["HARDEN_FORM"]](os.environ["AZURE_OPENAI_KEY"])

    @registry.agent(LEAKY_QA, interface="question_answering", version="1")
    def leaky(question, *context, seed: int = 0):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"the server said: invalid key {quoted()}")

    @registry.agent(ECHO_QA, interface="question_answering", version="1")
    def echo(question, *context, seed: int = 0):  # type: ignore[no-untyped-def]
        return f"your key is {quoted()}"

    catalog = Catalog()
    with catalog.transaction():
        for name in (LEAKY_QA, ECHO_QA):
            catalog.execute("INSERT INTO agents (name, interface, kind, model, quality, quality_source) "
                            "VALUES (?, 'question_answering', 'tool', 'test', 0.99, 'default:test')", [name])
            catalog.execute("INSERT INTO profiles (agent, hardware, units, setup_s, per_item_s, per_media_s, "
                            "utilisation, source) VALUES (?, 'local-core', 1, 0, 0.01, 0, 1, 'default:test')",
                            [name])
    catalog.reload()
    yield catalog
    registry.unregister(LEAKY_QA)
    registry.unregister(ECHO_QA)


@pytest.mark.parametrize("form", sorted(ENCODINGS))
def test_each_encoding_of_a_key_is_scrubbed(form: str) -> None:
    os.environ["AZURE_OPENAI_KEY"] = SECRET
    try:
        quoted = ENCODINGS[form](SECRET)
        assert quoted not in scrub(f"error: {quoted} end") and MASK in scrub(f"error: {quoted} end")
        assert contains_secret(["ok", {"detail": f"<p>{quoted}</p>"}])
        assert not contains_secret(["ok", {"detail": "nothing secret"}])
    finally:
        del os.environ["AZURE_OPENAI_KEY"]


@pytest.mark.parametrize("form", ["as written", "json with \\/", "json \\u escapes", "html decimal",
                                  "url default safe", "base64 inside text at offset 2", "HEX"])
def test_a_key_a_failing_agent_quotes_is_scrubbed_from_its_note(tmp_path: Path, leaky_agents: Catalog,
                                                                monkeypatch: pytest.MonkeyPatch, form: str) -> None:
    monkeypatch.setenv("HARDEN_FORM", form)
    result = _qa(tmp_path, LEAKY_QA, leaky_agents)
    quoted = ENCODINGS[form](SECRET)
    failed = [n for n in result.notes if "leaky-qa failed" in n]
    assert failed and all(MASK in n for n in failed)
    assert quoted not in "\n".join(result.notes) + str(result.outputs)
    assert "umbrella" in dict(result.outputs)["a"]  # replaced by a healthy agent


@pytest.mark.parametrize("form", ["as written", "json", "html entities", "url safe=''", "base64", "hex"])
def test_an_answer_that_quotes_a_key_is_not_cached_and_is_scrubbed(tmp_path: Path, leaky_agents: Catalog,
                                                                 monkeypatch: pytest.MonkeyPatch, form: str) -> None:
    monkeypatch.setenv("HARDEN_FORM", form)
    result = _qa(tmp_path, ECHO_QA, leaky_agents)
    quoted = ENCODINGS[form](SECRET)
    assert dict(result.outputs)["a"] == f"your key is {MASK}"
    assert any("holds the value of a secret variable: not cached" in n for n in result.notes), result.notes
    assert not _entries(tmp_path)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert quoted.encode() not in path.read_bytes()


@pytest.mark.parametrize("name", ["OPENAI_KEY", "AZURE_OPENAI_KEY", "AWS_SECRET_ACCESS_KEY", "GITHUB_PAT",
                                  "DATABASE_URL", "SLACK_WEBHOOK_URL", "SENTRY_DSN", "MY_API_TOKEN"])
def test_secret_variables_are_recognised_by_name(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "value-0123456789")
    assert name in secret_names()
    assert scrub("x value-0123456789 y") == f"x {MASK} y"


@pytest.mark.parametrize("name", ["PATH", "MONKEY", "KEYBOARD_LAYOUT", "HOME"])
def test_ordinary_variables_are_not_secrets(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "value-0123456789")
    assert name not in secret_names()


def test_users_name_their_own_secret_variables_and_urls_hide_their_passwords(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_THING", "plain-looking-value")
    assert "MY_THING" not in secret_names()
    monkeypatch.setenv("MURAKKAB_SECRET_VARS", "OTHER, MY_THING")
    assert "MY_THING" in secret_names()
    assert scrub("got plain-looking-value") == f"got {MASK}"
    monkeypatch.setenv("BROKER", "amqp://user:hunter2-long-pass@mq:5672/")
    assert "hunter2-long-pass" not in scrub("login failed for password hunter2-long-pass")


# -- workers never outlive their run ----------------------------------------------------------------
SLEEPY = '''
import time

from murakkab.runtime.agents import agent


@agent("sleepy-summary", interface="summarization", version="1")
def sleepy(text):
    time.sleep(120)
    return "too late"
'''
SLEEPY_JOB = """CREATE WORKFLOW s (notes LIST<TEXT>) AS (
  loud := summarization (notes) USING (agent = 'sleepy-summary')
) RETURNS loud;
RUN s (notes => ['one', 'two', 'three', 'four']);
"""


def _children(pid: int) -> set[int]:
    """The process ids of ``pid``'s children, from /proc."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return found


def _workers(pid: int) -> set[int]:
    """The children of ``pid`` that are its forked workers (same command line), not a
    helper it runs meanwhile (nvidia-smi, a solver)."""
    def cmdline(p: int) -> bytes:
        try:
            return Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            return b"?"

    mine = cmdline(pid)
    return {c for c in _children(pid) if cmdline(c) == mine}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads children from /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killing_a_run_leaves_no_process_behind(tmp_path: Path, sig: signal.Signals) -> None:
    (tmp_path / "sleepy.py").write_text(SLEEPY)
    (tmp_path / "s.job").write_text(SLEEPY_JOB)
    command = [sys.executable, "-m", "murakkab", "run", str(tmp_path / "s.job"), "--agents",
               str(tmp_path / "sleepy.py"), "--catalog", str(tmp_path / "c.duckdb"), "--cache-dir",
               str(tmp_path / "cache"), "--retries", "0"]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while not workers and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            workers = _workers(proc.pid)
        assert workers, f"no worker started: {proc.communicate(timeout=10)}"
        time.sleep(0.5)  # the workers are inside the agent now
        os.kill(proc.pid, sig)  # the run alone, not its process group: the workers must follow by themselves
        proc.wait(timeout=30)
        gone_by = time.monotonic() + 5
        while any(_alive(w) for w in workers) and time.monotonic() < gone_by:
            time.sleep(0.05)
        assert not [w for w in workers if _alive(w)], "workers outlived the run"
        out, err = proc.communicate(timeout=10)  # EOF only once no worker holds the pipes
        if sig == signal.SIGTERM:
            assert proc.returncode == 128 + signal.SIGTERM, err
            assert "terminated: the finished calls are cached" in err and "Traceback" not in err
        else:
            assert proc.returncode == -signal.SIGKILL
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left, so a failing test leaks nothing
        except ProcessLookupError:
            pass
