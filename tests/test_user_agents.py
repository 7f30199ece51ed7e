"""Agents users write in Python: loaded from a file or module (`--agents`), planned with
default catalog entries until runs teach the catalog better, run locally and on Ray, and
every way loading can go wrong reported with where it went wrong."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

import murakkab
from murakkab.api import USER_AGENT_QUALITY, attach_user_agents
from murakkab.catalog.catalog import Catalog
from murakkab.cli import main
from murakkab.runtime.agents import AgentError, registry
from murakkab.runtime.agents.registry import load_agents

AGENTS = '''
from murakkab.runtime.agents import agent

MARK = "!"


@agent("shouty-summary", interface="summarization", version="1")
def shout(text):
    """Upper-cases the text."""
    return str(text).upper() + MARK
'''
JOB = """CREATE WORKFLOW s (notes LIST<TEXT>) AS (
  loud := summarization (notes) USING (agent = 'shouty-summary')
) RETURNS loud;
RUN s (notes => ['one', 'two', 'three']);
"""


@pytest.fixture(scope="module", autouse=True)
def ray_stopped_after() -> Iterator[None]:
    """The Ray tests here share one local Ray; it stops with the module, so a later module
    in this worker (tests/test_serve.py starts its own) does not find it running."""
    yield
    from murakkab.runtime.ray_executor import shutdown

    shutdown()


@pytest.fixture
def agent_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "my_agents.py"
    path.write_text(AGENTS)
    yield path
    if "shouty-summary" in {s.name for s in registry.registered()}:
        registry.unregister("shouty-summary")


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_a_file_s_agents_are_planned_and_run(tmp_path: Path, agent_file: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    job = tmp_path / "s.job"
    job.write_text(JOB)
    code, _, err = _cli(capsys, "check", str(job))
    assert code == 2 and "--agents my_agents.py" in err  # without the file: not known, and how to add it
    code, out, _ = _cli(capsys, "run", str(job), "--agents", str(agent_file), "--format", "json",
                        "--cache-dir", str(tmp_path / "cache"))
    assert code == 0
    (run,) = json.loads(out)
    assert run["result"]["outputs"]["loud"] == "[ONE!, TWO!, THREE!]"
    assert {t["agent"] for t in run["plan"]["physical"]["tasks"]} == {"shouty-summary"}


def test_a_user_agent_gets_default_catalog_entries_for_the_session_only(agent_file: Path) -> None:
    load_agents(str(agent_file))
    catalog = Catalog()
    assert "shouty-summary" in attach_user_agents(catalog)
    agent = catalog.agent("shouty-summary")
    assert agent is not None and agent.quality == USER_AGENT_QUALITY and agent.quality_source.startswith("default:")
    (profile,) = catalog.profiles("shouty-summary")
    assert profile.hardware == "local-core" and profile.source.startswith("default:")
    assert not catalog.execute("SELECT 1 FROM agents WHERE name = 'shouty-summary'")  # not stored
    assert attach_user_agents(catalog) == ()  # once
    registry.unregister("shouty-summary")
    attach_user_agents(catalog)
    assert catalog.agent("shouty-summary") is None  # unregistered: gone from plans too


def test_loading_the_same_file_twice_registers_once(agent_file: Path) -> None:
    assert load_agents(str(agent_file)) is load_agents(str(agent_file))


def test_a_module_name_works_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site_agents"
    package.mkdir()
    (package / "__init__.py").write_text(AGENTS.replace("shouty-summary", "pkg-summary"))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        load_agents("site_agents")
        assert registry.get("pkg-summary")("hi") == "HI!"
    finally:
        registry.unregister("pkg-summary")


@pytest.mark.parametrize(("source", "says"), [
    ("def broken(:\n    pass\n", r"my_agents\.py:1:\d+: syntax error"),
    ("import nowhere_to_be_found\n", "no module named 'nowhere_to_be_found'"),
    ("x = 1\nraise RuntimeError('no GPU here')\n", r"my_agents\.py:2: loading agents from .* failed: "
                                                   r"RuntimeError: no GPU here"),
    ("from murakkab.runtime.agents import agent\n@agent('Bad Name', interface='summarization')\n"
     "def f(text):\n    return text\n", "bad agent name 'Bad Name'"),
])
def test_a_broken_agent_file_is_a_located_error(tmp_path: Path, source: str, says: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "my_agents.py"
    path.write_text(textwrap.dedent(source))
    with pytest.raises(AgentError, match=says):
        load_agents(str(path))
    job = tmp_path / "s.job"
    job.write_text(JOB)
    code, _, err = _cli(capsys, "run", str(job), "--agents", str(path))
    assert code == 2 and err.startswith("error:")


def test_a_missing_agent_file_or_module_says_so(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="no agent file"):
        load_agents(str(tmp_path / "nope.py"))
    with pytest.raises(AgentError, match="no module named 'no_such_agents_pkg'"):
        load_agents("no_such_agents_pkg.agents")


def test_ray_workers_run_an_agent_from_a_file_they_cannot_import(tmp_path: Path, agent_file: Path) -> None:
    pytest.importorskip("ray")
    load_agents(str(agent_file))
    local = murakkab.run(JOB, backend="local", catalog=Catalog(), use_cache=False)[0]
    ray = murakkab.run(JOB, backend="ray", catalog=Catalog(), use_cache=False)[0]
    assert ray.result.outputs == local.result.outputs == (("loud", "[ONE!, TWO!, THREE!]"),)


CRASHING = '''
import faulthandler
import os
import signal

from murakkab.runtime.agents import agent


@agent("crashing-summary", interface="summarization", version="1")
def crash(text):
    faulthandler.disable()  # pytest's fault handler would print the crash in this forked worker
    os.kill(os.getpid(), signal.SIGSEGV)  # a native library's crash, say
'''


def test_an_agent_that_kills_its_worker_is_retried_then_replaced(tmp_path: Path) -> None:
    path = tmp_path / "crashing.py"
    path.write_text(CRASHING)
    load_agents(str(path))
    try:
        job = JOB.replace("shouty-summary", "crashing-summary")
        (outcome,) = murakkab.run(job, backend="local", catalog=Catalog(), use_cache=False)
    finally:
        registry.unregister("crashing-summary")
    notes = "\n".join(outcome.result.notes)
    assert "crashing-summary failed: the worker died (killed by SIGSEGV)" in notes
    assert "re-planned the rest without crashing-summary" in notes
    assert {r.agent for r in outcome.result.timeline} == {"extractive-summary"}
    assert dict(outcome.result.outputs)["loud"].startswith("[one")


FAILING = '''
import time

from murakkab.runtime.agents import agent


@agent("failing-summary", interface="summarization", version="1")
def fails(text):
    raise RuntimeError("this agent always fails")


@agent("sleepy-summary", interface="summarization", version="1")
def sleepy(text):
    time.sleep(60)
    return "too late"
'''


def test_on_ray_a_failing_agent_is_replaced_and_a_timeout_is_enforced(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    path = tmp_path / "failing.py"
    path.write_text(FAILING)
    load_agents(str(path))
    try:
        # No quality floor: sleepy-summary's session default quality (0.5) would make it
        # the floor's replacement for failing-summary; this test is about the mechanics.
        unfloored = "SET quality_floor = off;\n" + JOB
        (failed,) = murakkab.run(unfloored.replace("shouty-summary", "failing-summary"), backend="ray",
                                 catalog=Catalog(), use_cache=False, retries=1)
        (slow,) = murakkab.run(unfloored.replace("shouty-summary", "sleepy-summary"), backend="ray", catalog=Catalog(),
                               use_cache=False, retries=0, timeout_s=1.0)
    finally:
        registry.unregister("failing-summary")
        registry.unregister("sleepy-summary")
    notes = "\n".join(failed.result.notes)
    assert "failing-summary failed: RuntimeError: this agent always fails" in notes
    assert "re-planned the rest without failing-summary" in notes
    assert "sleepy-summary timed out after 1 s" in "\n".join(slow.result.notes)
    for outcome in (failed, slow):
        assert {r.agent for r in outcome.result.timeline} == {"extractive-summary"}
        assert dict(outcome.result.outputs)["loud"].startswith("[one")


LEAKY = '''
import os

from murakkab.runtime.agents import agent

if os.environ.get("LEAK_AT_IMPORT"):
    raise RuntimeError("cannot log in with " + os.environ["MY_SERVICE_API_KEY"])


@agent("leaky-summary", interface="summarization", version="1")
def leaky(text):
    raise RuntimeError(f"the service refused key {os.environ['MY_SERVICE_API_KEY']!r}")
'''
SERVICE_KEY = "svc-Very-Secret-0123456789"


def test_a_secret_an_agent_quotes_in_its_error_is_blanked_everywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MY_SERVICE_API_KEY", SERVICE_KEY)
    path = tmp_path / "leaky.py"
    path.write_text(LEAKY)
    job = tmp_path / "s.job"
    job.write_text(JOB.replace("shouty-summary", "leaky-summary"))
    trace = tmp_path / "t.json"
    try:
        code, out, err = _cli(capsys, "run", str(job), "--agents", str(path), "--retries", "0", "--no-cache",
                              "--trace", str(trace), "--format", "json")
    finally:
        registry.unregister("leaky-summary")
    assert code == 0
    notes = json.loads(out)[0]["result"]["notes"]
    assert any("the service refused key '***'" in n for n in notes)  # the error is kept, the key is not
    assert SERVICE_KEY not in out + err + trace.read_text()
    # The same when the module itself fails to load with the key in its message.
    monkeypatch.setenv("LEAK_AT_IMPORT", "1")
    failing = tmp_path / "leaky_at_import.py"
    failing.write_text(LEAKY)
    code, out, err = _cli(capsys, "run", str(job), "--agents", str(failing))
    assert code == 2 and "cannot log in with ***" in err and SERVICE_KEY not in out + err


WRONG_TYPE = '''
from murakkab.runtime.agents import agent


@agent("counting-summary", interface="summarization", version="1")
def count(text):
    return len(text)
'''


def test_an_agent_returning_the_wrong_type_is_named_and_replaced(tmp_path: Path) -> None:
    """An int where the interface returns TEXT fails at the agent that returned it (then
    the agent is replaced), not as a puzzle in the task that reads it."""
    path = tmp_path / "wrong_type.py"
    path.write_text(WRONG_TYPE)
    load_agents(str(path))
    try:
        with pytest.raises(AgentError) as err:
            registry.get("counting-summary")("some text")
        assert err.value.message == ("agent 'counting-summary' (summarization) returned an int, not str or Document: "
                                     "summarization returns TEXT")
        job = JOB.replace("shouty-summary", "counting-summary")
        (outcome,) = murakkab.run(job, backend="local", catalog=Catalog(), use_cache=False, retries=1)
    finally:
        registry.unregister("counting-summary")
    notes = "\n".join(outcome.result.notes)
    assert "counting-summary failed: AgentError: agent 'counting-summary' (summarization) returned an int" in notes
    assert "gave up on counting-summary after 1 retry; re-planned the rest" in notes
    assert dict(outcome.result.outputs)["loud"].startswith("[one")


@pytest.mark.parametrize("value, typ, why", [
    ("text", "TEXT", None), (["a", "b"], "LIST<CHUNK>", None), (3, "NUMBER", None), (True, "NUMBER", "a bool, not int or float"),
    ("x", "LIST<TEXT>", "a str, not a list"), (["a", 2], "LIST<TEXT>", "a list whose item 1 is an int, not str or Document"),
    (object(), "ANY", None), ("a.mp4", "VIDEO", "a str, not Clip")])
def test_values_are_checked_against_the_job_types(value: object, typ: str, why: str | None) -> None:
    from murakkab.runtime.agents.values import mismatch

    assert mismatch(value, typ) == why
