"""The local executor: real agents, identical outputs from a cached re-run, resume after
SIGKILL without redoing finished calls, retry then replace a failing agent, timeouts,
and no secret in any output, trace or catalog row."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import murakkab
from murakkab.catalog.catalog import Catalog
from murakkab.grammar.diagnostics import MurakkabError
from murakkab.runtime.agents import registry
from murakkab.runtime.trace import chrome_trace

ROOT = Path(__file__).parent.parent
SAMPLES = ROOT / "examples" / "video_qa_samples.job"
# No quality floor: these tests are about retries and replacement, and the test agents
# registered beside extractive-qa carry the session default quality (0.5), which a floor
# would make the replacement of choice.
QA = """SET quality_floor = off;
CREATE WORKFLOW w (q TEXT, notes LIST<TEXT>) AS (
  a := question_answering (q, notes) USING (agent = '{agent}')
) RETURNS a;
RUN w (q => 'What is the person holding?', notes => ['It rains.', 'He is holding an umbrella.']);"""


def _cache_entries(root: Path) -> int:
    return sum(1 for p in root.rglob("*.entry"))


def test_real_video_qa_and_a_cached_rerun_give_identical_outputs(tmp_path: Path) -> None:
    first = murakkab.run(SAMPLES, backend="local", catalog=Catalog(), cache_dir=tmp_path)[0]
    assert "umbrella" in dict(first.result.outputs)["answer"]
    assert first.result.cache_hits == 0
    second = murakkab.run(SAMPLES, backend="local", catalog=Catalog(), cache_dir=tmp_path)[0]
    assert second.result.outputs == first.result.outputs
    assert second.result.cache_hits == _cache_entries(tmp_path) > 0


def test_sigkill_mid_run_resumes_without_redoing_finished_calls(tmp_path: Path) -> None:
    env = {**os.environ, "MURAKKAB_CACHE": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "murakkab", "run", str(SAMPLES)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while _cache_entries(tmp_path) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = _cache_entries(tmp_path)
    assert done >= 3, "the run was killed after some calls finished"
    resumed = murakkab.run(SAMPLES, backend="local", catalog=Catalog(), cache_dir=tmp_path)[0]
    # Every call the killed run finished is read back, not computed again.
    assert resumed.result.cache_hits >= done
    assert "umbrella" in dict(resumed.result.outputs)["answer"]


def _served_sleeper(caller: int) -> None:
    """A fork-server child armed as a worker is (runtime/local.py ``_worker``), then idle."""
    from murakkab.runtime.lifetime import die_with_parent

    die_with_parent(os.getppid(), also=caller)
    time.sleep(120)


ORPHAN = """import os, signal, sys, time
from murakkab.runtime.local import _fork_server
from tests.test_local_executor import _served_sleeper

