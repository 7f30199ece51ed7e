"""`murakkab serve`: a fleet plan deployed on Ray Serve answers requests with the offline
agents, end to end; routing by the plan's fractions; the epoch auto-scaler's counts; the
load generator against a plain HTTP server; the command in a subprocess.

Ray starts once for the module (it takes 10-20 s on two cores); the command's test starts
its own in a subprocess. Nothing is skipped: Ray Serve is part of the test install
(`pip install -e '.[dev,ray]'`).
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import replace
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from murakkab import api
from murakkab.compiler.fleet.solve import Demand
from murakkab.runtime.loadgen import post, replay, trace_slice
from murakkab.runtime.serve import (
    EpochScaler,
    Option,
    RequestError,
    Route,
    deploy,
    epoch_replicas,
    pick_option,
    pick_route,
    serve_plan,
)

from .fake_http import JsonHandler

ROOT = Path(__file__).resolve().parents[1]
TRACE = ROOT / "samples/traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv"
# Two SLOs of video Q&A (two configurations, two LLM profiles) beside code generation,
# which has no local agents: it is planned, shares an LLM instance, and is not served.
SCRIPT = """PLAN FLEET FOR
  video_qa AT 30 PER minute WITH SLO (70% quality >= GOOD, 30% latency <= GOOD) ASSUMING (duration = 5 s),
  code_gen AT 6 PER minute