child = _fork_server().Process(target=_served_sleeper, args=(os.getpid(),))
child.start()
print(child.pid, flush=True)
time.sleep(1.0)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie nobody reaped counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] in ("Z", "X")
    except OSError:
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_worker_the_fork_server_started_dies_with_the_caller() -> None:
    """Built-in agents run in children of the fork server, not of the caller: when the
    caller is killed (SIGKILL, nothing cleans up), they must not outlive it."""
    proc = subprocess.run([sys.executable, "-c", ORPHAN], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    worker = int(proc.stdout.split()[0])
    deadline = time.monotonic() + 20
    while not _gone(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(worker), f"worker {worker} outlived its caller"


SLOW_SUMMARIES = """CREATE WORKFLOW w (notes LIST<TEXT>) AS (
  s := summarization (notes) USING (agent = 'slow-summary')
) RETURNS s;
RUN w (notes => ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten']);"""
# The CLI with one more agent registered: 0.3 s a call, so Ctrl-C lands mid-run. SIGINT is
# set to its default first, as a terminal's foreground job has it: a test run started in
# the background (`cmd &` in a script) passes SIGINT on ignored, and the run would go on.
SLOW_CLI = """import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from murakkab.runtime.agents import registry

@registry.agent("slow-summary", interface="summarization", version="1")
def slow(text, **knobs):
    time.sleep(0.3)
    return text.upper()

from murakkab.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_stops_cleanly_and_a_rerun_resumes(tmp_path: Path) -> None:
    catalog_file = tmp_path / "catalog.duckdb"
    catalog = Catalog(catalog_file)
    with catalog.transaction():
        catalog.execute("INSERT INTO agents (name, interface, kind, model, quality, quality_source) "
                        "VALUES ('slow-summary', 'summarization', 'tool', 'test', 0.5, 'default:test')")
        catalog.execute("INSERT INTO profiles (agent, hardware, units, setup_s, per_item_s, per_media_s, "
                        "utilisation, source) VALUES ('slow-summary', 'local-core', 1, 0, 0.3, 0, 1, 'default:test')")
    catalog.close()
    script = tmp_path / "slow.job"
    script.write_text(SLOW_SUMMARIES)
    cache = tmp_path / "cache"
    command = [sys.executable, "-c", SLOW_CLI, "run", str(script), "--catalog", str(catalog_file),
               "--cache-dir", str(cache)]
    # A session of its own, like a terminal's foreground job: Ctrl-C goes to the group.
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while _cache_entries(cache) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted: the finished calls are cached" in err and "Traceback" not in err + out
    # The cache is consistent: no half-written entry is left, and the re-run reads back
    # every finished call instead of redoing it.
    assert not list(cache.rglob(".tmp-*"))
    done = _cache_entries(cache)
    assert 2 <= done < 10
    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{done} calls from the cache" in rerun.stdout and "ONE" in rerun.stdout


@pytest.fixture()
def flaky_agents():
    calls = {"n": 0}

    @registry.agent("always-fails-qa", interface="question_answering", version="1")
    def fails(question, *context, seed: int = 0):  # type: ignore[no-untyped-def]
        raise RuntimeError("this agent always fails")

    @registry.agent("slow-qa", interface="question_answering", version="1")
    def slow(question, *context, seed: int = 0):  # type: ignore[no-untyped-def]
        time.sleep(30)
        return "too late"

    yield calls
    registry.unregister("always-fails-qa")
    registry.unregister("slow-qa")


def _catalog_with(*agents: str) -> Catalog:
    catalog = Catalog()
    with catalog.transaction():
        for name in agents:
            catalog.execute("INSERT INTO agents (name, interface, kind, model, quality, quality_source) "
                            "VALUES (?, 'question_answering', 'tool', 'test', 0.99, 'default:test')", [name])
            catalog.execute("INSERT INTO profiles (agent, hardware, units, setup_s, per_item_s, per_media_s, "
                            "utilisation, source) VALUES (?, 'local-core', 1, 0, 0.01, 0, 1, 'default:test')", [name])
    catalog.reload()
    return catalog


def test_a_failing_agent_is_retried_then_replaced(tmp_path: Path, flaky_agents) -> None:
    catalog = _catalog_with("always-fails-qa")
    (outcome,) = murakkab.run(QA.format(agent="always-fails-qa"), backend="local", catalog=catalog,
                              cache_dir=tmp_path, retries=2)
    notes = outcome.result.notes
    assert sum("always-fails-qa failed" in n for n in notes) == 3  # the first try and 2 retries
    (replan,) = [n for n in notes if "re-planned" in n]
    assert "gave up on always-fails-qa after 2 retries" in replan
    assert "a always-fails-qa on local-core x1 -> extractive-qa on local-core x1" in replan
    # The script pinned the failing agent; the interface, not the pin, is the contract.
    assert "task 'a' may use any question_answering" in replan
    assert "umbrella" in dict(outcome.result.outputs)["a"]
    assert {r.agent for r in outcome.result.timeline} == {"extractive-qa"}


TWO_QA = """SET quality_floor = off;
CREATE WORKFLOW w (q TEXT, notes LIST<TEXT>) AS (
  a := question_answering (q, notes) USING (agent = 'always-fails-qa'),
  b := question_answering (q, a) USING (agent = 'always-fails-qa')
) RETURNS b;
RUN w (q => 'What is the person holding?', notes => ['It rains.', 'He is holding an umbrella.']);"""


def test_dropping_an_agent_replans_the_tasks_not_yet_started(tmp_path: Path, flaky_agents) -> None:
    catalog = _catalog_with("always-fails-qa")
    events = []
    (outcome,) = murakkab.run(TWO_QA, backend="local", catalog=catalog, cache_dir=tmp_path, retries=1,
                              progress=events.append)
    notes = outcome.result.notes
    # Task b was planned on the failing agent too, but moved before it started: only
    # task a's two tries failed.
    assert sum("always-fails-qa failed" in n for n in notes) == 2
    (replan,) = [n for n in notes if "re-planned" in n]
    assert "b always-fails-qa on local-core x1 fan-out 1 -> extractive-qa on local-core x1 fan-out 1" in replan
    assert outcome.result.replanned is not None
    assert {t.candidate.agent for t in outcome.result.replanned.tasks} == {"extractive-qa"}
    assert "umbrella" in dict(outcome.result.outputs)["b"]
    from murakkab.compiler.explain import render_analyze

    analyze = render_analyze(outcome.plan, outcome.result)
    assert "always-fails-qa -> extractive-qa" in analyze
    kinds = [e.kind for e in events]
    assert kinds.count("retry") == 1 and kinds.count("replan") == 1 and kinds.count("done") == 2
    last = events[-1]
    assert last.kind == "done" and last.done == last.total == 2


def test_without_a_replanner_the_registry_supplies_the_replacement(tmp_path: Path, flaky_agents) -> None:
    from murakkab.runtime.local import LocalExecutor

    catalog = _catalog_with("always-fails-qa")
    script = QA.format(agent="always-fails-qa").replace("]);", "]) ON CLUSTER local;")
    plan = murakkab.optimize(script, catalog=catalog)[0]
    # (slow-qa, registered beside it, would outrank extractive-qa on its default quality)
    result = LocalExecutor(catalog, cache_dir=tmp_path, retries=0, backoff_s=0.0,
                           available=murakkab.api.local_agents() - {"slow-qa"}).run(plan)
    assert any("replaced always-fails-qa by extractive-qa after 0 retries" in n for n in result.notes)
    assert "umbrella" in dict(result.outputs)["a"] and result.replanned is None


def test_a_timeout_is_enforced(tmp_path: Path, flaky_agents) -> None:
    catalog = _catalog_with("slow-qa")
    t0 = time.monotonic()
    (outcome,) = murakkab.run(QA.format(agent="slow-qa"), backend="local", catalog=catalog, cache_dir=tmp_path,
                              retries=0, timeout_s=0.5)
    assert time.monotonic() - t0 < 20
    assert any("slow-qa timed out after 0.5 s" in n for n in outcome.result.notes)
    # Shards are counted from 1 in notes, as in the progress lines.
    assert any(n.startswith("a shard 1: slow-qa timed out") for n in outcome.result.notes), outcome.result.notes
    assert dict(outcome.result.outputs)["a"] != "too late"


def test_missing_input_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MurakkabError, match="input file not found"):
        murakkab.run(ROOT / "examples" / "video_qa.job", backend="local", catalog=Catalog(), cache_dir=tmp_path)


DOC_SUMMARY = """CREATE WORKFLOW s (docs LIST<DOCUMENT>) AS (
  c := document_chunking (docs),
  s := summarization (c)
) RETURNS s;
RUN s (docs => ['{path}']);"""


@pytest.mark.parametrize(("make", "says"), [
    (lambda d: (d / "notes").mkdir() or d / "notes", "is a folder with no files in it"),
    (lambda d: (d / "l1.txt").write_bytes("Caf\xe9 r\xe9sum\xe9.".encode("latin-1")) and d / "l1.txt",
     r"l1\.txt is not UTF-8 text \(byte 0xe9 at offset 3\)"),
])
def test_an_unreadable_document_is_an_error_at_the_input_before_any_work(tmp_path: Path, make, says: str) -> None:
    path = make(tmp_path)
    with pytest.raises(MurakkabError, match=says) as info:
        murakkab.run(DOC_SUMMARY.format(path=path), backend="local", catalog=Catalog(), cache_dir=tmp_path / "c")
    assert info.value.span is not None and info.value.span.line == 5  # points at the RUN's input
    assert not list((tmp_path / "c").rglob("*.entry"))


LLM_QA = """CREATE WORKFLOW w (q TEXT, notes LIST<TEXT>) AS (
  a := question_answering (q, notes) USING (agent = 'openai-chat')
) RETURNS a;
RUN w (q => 'What is the person holding?', notes => ['It rains.', 'He is holding an umbrella.']);"""


@pytest.fixture()
def llm_server(monkeypatch: pytest.MonkeyPatch):
    """A fake OpenAI-compatible endpoint, configured as a user would: base URL and model in
    the environment, the key in the variable the catalog names (agents.api_key_env)."""
    from .test_agents_llm import serving

    for srv in serving(monkeypatch):
        monkeypatch.setenv("MURAKKAB_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("MURAKKAB_LLM_MODEL", "tiny-llm")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-3f9d2c7a1b5e")
        yield srv


def _assert_secret_nowhere(secret: str, texts: list[str], catalog_file: Path, cache: Path) -> None:
    assert all(secret not in text for text in texts)
    catalog = Catalog(catalog_file, read_only=True)
    try:
        tables = [r[0] for r in catalog.execute("SELECT table_name FROM information_schema.tables")]
        assert "observations" in tables and "agents" in tables
        for table in tables:
            assert secret not in json.dumps(catalog.execute(f'SELECT * FROM "{table}"'), default=str), table
    finally:
        catalog.close()
    for path in cache.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes()


def test_an_api_key_appears_nowhere(tmp_path: Path, capsys: pytest.CaptureFixture[str], llm_server) -> None:
    from murakkab.cli import main

    secret = os.environ["OPENAI_API_KEY"]
    script = tmp_path / "ask.job"
    script.write_text(LLM_QA)
    catalog_file, trace, cache = tmp_path / "c.duckdb", tmp_path / "trace.json", tmp_path / "cache"
    args = ["run", str(script), "--catalog", str(catalog_file), "--cache-dir", str(cache), "--trace", str(trace)]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "a: An umbrella." in out
    # The key went where it belongs, in the request's Authorization header, and nowhere else
    # (a call is sent again if its worker died, so there may be more than one request).
    assert llm_server.requests
    assert all(r["headers"]["Authorization"] == f"Bearer {secret}" for r in llm_server.requests)
    texts = [out, err, trace.read_text()]
    # A careless server that echoes the key in its error: the agent fails, is replaced,
    # and the notes that say why quote the error with the key blanked out.
    llm_server.mode = "echo-401"
    assert main(args + ["--no-cache", "--retries", "0"]) == 0
    out, err = capsys.readouterr()
    assert "bad key" in out + err and "a: " in out
    _assert_secret_nowhere(secret, texts + [out, err, trace.read_text()], catalog_file, cache)


def test_answers_of_another_endpoint_model_are_not_served_from_the_cache(tmp_path: Path, llm_server,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def hits() -> int:
        return murakkab.run(LLM_QA, backend="local", catalog=Catalog(), cache_dir=tmp_path)[0].result.cache_hits

    assert hits() == 0 and hits() == 1
    monkeypatch.setenv("MURAKKAB_LLM_MODEL", "another-llm")
    assert hits() == 0 and len(llm_server.requests) == 2
    assert json.loads(llm_server.requests[-1]["body"])["model"] == "another-llm"


def test_the_catalog_holds_a_key_s_name_never_a_key(tmp_path: Path) -> None:
    from murakkab.catalog.importer import ImportRejected, import_csv

    pasted = "sk-live-0123456789abcdef"
    bad = tmp_path / "agents.csv"
    bad.write_text("name,interface,kind,model,description,quality,quality_source,baseline,api_key_env\n"
                   f"my-llm,question_answering,model,m,d,0.5,default:x,false,{pasted}\n")
    with pytest.raises(ImportRejected) as info:
        import_csv(Catalog(), bad, table="agents")
    text = info.value.render()
    assert "api_key_env: not the name of an environment variable" in text and pasted not in text


def test_trace_is_chrome_json(tmp_path: Path) -> None:
    outcome = murakkab.run(SAMPLES, backend="local", catalog=Catalog(), cache_dir=tmp_path)[0]
    trace = chrome_trace(outcome.result)
    slices = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert len(slices) == len(outcome.result.timeline)
    assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in slices)


def test_gantt_draws_every_shard(tmp_path: Path) -> None:
    from murakkab.runtime.trace import gantt_svg

    (outcome,) = murakkab.run(ROOT / "examples" / "video_qa.job", backend="sim", catalog=Catalog())
    svg = gantt_svg(outcome.result)
    assert svg.startswith("<svg") and svg.count("<title>") == len(outcome.result.timeline)


def test_gantt_as_png_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2
    import numpy as np

    from murakkab.cli import main
    from murakkab.runtime.trace import PALETTE

    png = tmp_path / "gantt.png"
    assert main(["run", str(ROOT / "examples" / "video_qa.job"), "--backend", "sim", "--gantt", str(png)]) == 0
    image = cv2.imdecode(np.frombuffer(png.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[1] == 960
    # Every task's colour is drawn (bars and legend).
    (outcome,) = murakkab.run(ROOT / "examples" / "video_qa.job", backend="sim", catalog=Catalog())
    for colour in PALETTE[:len({r.task for r in outcome.result.timeline})]:
        bgr = np.array([int(colour[i:i + 2], 16) for i in (5, 3, 1)], np.uint8)
        assert (image == bgr).all(axis=2).any(), colour
    capsys.readouterr()
    assert main(["run", str(ROOT / "examples" / "video_qa.job"), "--backend", "sim",
                 "--gantt", str(tmp_path / "g.pdf")]) == 2
    assert "name the file .svg or .png" in capsys.readouterr().err


def test_ray_gives_the_same_outputs_as_local(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    from murakkab.runtime.ray_executor import shutdown

    from murakkab.runtime.ray_executor import RayExecutor

    local = murakkab.run(SAMPLES, backend="local", catalog=Catalog(), cache_dir=tmp_path / "local")[0]
    try:
        on_ray = murakkab.run(SAMPLES, backend="ray", catalog=Catalog(), cache_dir=tmp_path / "ray")[0]
        # Outputs pass as object references: the driver fetches only the job's answer.
        executor = RayExecutor(Catalog(), cache_dir=tmp_path / "ray-direct")
        direct = executor.run(local.plan)
    finally:
        shutdown()
    assert on_ray.result.backend == "ray" and on_ray.result.cache_hits == 0
    assert on_ray.result.outputs == local.result.outputs == direct.outputs
    assert len(on_ray.result.timeline) == len(local.result.timeline)
    assert executor.driver_fetches == len(local.plan.logical.output.inputs) == 1
    # Planned on the Ray cluster Ray reports (here: this machine's cores), run on its nodes.
    assert on_ray.plan.cluster == "ray" and local.plan.cluster == "local"
    assert {r.machine for r in on_ray.result.timeline} and all(
        r.machine != "local#0" for r in on_ray.result.timeline)
    # The media each shard read is measured where it ran.
    assert all(r.media_s is not None for r in direct.timeline if r.task == "transcript")


def test_a_cache_entry_never_hands_out_clips_of_a_moved_file(tmp_path: Path) -> None:
    # Outputs name their files (a scene is a range of its video): an entry made while the
    # video lived in a/ must not serve the same bytes moved to b/.
    import shutil

    cache = tmp_path / "cache"
    script = """CREATE WORKFLOW w (v LIST<VIDEO>) AS (s := scene_detection (v), f := frame_extraction (s))
RETURNS f;
RUN w (v => ['{path}']);"""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    video = shutil.copy(ROOT / "samples" / "city_walk.mp4", tmp_path / "a" / "clip.mp4")
    first = murakkab.run(script.format(path=video), backend="local", catalog=Catalog(), cache_dir=cache)[0]
    moved = shutil.move(video, tmp_path / "b" / "clip.mp4")
    again = murakkab.run(script.format(path=moved), backend="local", catalog=Catalog(), cache_dir=cache)[0]
    frames = dict(again.result.outputs)["f"]
    assert frames == dict(first.result.outputs)["f"].replace("/a/clip.mp4", "/b/clip.mp4")
    assert "/a/clip.mp4" not in frames and again.result.cache_hits == 0


def test_a_file_that_is_not_media_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("not a video")
    script = f"""CREATE WORKFLOW w (v LIST<VIDEO>) AS (s := scene_detection (v)) RETURNS s;
RUN w (v => ['{bogus}']);"""
    with pytest.raises(MurakkabError) as info:
        murakkab.run(script, backend="local", catalog=Catalog(), cache_dir=tmp_path / "cache")
    err = info.value
    assert "is not a media file this machine can read" in err.message and err.span is not None
    assert "<string>:2:" in err.render()


def test_when_every_implementation_fails_the_error_says_why(tmp_path: Path, flaky_agents) -> None:
    from murakkab.runtime.local import ExecutionError, LocalExecutor

    catalog = _catalog_with("always-fails-qa")
    script = QA.format(agent="always-fails-qa").replace("]);", "]) ON CLUSTER local;")
    plan = murakkab.optimize(script, catalog=catalog)[0]
    executor = LocalExecutor(catalog, cache_dir=tmp_path, retries=1, backoff_s=0.0,
                             available=frozenset({"always-fails-qa"}))
    with pytest.raises(ExecutionError) as info:
        executor.run(plan)
    message = info.value.render()
    assert "task 'a' failed with every implementation of question_answering: always-fails-qa" in message
    assert "last failure: always-fails-qa failed: RuntimeError: this agent always fails" in message
    assert "<string>:3:" in message


IMAGE_JOB = """CREATE WORKFLOW w (img IMAGE) AS (
  d := object_detection (img),
  c := frame_summarization (img)
) RETURNS d, c;
RUN w (img => '{path}');"""


def test_an_image_file_is_a_picture_identified_by_its_pixels(tmp_path: Path) -> None:
    import cv2

    from murakkab.runtime.agents.frames import extract_frames

    picture = tmp_path / "street.png"
    frame = extract_frames(str(ROOT / "samples" / "city_walk.mp4"), 1.0, 1.1, 1)[0]
    cv2.imwrite(str(picture), frame)
    cache = tmp_path / "cache"
    first = dict(murakkab.run(IMAGE_JOB.format(path=picture), backend="local", catalog=Catalog(),
                              cache_dir=cache)[0].result.outputs)
    # A still has no time and no neighbours: the description says neither.
    assert first["c"].startswith("A ") and "picture" in first["c"] and "At " not in first["c"]
    # The same file again comes from the cache; edited in place, it is a new picture.
    assert murakkab.run(IMAGE_JOB.format(path=picture), backend="local", catalog=Catalog(),
                        cache_dir=cache)[0].result.cache_hits == 2
    cv2.imwrite(str(picture), 255 - frame)
    edited = murakkab.run(IMAGE_JOB.format(path=picture), backend="local", catalog=Catalog(), cache_dir=cache)[0]
    assert edited.result.cache_hits == 0 and dict(edited.result.outputs)["c"] != first["c"]


def test_a_file_that_is_not_an_image_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "photo.png"
    bogus.write_text("not a picture")
    with pytest.raises(MurakkabError) as info:
        murakkab.run(IMAGE_JOB.format(path=bogus), backend="local", catalog=Catalog(), cache_dir=tmp_path / "c")
    assert "is not an image this machine can read" in info.value.message
    assert "<string>:5:" in info.value.render() and "PNG" in (info.value.hint or "")


def test_an_endpoint_agent_without_an_endpoint_says_what_it_needs(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("MURAKKAB_LLM_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(MurakkabError) as info:
        murakkab.run(LLM_QA, backend="local", catalog=Catalog(), cache_dir=tmp_path)
    assert "openai-chat would, with $MURAKKAB_LLM_BASE_URL or $OPENAI_BASE_URL set" in (info.value.hint or "")
    assert "<string>:2:" in info.value.render()


def test_a_sampled_task_runs_every_sample_and_votes(tmp_path: Path) -> None:
    # A quality SLO makes expand_paths sample the answer (a map over seeds, then a vote): a
    # real run calls the answerer once per seed, not over an empty list of seeds.
    script = QA.replace(" USING (agent = '{agent}')", "").rstrip(";") + " WITH SLO (quality >= BASIC);"
    out = murakkab.run(script, backend="local", catalog=Catalog(), cache_dir=tmp_path)[0]
    assert {t.id for t in out.plan.tasks} == {"a.samples", "a"}
    assert sum(s.calls for s in out.result.timeline if s.task == "a.samples") == 3
    assert dict(out.result.items)["a.samples"] == 3
    assert "umbrella" in dict(out.result.outputs)["a"]


def test_an_unreachable_ray_address_is_a_clear_error_not_a_hang() -> None:
    import socket

    from murakkab.runtime.ray_executor import _check_reachable

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        _check_reachable(f"127.0.0.1:{listening.getsockname()[1]}")  # something listens: Ray's to judge
        _check_reachable(f"ray://127.0.0.1:{listening.getsockname()[1]}")
        free = listening.getsockname()[1]
    with pytest.raises(MurakkabError, match=f"cannot reach a Ray cluster at 127.0.0.1:{free}") as info:
        _check_reachable(f"127.0.0.1:{free}")
    assert "ray start --head" in (info.value.hint or "")
    with pytest.raises(MurakkabError, match="is not a Ray cluster address"):
        _check_reachable("head-node:port")
    _check_reachable("auto")


def test_derived_media_live_beside_the_cache_that_names_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MURAKKAB_WORKDIR", raising=False)
    monkeypatch.setenv("MURAKKAB_CACHE", str(tmp_path / "default"))
    script = f"""CREATE WORKFLOW t (v VIDEO) AS (s := audio_extraction (v), w := speech_to_text (s)) RETURNS w;
RUN t (v => '{ROOT / "samples" / "kitchen.mp4"}');"""
    murakkab.run(script, backend="local", catalog=Catalog(), cache_dir=tmp_path / "mine")
    assert list((tmp_path / "mine" / "media").rglob("*.wav"))
    assert not (tmp_path / "default").exists()


def test_every_task_without_a_local_agent_is_listed_in_one_error(tmp_path: Path) -> None:
    """Seen: missing local agents were reported one interface at a time."""
    with pytest.raises(MurakkabError) as info:
        murakkab.run(ROOT / "examples" / "code_debate.job", backend="local", catalog=Catalog(), cache_dir=tmp_path)
    message = info.value.message
    assert "for 6 tasks" in message
    for task, iface in (("drafts", "code_generation"), ("revised", "debate_round"), ("tests", "test_generation"),
                        ("results", "test_execution"), ("best", "ranking")):
        assert f"'{task}' ({iface})" in message
    assert "each of code_generation, debate_round, ranking, test_execution, test_generation" in (info.value.hint or "")
    assert "--backend sim --cluster" in (info.value.hint or "")


def test_a_shard_of_several_units_holds_a_lane_per_unit_in_the_gantt() -> None:
    """Seen: the Gantt drew a 4-GPU shard as one row."""
    from murakkab.compiler.physical.plan import Estimate
    from murakkab.runtime.executor import RunResult, ShardRun
    from murakkab.runtime.trace import gantt_svg, lanes

    timeline = (ShardRun("a", 0, "x", "m", "GPU", 4, 1, 0.0, 10.0), ShardRun("b", 0, "y", "m", "GPU", 1, 1, 0.0, 5.0),
                ShardRun("c", 0, "z", "m", "GPU", 2, 1, 5.0, 8.0), ShardRun("d", 0, "z", "m", "GPU", 4, 1, 10.0, 12.0))
    result = RunResult("sim", "j", Estimate(12.0, 0.0, 0.0, 1.0, 4, ()), timeline, 4)
    assert lanes(result) == [0, 4, 4, 0]
    svg = gantt_svg(result)
    assert sum(f"m GPU #{k}</text>" in svg for k in range(6)) == 6  # one row per unit lane
    assert "a #0 (x, 4 x GPU)" in svg


def test_analyze_measures_estimates_on_executed_calls_only(tmp_path: Path) -> None:
    """Seen: EXPLAIN ANALYZE's estimation error counted cache hits (97% on a fully cached run)."""
    from murakkab.compiler.explain import analyze, render_analyze

    script = QA.format(agent="extractive-qa")
    (first,) = murakkab.run(script, backend="local", catalog=Catalog(), cache_dir=tmp_path)
    (again,) = murakkab.run(script, backend="local", catalog=Catalog(), cache_dir=tmp_path)
    assert all(r.cached_calls == 0 for r in first.result.timeline)
    assert analyze(first.plan, first.result)[1] is not None
    assert all(r.cached_calls == r.calls > 0 for r in again.result.timeline)
    rows, median = analyze(again.plan, again.result)
    assert median is None and rows[0].cached_calls == rows[0].calls
    text = render_analyze(again.plan, again.result)
    assert "1 of 1 calls came from the cache" in text
    assert "no estimation error: every task read calls from the cache" in text


def test_globs_and_folders_in_a_list_stand_for_their_files(tmp_path: Path) -> None:
    """Seen: docs => ['docs/*.txt'] passed check and explain, then run failed; folders were refused."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in (("b.txt", "Beta is the second letter."), ("a.txt", "Alpha is the first letter."),
                       (".hidden.txt", "not read")):
        (docs / name).write_text(text)
    job = tmp_path / "job.job"
    for pattern in ("docs/*.txt", "docs"):
        job.write_text(DOC_SUMMARY.format(path=pattern))
        (outcome,) = murakkab.run(job, backend="local", catalog=Catalog(), cache_dir=tmp_path / "c")
        node = outcome.plan.logical.node("docs")
        assert node.literal == (str(docs / "a.txt"), str(docs / "b.txt")), pattern
        assert node.stats.items == 2
        assert node.value == f"['{pattern}']"  # EXPLAIN shows what the script says
    job.write_text(DOC_SUMMARY.format(path="docs/*.pdf"))
    with pytest.raises(MurakkabError, match=r"'docs/\*\.pdf' matches no file") as info:
        murakkab.compile(job)
    assert info.value.span is not None and info.value.span.line == 5


def test_a_stated_statistic_the_file_contradicts_is_noted(tmp_path: Path) -> None:
    """Seen: ASSUMING (duration = 2 h) on an 11 s file was ignored without a note."""
    from murakkab.compiler.explain import render_text, to_dict

    script = tmp_path / "t.job"
    script.write_text("CREATE WORKFLOW t (videos LIST<VIDEO>) AS (tr := speech_to_text (videos)) RETURNS tr;\n"
                      f"RUN t (videos => ['{ROOT / 'samples' / 'kitchen.mp4'}'] ASSUMING (duration = 2 h, fps = 24));\n")
    (plan,) = murakkab.optimize(script)
    (note,) = plan.logical.node("videos").notes
    assert note.startswith("input 'videos': ASSUMING (duration = 7200 s) is ignored: the file says 8.")
    assert f"note: {note}" in render_text(plan, Catalog())
    assert to_dict(plan)["logical"]["nodes"][0]["notes"] == [note]