MINIMIZE energy;
"""
# The first scene of the kitchen sample: one scene, one spoken sentence, quick to serve.
INPUTS = {"videos": [{"path": "samples/kitchen.mp4", "end_s": 2.75}], "question": "What is on the table?"}
ENDPOINT_VARS = ("MURAKKAB_LLM_BASE_URL", "OPENAI_BASE_URL")


def test_ray_serve_and_ortools_import_together() -> None:
    """The `ray` extra resolves with OR-Tools in one install: both use protobuf."""
    import google.protobuf
    import ortools
    import ray.serve
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = model.NewIntVar(0, 3, "x")
    model.Maximize(x)
    solver = cp_model.CpSolver()
    assert solver.Solve(model) == cp_model.OPTIMAL and solver.Value(x) == 3
    assert callable(ray.serve.deployment) and ortools.__version__ and google.protobuf.__version__


# -- without Ray -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def plan():
    return api.plan_fleets(SCRIPT)[0]


def _option(label: str, share: float) -> Option:
    return Option(label, share, 0.5, 1.0, (), ())


def test_routing_follows_the_plans_fractions_with_a_seed() -> None:
    options = [_option("a", 0.5), _option("b", 0.3), _option("c", 0.2), _option("never", 0.0)]
    rng = random.Random(1)
    draws = [pick_option(options, rng).label for _ in range(20000)]
    for label, share in (("a", 0.5), ("b", 0.3), ("c", 0.2)):
        assert abs(draws.count(label) / len(draws) - share) < 0.015
    assert "never" not in draws
    rng2 = random.Random(1)
    assert [pick_option(options, rng2).label for _ in range(100)] == draws[:100]
    routes = [Route("video_qa", "quality >= GOOD", 0.7, 0.6, None, tuple(options)),
              Route("video_qa", "latency <= GOOD", 0.3, 0.5, 5.0, tuple(options))]
    assert pick_route(routes, None) is routes[0]
    assert pick_route(routes, "Latency<=good") is routes[1]
    with pytest.raises(RequestError, match="no SLO 'latency <= BEST': one of quality >= GOOD, latency <= GOOD"):
        pick_route(routes, "latency <= BEST")


def test_one_deployment_per_planned_profile(plan) -> None:
    sp = serve_plan(plan, max_replicas=1)
    used = {k for i, p in enumerate(plan.pairs) if p.workflow == "video_qa"
            for c, share in plan.solution.routing[i] if share > 0 for _, k in c.stages}
    assert {d.profile for d in sp.deployments} == used
    for d in sp.deployments:
        assert d.planned == plan.solution.instances[d.profile] and d.replicas == min(d.planned, 1)
    agents = {k: v for d in sp.deployments for k, v in d.agents}
    assert agents == {"video_qa/scenes": ("opencv-content-scenes",), "video_qa/frames": ("opencv-frames",),
                      "video_qa/transcript": ("pocketsphinx",),
                      "video_qa/llm": ("opencv-describe", "extractive-qa")}
    # Each configuration's stages in DAG order, with its frames-per-scene knob.
    for route in sp.routes:
        for o in route.options:
            assert [c.stage for c in o.stages] == ["scenes", "frames", "transcript", "llm"]
            assert dict(o.knobs)["frames_per_scene"] == int(o.label.split(" F")[1].split(",")[0])
    assert sum(o.share for r in sp.routes for o in r.options) == pytest.approx(len(sp.routes))
    why = dict(sp.unserved)["code_gen"]
    assert why.startswith("no agent on this machine for code_generation (stage llm)")
    assert "test_execution (stage tests)" in why and "ranking (stage best)" in why


def test_request_paths_stay_in_the_media_folder(tmp_path: Path) -> None:
    from murakkab.runtime.serve import _video_qa_inputs

    (tmp_path / "clips").mkdir()
    (tmp_path / "clips/k.mp4").symlink_to(ROOT / "samples/kitchen.mp4")  # a link its owner put there
    got = _video_qa_inputs({"videos": ["clips/k.mp4", {"path": "clips/k.mp4", "start_s": 1, "end_s": 99}],
                            "question": "?"}, tmp_path)
    assert [(c.start_s, round(c.end_s, 2)) for c in got["clips"]] == [(0.0, 8.25), (1.0, 8.25)]
    for bad in ("../x.mp4", "clips/../../x.mp4", str(ROOT / "samples/kitchen.mp4")):
        with pytest.raises(RequestError, match="outside the served media folder") as err:
            _video_qa_inputs({"videos": [bad], "question": "?"}, tmp_path)
        assert err.value.status == 403
    with pytest.raises(RequestError, match="no file clips/none.mp4"):
        _video_qa_inputs({"videos": ["clips/none.mp4"], "question": "?"}, tmp_path)


def test_epoch_replicas_read_the_capacity_constraint_per_window(plan) -> None:
    window_s, needs = epoch_replicas(plan)
    # One window at a constant rate: its need is the plan's count, sized for that peak.
    assert window_s == 3600 and needs == [{k: n for k, n in plan.solution.instances.items() if n > 0}]
    for key, n in needs[0].items():
        peak, _ = plan.solution.load[key]
        assert n == math.ceil(peak / plan.catalogue.profiles[key].capacity - 1e-9)
    # A quiet window after the peak needs no more than the peak's instances, often fewer.
    demands = {w: Demand(w, (d.rates[0], d.rates[0] / 10), d.window_s, d.source)
               for w, d in plan.problem.demands.items()}
    quiet = replace(plan, problem=replace(plan.problem, demands=demands))
    _, (peak, low) = epoch_replicas(quiet)
    assert peak == needs[0] and all(1 <= low[k] <= peak[k] for k in peak)


class _Recorder:
    """Stands for a Server in EpochScaler's test: records the counts it is given."""

    def __init__(self, sp) -> None:
        self.plan = sp
        self.replicas = {d.name: d.replicas for d in sp.deployments}
        self.calls: list[tuple[str, int]] = []

    def scale(self, name: str, n: int) -> int:
        n = max(1, min(n, self.plan.max_replicas))
        self.calls.append((name, n))
        self.replicas[name] = n
        return n


def test_epoch_scaler_applies_each_windows_counts(plan) -> None:
    # A busy window then a quiet one, under a plan provisioned generously (10x).
    demands = {w: Demand(w, (d.rates[0] * 4, d.rates[0] / 4), d.window_s, d.source)
               for w, d in plan.problem.demands.items()}
    instances = {k: 10 * n for k, n in plan.solution.instances.items()}
    busy = replace(plan, problem=replace(plan.problem, demands=demands),
                   solution=replace(plan.solution, instances=instances))
    _, (peak, low) = epoch_replicas(busy)
    assert any(low[k] < peak[k] for k in peak)
    sp = serve_plan(busy, max_replicas=8)
    server = _Recorder(sp)
    scaler = EpochScaler(server, busy, epoch_s=0.05)  # type: ignore[arg-type]
    scaler.start()
    deadline = time.monotonic() + 10
    while not any(e == 1 for e, _, _ in scaler.changes) and time.monotonic() < deadline:
        time.sleep(0.02)
    scaler.stop()
    names = {d.profile: d.name for d in sp.deployments}
    assert server.replicas == {names[k]: max(1, min(n, 8)) for k, n in low.items() if k in names}
    # Epoch 0 set the busy window's counts, epoch 1 lowered them to the quiet one's.
    first = {n: r for e, n, r in scaler.changes if e == 0}
    assert first == {names[k]: min(n, 8) for k, n in peak.items()
                     if k in names and min(n, 8) != sp.deployment(k).replicas}
    assert any(r < first.get(n, sp.deployment(n).replicas) for e, n, r in scaler.changes if e == 1)


# -- the load generator, against a plain HTTP server -------------------------------------------
class _Handler(JsonHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        wait = {"/ok": 0.05, "/slow": 0.3, "/hang": 5.0}.get(self.path, 0.0)
        time.sleep(wait)
        status = 500 if self.path == "/fail" else 200
        self.send_json(status, {"error": "broken"} if status == 500 else {
            "echo": body, "max_latency_s": 0.2, "stages": {"only": {"seconds": wait}}})


@pytest.fixture(scope="module")
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_trace_slice_is_bounded_in_count_and_time(tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("TIMESTAMP\n" + "".join(f"{i / 10}\n" for i in range(50)))
    assert trace_slice(csv, requests=100, seconds=0.35) == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert trace_slice(csv, requests=3, seconds=100) == pytest.approx([0.0, 0.1, 0.2])
    assert trace_slice(csv, requests=100, seconds=0.35, speedup=2) == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2,
                                                                                      0.25, 0.3])
    azure = trace_slice(TRACE, requests=5, seconds=10, speedup=10)
    assert len(azure) == 5 and azure[0] == 0 and azure == sorted(azure) and azure[-1] < 10


def test_replay_reports_the_simulators_metrics(http_server: str) -> None:
    send_at = [0.0, 0.1, 0.2, 0.3]
    report = replay(f"{http_server}/ok", [{"n": 1}, {"n": 2}], send_at, concurrency=4)
    d = report.to_dict()
    assert (d["requests"], d["ok"], d["errors"]) == (4, 4, 0)
    assert 0.05 <= d["p50_s"] <= d["p99_s"] < 1.0 and d["slo_attainment"] == 1.0
    assert 0.35 <= d["wall_s"] < 2.0 and d["throughput_rps"] == pytest.approx(4 / d["wall_s"])
    assert d["offered_rps"] == pytest.approx(10.0) and d["stage_p50_s"] == {"only": 0.05}
    assert [s.answer["echo"]["n"] for s in report.samples] == [1, 2, 1, 2]  # bodies in turn
    assert all(s.sent_s >= at - 0.01 for s, at in zip(report.samples, send_at))  # on schedule
    assert "answered 4, errors 0" in report.text() and "p50" in report.text()
    # Answered past the SLO's 0.2 s: answered, not attained.
    slow = replay(f"{http_server}/slow", [{}], [0.0, 0.0]).to_dict()
    assert slow["ok"] == 2 and slow["slo_attainment"] == 0.0
    failed = replay(f"{http_server}/fail", [{}], [0.0]).to_dict()
    assert (failed["ok"], failed["errors"], failed["p50_s"]) == (0, 1, None)
    assert failed["error_examples"] == ["HTTP 500: broken"]
    hung = replay(f"{http_server}/hang", [{}], [0.0], timeout_s=0.5).to_dict()
    assert hung["errors"] == 1 and hung["error_examples"][0].startswith("no answer") and hung["wall_s"] < 2.0


# -- on Ray Serve --------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _descendants(pid: int) -> set[int]:
    """Live processes below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


@pytest.fixture(scope="module")
def served(plan):
    import ray

    saved = {v: os.environ.pop(v) for v in ENDPOINT_VARS if v in os.environ}  # the offline agents, here
    assert not ray.is_initialized()
    # Processes this one already had (another test module's leftovers) are not Serve's.
    PREEXISTING.update(_descendants(os.getpid()))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    sp = serve_plan(plan, max_replicas=2, seed=7, media_root=ROOT)
    server = deploy(sp, port=_free_port())
    try:
        yield sp, server
    finally:
        server.shutdown()
        ray.shutdown()
        os.environ.update(saved)


@functools.lru_cache(maxsize=None)
def _scene_and_transcript() -> tuple:
    from murakkab.runtime.agents import Clip, get

    (scene,) = get("opencv-content-scenes")(Clip(str(ROOT / "samples/kitchen.mp4"), 0.0, 2.75))
    return scene, get("pocketsphinx")(scene)


def _expected_answer(frames_per_scene: int) -> str:
    """What the offline agents answer, called here directly, without Serve."""
    from murakkab.runtime.agents import get

    scene, transcript = _scene_and_transcript()
    frames = get("opencv-frames")(scene, frames_per_scene=frames_per_scene)
    captions = [get("opencv-describe")(f) for f in frames]
    return get("extractive-qa")(INPUTS["question"], captions, [transcript])


PREEXISTING: set[int] = set()

# Replica pids seen by the first requests, per stage and configuration (for the scaling test).
SEEN_PIDS: dict[str, dict[str, int]] = {}


def test_serve_answers_requests_end_to_end(served) -> None:
    sp, server = served
    assert server.running() == {**{d.name: d.replicas for d in sp.deployments}, "ingress": 1}
    bodies = [{"inputs": INPUTS}, {"inputs": INPUTS, "slo": "latency<=good"},
              {"inputs": INPUTS, "slo": "quality >= GOOD"}]
    answers: list = [None] * 3

    def send(i: int) -> None:
        answers[i] = post(server.endpoint("video_qa"), bodies[i], 120)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (status, answer, error), slo in zip(answers, ("quality >= GOOD", "latency <= GOOD", "quality >= GOOD")):
        assert (status, error) == (200, None)
        route = next(r for r in sp.routes if r.slo == slo)
        option = next(o for o in route.options if o.label == answer["configuration"])
        f = dict(option.knobs)["frames_per_scene"]
        assert answer["slo"] == slo and answer["result"] == _expected_answer(f)
        assert answer["served_by"] == {"scenes": "opencv-content-scenes", "frames": "opencv-frames",
                                       "transcript": "pocketsphinx", "llm": "opencv-describe + extractive-qa"}
        st = answer["stages"]
        assert list(st) == ["scenes", "frames", "transcript", "llm"]
        assert (st["scenes"]["items"], st["frames"]["items"]) == (1, f)
        assert st["frames"]["start_s"] >= st["scenes"]["end_s"] <= st["transcript"]["start_s"]
        assert st["llm"]["start_s"] >= max(st["frames"]["end_s"], st["transcript"]["end_s"])
        assert answer["seconds"] >= st["llm"]["end_s"] > 0
        assert all(0 < s["compute_s"] <= s["seconds"] for s in st.values())
        assert {s: v["profile"] for s, v in st.items()} == {c.stage: c.profile for c in option.stages}
        SEEN_PIDS[slo] = {s: v["pid"] for s, v in st.items()}
        assert "stand for" in answer["stand_in"]


def test_serve_refuses_what_it_cannot_serve(served) -> None:
    sp, server = served
    status, answer, _ = post(server.endpoint("code_gen"), {"inputs": {}}, 30)
    assert status == 501 and "code_generation (stage llm)" in answer["error"]
    assert post(server.endpoint("nope"), {}, 30)[0] == 404
    status, answer, _ = post(server.endpoint("video_qa"), {"inputs": INPUTS, "slo": "latency <= BEST"}, 30)
    assert status == 400 and "one of quality >= GOOD, latency <= GOOD" in answer["error"]
    status, answer, _ = post(server.endpoint("video_qa"), {"inputs": {"videos": ["../../etc/passwd"],
                                                                       "question": "?"}}, 30)
    assert status == 403 and "outside the served media folder" in answer["error"]
    status, answer, _ = post(server.endpoint("video_qa"), {"inputs": {"question": "?"}}, 30)
    assert status == 400 and "inputs.videos" in answer["error"]
    with urllib.request.urlopen(f"{server.url}/workflows", timeout=30) as r:
        described = json.loads(r.read())
    assert described["endpoints"] == {"video_qa": "POST /workflows/video_qa"}
    assert set(described["unserved"]) == {"code_gen"}


def test_scale_changes_one_deployment_only(served) -> None:
    sp, server = served
    llm = next(d for d in sp.deployments if d.profile.startswith("NVLM-D-72B"))


    def pids() -> dict[str, int]:
        status, answer, _ = post(server.endpoint("video_qa"), {"inputs": INPUTS, "slo": "latency <= GOOD"}, 120)
        assert status == 200
        return {s: v["pid"] for s, v in answer["stages"].items() if s != "llm"}

    # The pids the end-to-end test saw (one request fewer), else a request's.
    # Stages served by one replica: a request's pid there names the replica (a stage with
    # two may be answered by either).
    single = {agent.split("/")[1] for d in sp.deployments if d.kind == "tool" and d.replicas == 1
              for agent, _ in d.agents}
    assert single

    def one_replica(seen: dict[str, int]) -> dict[str, int]:
        return {s: p for s, p in seen.items() if s in single}

    before = one_replica(SEEN_PIDS.get("latency <= GOOD", {})) or one_replica(pids())
    assert server.scale(llm.profile, 2) == 2
    assert server.running()[llm.name] == 2
    # Serve's lightweight update: the other deployments' replicas were not restarted.
    assert one_replica(pids()) == before
    assert server.scale(llm.name, 99) == 2  # never above max_replicas


def test_shutdown_leaves_no_ray_processes(served) -> None:
    import ray

    sp, server = served
    ours = set(_descendants(os.getpid())) - PREEXISTING
    assert ours, "Ray's processes are children of this one"
    server.shutdown()
    ray.shutdown()
    deadline = time.monotonic() + 20
    while _alive(ours) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(ours)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


# -- the command -----------------------------------------------------------------------------------
def test_serve_command_replays_a_trace_and_shuts_down(tmp_path: Path) -> None:
    script = tmp_path / "fleet.job"
    script.write_text("PLAN FLEET FOR video_qa AT 30 PER minute WITH SLO (quality >= GOOD) "
                      "ASSUMING (duration = 5 s);\n")
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps(INPUTS))
    env = {k: v for k, v in os.environ.items() if k not in ENDPOINT_VARS}
    proc = subprocess.Popen(
        [sys.executable, "-m", "murakkab", "serve", str(script), "--replay", str(TRACE), "--requests", "3",
         "--seconds", "30", "--speedup", "10", "--inputs", str(inputs), "--port", str(_free_port()),
         "--max-replicas", "1", "--format", "json"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
    assert proc.returncode == 0, err
    result = json.loads(out)
    replayed = result["replay"]
    assert (replayed["requests"], replayed["ok"], replayed["errors"]) == (3, 3, 0), replayed
    assert 0 < replayed["p50_s"] <= replayed["p99_s"] and replayed["throughput_rps"] > 0
    assert replayed["slo_attainment"] == 1.0 and set(replayed["stage_p50_s"]) == {"scenes", "frames",
                                                                                   "transcript", "llm"}
    assert result["shut_down"] and all(d["replicas"] == 1 for d in result["plan"]["deployments"])
    assert "Traceback" not in err
    # Everything the command started ran in its session: nothing of it is left.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _in_session(proc.pid):
        time.sleep(0.2)
    assert not _in_session(proc.pid)


def _in_session(sid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                out.append(int(entry))
    return out


def test_serve_command_errors_are_one_line(monkeypatch, capsys) -> None:
    from murakkab.cli import main

    assert main(["serve", str(ROOT / "examples/video_qa_samples.job")]) == 2
    assert "has no PLAN FLEET statement" in capsys.readouterr().err
    import ray

    # As if the extra were not installed: `from ray import serve` fails.
    monkeypatch.delattr(ray, "serve", raising=False)
    monkeypatch.setitem(sys.modules, "ray.serve", None)
    assert main(["serve", str(ROOT / "examples/fleet.job")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: `murakkab serve` needs Ray Serve") and "pip install 'murakkab[ray]'" in err
    assert "Traceback" not in err
