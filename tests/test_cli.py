"""The murakkab command: every subcommand, every output format, and clean failures."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from murakkab.cli import main

ROOT = Path(__file__).parent.parent
VIDEO_QA = str(ROOT / "examples" / "video_qa.job")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# examples/broken.job is a mistake on purpose (the README's error message; tests/test_readme_commands.py).
@pytest.mark.parametrize("example", sorted(p for p in (ROOT / "examples").glob("*.job") if p.stem != "broken"),
                         ids=lambda p: p.stem)
def test_check_and_run_every_example(capsys: pytest.CaptureFixture[str], example: Path) -> None:
    code, out, _ = run_cli(capsys, "check", str(example))
    assert code == 0 and "ok" in out
    code, out, _ = run_cli(capsys, "run", str(example), "--backend", "sim")
    # A fleet is planned, not run: `run` prints its plan.
    assert code == 0 and ("proven optimal" if example.stem == "fleet" else "makespan") in out


def test_explain_shows_fan_out_of_per_scene_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "explain", VIDEO_QA, "--format", "json")
    assert code == 0
    plan = json.loads(out)
    tasks = {t["id"]: t for t in plan["physical"]["tasks"]}
    assert tasks["frames"]["fanout"] > 1 and tasks["captions"]["fanout"] > 1
    # Asked for latency at FAIR quality, the planner leaves speech-to-text out, and says so.
    assert plan["knobs_chosen"] == {"speech_to_text.enabled": 0} and "transcript" not in tasks
    assert set(plan["estimate"]) >= {"makespan_s", "cost_usd", "energy_wh", "quality", "gpus"}
    for t in tasks.values():
        assert set(t) >= {"id", "interface", "agent", "hardware", "units", "fanout", "start_s", "end_s"}


def test_sequential_flag_is_the_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, "explain", VIDEO_QA, "--format", "json", "--sequential")
    base = json.loads(out)
    _, out, _ = run_cli(capsys, "explain", VIDEO_QA, "--format", "json")
    fast = json.loads(out)
    assert base["sequential"] and all(t["fanout"] == 1 for t in base["physical"]["tasks"])
    assert base["estimate"]["makespan_s"] >= 3 * fast["estimate"]["makespan_s"]


@pytest.mark.parametrize(("fmt", "marker"), [("text", "considered alternatives"), ("dot", "digraph"),
                                             ("mermaid", "flowchart LR")])
def test_explain_formats(capsys: pytest.CaptureFixture[str], fmt: str, marker: str) -> None:
    code, out, _ = run_cli(capsys, "explain", VIDEO_QA, "--format", fmt)
    assert code == 0 and marker in out


def test_explain_verbose_prints_plan_after_each_rule(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, "explain", VIDEO_QA, "--verbose")
    assert "bound logical plan" in out
    assert "after fuse_maps (changed: frames, captions)" in out and "after partition_maps" in out


def test_run_json_has_a_timeline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "run", VIDEO_QA, "--backend", "sim", "--format", "json", "--seed", "3", "--jitter", "0.1")
    assert code == 0
    (job,) = json.loads(out)
    timeline = job["result"]["timeline"]
    assert timeline and all(r["end_s"] >= r["start_s"] for r in timeline)
    assert job["result"]["totals"]["makespan_s"] == pytest.approx(max(r["end_s"] for r in timeline), abs=1e-5)


def test_a_real_run_in_json_has_the_outputs_and_the_estimates_beside_the_actuals(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = ROOT / "examples" / "map_reduce_docs_samples.job"
    code, out, _ = run_cli(capsys, "run", str(job), "--format", "json", "--cache-dir", str(tmp_path))
    assert code == 0
    (run,) = json.loads(out)
    result = run["result"]
    assert result["backend"] == "local" and result["outputs"]["summary"].startswith("Ridgeline Cycle Works")
    assert result["items"]["chunks"] == 6 and result["cache_hits"] == 0 and result["notes"] == []
    rows = {r["task"]: r for r in result["analyze"]["tasks"]}
    assert set(rows) == {t["id"] for t in run["plan"]["physical"]["tasks"]}
    assert rows["summaries"]["calls"] == 6 == sum(r["calls"] for r in result["timeline"] if r["task"] == "summaries")
    for r in rows.values():
        assert r["latency_s"] >= 0 and r["latency_est_s"] > 0 and r["shards_run"] >= 1
    errors = sorted(abs(r["latency_s"] - r["latency_est_s"]) / r["latency_est_s"] for r in rows.values())
    assert result["analyze"]["median_latency_error"] == pytest.approx(errors[1], rel=1e-3)  # rounded inputs


def test_explain_statements_in_a_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "e.job"
    body = (ROOT / "examples" / "video_qa.job").read_text().replace("RUN video_qa", "EXPLAIN ANALYZE RUN video_qa")
    script.write_text(body)
    code, out, _ = run_cli(capsys, "run", str(script), "--backend", "sim")
    assert code == 0 and "physical plan" in out and "RUN video_qa on sim" in out


def test_show_with_a_checked_predicate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "s.job"
    script.write_text("SHOW AGENTS WHERE kind = 'tool' AND quality > 0.5; SHOW CLUSTERS;")
    code, out, _ = run_cli(capsys, "show", str(script), "--format", "json")
    assert code == 0
    agents, clusters = json.loads(out)
    kind = agents["columns"].index("kind")
    assert agents["rows"] and all(row[kind] == "tool" for row in agents["rows"])
    assert any(row[0] == "hotos-testbed" for row in clusters["rows"])


def test_show_knobs_lists_what_with_accepts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "k.job"
    script.write_text("SHOW KNOBS FOR document_chunking;")
    code, out, _ = run_cli(capsys, "show", str(script), "--format", "json")
    assert code == 0
    (knobs,) = json.loads(out)
    (row,) = [dict(zip(knobs["columns"], r)) for r in knobs["rows"]]
    assert row["knob"] == "chunk_tokens" and row["default_value"] == 1024
    # Every value the catalog lists is one a script may set.
    for value in row["domain"].split("|"):
        job = tmp_path / "c.job"
        job.write_text(f"CREATE WORKFLOW w (d DOCUMENT) AS (c := document_chunking (d) WITH (chunk_tokens = {value})) "
                       "RETURNS c; RUN w (d => 'x.txt');")
        assert run_cli(capsys, "check", str(job))[0] == 0


@pytest.mark.parametrize("predicate", ["1=1; DROP TABLE agents", "name IN (SELECT name FROM hardware)",
                                       "read_csv('x') IS NULL", "secret_column = 1"])
def test_show_refuses_unsafe_predicates(tmp_path: Path, capsys: pytest.CaptureFixture[str], predicate: str) -> None:
    script = tmp_path / "s.job"
    script.write_text(f"SHOW AGENTS WHERE {predicate};")
    code, _, err = run_cli(capsys, "show", str(script))
    assert code == 2 and "error" in err
    # The catalog is unchanged: the agents table still answers.
    (tmp_path / "ok.job").write_text("SHOW AGENTS;")
    code, out, _ = run_cli(capsys, "show", str(tmp_path / "ok.job"), "--format", "csv")
    assert code == 0 and "whisper" in out


def test_usage_and_file_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "explain")
    assert code == 2 and "error" in err
    code, _, err = run_cli(capsys, "check", str(tmp_path / "missing.job"))
    assert code == 2 and "cannot read" in err
    code, _, err = run_cli(capsys, "explain", VIDEO_QA, "--cluster", "hotos")
    assert code == 2 and "unknown cluster" in err
    # Seen: `run --cluster X` with real agents was silently planned and run here instead.
    code, out, err = run_cli(capsys, "run", str(ROOT / "examples" / "map_reduce_docs_samples.job"),
                             "--cluster", "hotos-testbed")
    assert code == 2 and out == ""
    assert "--cluster hotos-testbed does not apply to --backend local" in err and "--backend sim --cluster" in err


def test_plan_fleet_of_a_workflow_without_accuracy_rows_is_located(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "f.job"
    script.write_text((ROOT / "examples" / "video_qa.job").read_text()
                      + "\nPLAN FLEET FOR video_q AT 3000 PER MINUTE MINIMIZE energy;")
    code, _, err = run_cli(capsys, "explain", str(script))
    lines = (ROOT / "examples" / "video_qa.job").read_text().count("\n") + 1
    assert code == 2 and "'video_q' is not a workflow serving mode can plan" in err
    assert f":{lines + 1}:16:" in err and "did you mean 'video_qa'" in err


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other end closed (EIO on Linux)
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_real_run_on_a_terminal_shows_a_live_progress_bar(tmp_path: Path) -> None:
    script = tmp_path / "qa.job"
    script.write_text("""CREATE WORKFLOW w (q TEXT, notes LIST<TEXT>) AS (
  a := question_answering (q, notes),
  b := text_concatenation (notes)
) RETURNS a, b;
RUN w (q => 'What is the person holding?', notes => ['It rains.', 'He is holding an umbrella.']);""")
    leader, follower = pty.openpty()
    env = {**os.environ, "MURAKKAB_CACHE": str(tmp_path / "cache"), "COLUMNS": "120"}
    proc = subprocess.Popen([sys.executable, "-m", "murakkab", "run", str(script)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    stderr = _read_all(leader).decode("utf-8", "replace")
    out, _ = proc.communicate(timeout=120)
    os.close(leader)
    assert proc.returncode == 0, stderr
    assert "umbrella" in out.decode()
    # The bar: the job, finished/known shards, and a finished-shard line above it.
    assert "2/2" in stderr and "shards" in stderr and "✔" in stderr and "done by" in stderr


def test_a_real_run_in_a_pipe_logs_plain_lines(tmp_path: Path) -> None:
    script = tmp_path / "qa.job"
    script.write_text("""CREATE WORKFLOW w (notes LIST<TEXT>) AS (b := text_concatenation (notes)) RETURNS b;
RUN w (notes => ['It rains.', 'He is holding an umbrella.']);""")
    env = {**os.environ, "MURAKKAB_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "murakkab", "run", str(script)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "  [1/1] b shard 1 done by" in done.stderr and "\x1b[" not in done.stderr


DOCS_JOB = str(ROOT / "examples" / "map_reduce_docs_samples.job")


@pytest.mark.parametrize(("flags", "says"), [
    (["--timeout", "0"], "0 is not a number > 0"),
    (["--timeout", "soon"], "'soon' is not a number"),
    (["--timeout", "inf"], "'inf' is not a finite number"),
    (["--retries", "-1"], "-1 is negative"),
    (["--jitter", "-1"], "-1 is negative"),
    (["--jitter", "1e308"], "too large"),
    (["--jitter", "nan"], "'nan' is not a finite number"),
    (["--gantt", "{tmp}/file/g.svg"], "{tmp}/file is a file, not a folder"),
    (["--trace", "{tmp}/missing/t.json"], "the folder {tmp}/missing does not exist"),
    (["--trace", "{tmp}"], "is a folder"),
    (["--gantt", "{tmp}/g.jpg"], "name the file .svg or .png"),
    (["--cache-dir", "{tmp}/file/cache"], "as the output cache"),
])
def test_bad_run_flags_fail_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str],
                                            says: str) -> None:
    (tmp_path / "file").write_text("not a folder")
    cache = tmp_path / "cache"
    argv = [f.replace("{tmp}", str(tmp_path)) for f in flags]
    if "--cache-dir" not in flags:
        argv += ["--cache-dir", str(cache)]
    code, _, err = run_cli(capsys, "run", DOCS_JOB, *argv)
    assert code == 2 and says.replace("{tmp}", str(tmp_path)) in err
    assert not any(cache.rglob("*.entry"))  # nothing ran


def test_each_job_s_timeline_gets_its_own_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Two RUNs on two clusters are planned and run separately: two timelines, two files.
    script = tmp_path / "two.job"
    script.write_text(Path(VIDEO_QA).read_text() + "\nRUN video_qa (videos => ['b.mp4'], question => 'Who?') "
                      "ON CLUSTER 'single-a100';\n")
    code, _, err = run_cli(capsys, "run", str(script), "--backend", "sim", "--trace", str(tmp_path / "t.json"))
    assert code == 0
    files = sorted(p.name for p in tmp_path.glob("t*.json"))
    assert files == ["t.1-video_qa.json", "t.2-video_qa.json"]
    clusters = {json.loads((tmp_path / f).read_text())["traceEvents"][0]["args"]["name"].split("#")[0] for f in files}
    assert len(clusters) == 2 and "timeline written to" in err


def test_murakkab_catalog_names_the_catalog_every_command_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "site.duckdb"
    monkeypatch.setenv("MURAKKAB_CATALOG", str(path))
    code, _, _ = run_cli(capsys, "run", DOCS_JOB, "--cache-dir", str(tmp_path / "cache"))
    assert code == 0 and path.exists()
    code, out, _ = run_cli(capsys, "catalog", "sql", "SELECT count(*) AS n FROM observations", "--format", "json")
    assert code == 0 and json.loads(out)[0]["n"] > 0  # the run's actuals are in the file
    code, out, _ = run_cli(capsys, "catalog", "sql", "SELECT count(*) AS n FROM observations", "--format", "json",
                           "--catalog", str(tmp_path / "other.duckdb"))
    assert json.loads(out)[0]["n"] == 0  # --catalog still wins


def test_a_catalog_that_will_not_open_gets_a_hint_that_fits(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "junk.duckdb").write_text("not a database")
    for path, hint in ((tmp_path / "missing" / "c.duckdb", "does not exist; create it first"),
                       (tmp_path, "that is a folder"),
                       (tmp_path / "junk.duckdb", "it is not a murakkab catalog")):
        code, _, err = run_cli(capsys, "catalog", "sql", "SELECT 1", "--catalog", str(path))
        assert code == 2 and hint in err, err
    # A new path is created and seeded, even by a command that only reads.
    code, out, _ = run_cli(capsys, "catalog", "sql", "SELECT count(*) AS n FROM agents", "--format", "json",
                           "--catalog", str(tmp_path / "new.duckdb"))
    assert code == 0 and json.loads(out)[0]["n"] > 0


def test_cache_show_and_clear_touch_only_what_the_cache_wrote(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    audio = ("CREATE WORKFLOW t (v VIDEO) AS (s := audio_extraction (v), w := speech_to_text (s)) RETURNS w; "
             f"RUN t (v => '{ROOT / 'samples' / 'kitchen.mp4'}');")
    job = tmp_path / "t.job"
    job.write_text(audio)
    code, out, _ = run_cli(capsys, "run", str(job), "--cache-dir", str(cache), "--format", "json")
    assert code == 0
    first = json.loads(out)[0]["result"]["outputs"]
    (cache / "notes.txt").write_text("mine")  # the user's, not the cache's
    (cache / "ab").mkdir(exist_ok=True)
    (cache / "ab" / "keep.txt").write_text("mine too")
    code, out, _ = run_cli(capsys, "cache", "show", "--cache-dir", str(cache), "--format", "json")
    shown = json.loads(out)
    assert code == 0 and shown["entries"] == 2 and shown["media_files"] == 1 and shown["media_bytes"] > 0
    code, out, _ = run_cli(capsys, "cache", "clear", "--cache-dir", str(cache))
    assert code == 0 and "removed 2 call outputs" in out and "1 derived media files" in out
    left = sorted(str(p.relative_to(cache)) for p in cache.rglob("*"))
    assert left == ["ab", "ab/keep.txt", "notes.txt"]
    # A re-run computes everything again, and gets the same answer.
    code, out, _ = run_cli(capsys, "run", str(job), "--cache-dir", str(cache), "--format", "json")
    again = json.loads(out)[0]["result"]
    assert code == 0 and again["cache_hits"] == 0 and again["outputs"] == first


def test_the_file_argument_is_always_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A folder is not read as script text.
    code, _, err = run_cli(capsys, "run", str(tmp_path))
    assert code == 2 and f"cannot read {tmp_path}" in err
    empty = tmp_path / "empty.job"
    empty.write_text("-- nothing yet\n")
    code, out, err = run_cli(capsys, "run", str(empty))
    assert code == 0 and out == "" and "nothing to run (the script has no RUN statement)" in err


def test_show_agents_says_which_run_on_this_machine(tmp_path: Path) -> None:
    """Seen: SHOW AGENTS did not say which agents can run here."""
    script = tmp_path / "s.job"
    script.write_text("SHOW AGENTS FOR question_answering WHERE runs_here OR name = 'openai-chat';\n")
    done = subprocess.run([sys.executable, "-m", "murakkab", "show", str(script), "--format", "json"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "MURAKKAB_LLM_BASE_URL": "",
                                                                             "OPENAI_BASE_URL": ""})
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)
    rows = [dict(zip(result["columns"], row)) for row in result["rows"]]
    by_name = {r["name"]: r for r in rows}
    assert by_name["extractive-qa"]["runs_here"] is True and by_name["extractive-qa"]["why_not"] is None
    assert by_name["openai-chat"]["runs_here"] is False and by_name["openai-chat"]["why_not"].startswith("needs ")
    assert {r["interface"] for r in rows} == {"question_answering"}


def test_explain_tables_fit_columns_and_stay_whole_in_a_pipe(monkeypatch: pytest.MonkeyPatch,
                                                             capfd: pytest.CaptureFixture[str]) -> None:
    """Seen: EXPLAIN's tables ignored the terminal's width."""
    job = str(Path(__file__).resolve().parent.parent / "examples" / "video_qa.job")
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["explain", job]) == 0
    narrow = capfd.readouterr().out
    monkeypatch.delenv("COLUMNS")
    assert main(["explain", job]) == 0  # stdout is captured, not a terminal: a pipe
    whole = capfd.readouterr().out
    header = "  task            interface            agent"
    tables = [line for line in narrow.splitlines() if line.startswith(("  task ", "    *", "       agent"))]
    assert tables and all(len(line) <= 80 for line in tables), [line for line in tables if len(line) > 80]
    # The columns a narrow terminal moves below are all there.
    assert "busy energy" in narrow and "estimate from" in narrow
    wide = next(line for line in whole.splitlines() if line.startswith(header))
    assert "busy energy" in wide and len(wide) > 80


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_that_cannot_be_written_is_an_error_not_a_bug() -> None:
    with open("/dev/full", "w") as full:
        out = subprocess.run([sys.executable, "-m", "murakkab", "explain", str(ROOT / "examples" / "video_qa.job")],
                             stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert out.returncode == 1
    assert out.stderr.strip() == "error: cannot write the output: No space left on device"


def test_a_real_run_of_a_job_for_another_cluster_says_it_ran_here(tmp_path: Path) -> None:
    script = tmp_path / "there.job"
    text = DOCS_JOB_TEXT.replace("MINIMIZE cost THEN latency", "MINIMIZE cost THEN latency ON CLUSTER 'hotos-testbed'")
    script.write_text(text.replace("'../samples/", f"'{ROOT}/samples/"))
    out = subprocess.run([sys.executable, "-m", "murakkab", "run", str(script), "--cache-dir", str(tmp_path / "c")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "note: 'hotos-testbed' asked for, but --backend local runs real agents on this machine" in out.stderr
    assert "on this machine" in out.stdout
    sim = subprocess.run([sys.executable, "-m", "murakkab", "run", "--backend", "sim", str(script)],
                         capture_output=True, text=True, timeout=300)
    assert sim.returncode == 0 and "asked for" not in sim.stderr


DOCS_JOB_TEXT = (ROOT / "examples" / "map_reduce_docs_samples.job").read_text()


def test_explain_analyze_format_json_under_run_is_one_json_document(tmp_path: Path) -> None:
    script = tmp_path / "a.job"
    text = DOCS_JOB_TEXT.replace("\nRUN summarize_reports", "\nEXPLAIN ANALYZE FORMAT JSON RUN summarize_reports")
    script.write_text(text.replace("'../samples/", f"'{ROOT}/samples/"))
    out = subprocess.run([sys.executable, "-m", "murakkab", "run", str(script), "--cache-dir", str(tmp_path / "c")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["plan"]["job"] == "summarize_reports" and doc["result"]["analyze"]["tasks"]
    explained = subprocess.run([sys.executable, "-m", "murakkab", "explain", str(script), "--format", "text"],
                               capture_output=True, text=True, timeout=300)
    assert "note: EXPLAIN ANALYZE runs the job: `murakkab run`" in explained.stdout


def test_a_run_reports_its_slos_judged_on_what_it_measured(tmp_path: Path) -> None:
    """The planner meets the SLOs on paper; a run says whether it met them (the sequential
    baseline does not, and used to say nothing), in text and in JSON."""
    job = tmp_path / "vq.job"
    job.write_text((ROOT / "examples" / "video_qa.job").read_text().replace(
        "WITH SLO (quality >= FAIR)", "WITH SLO (quality >= FAIR, latency <= 5 min)"))
    cmd = [sys.executable, "-m", "murakkab", "run", str(job), "--backend", "sim"]
    planned = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    baseline = subprocess.run(cmd + ["--sequential"], capture_output=True, text=True, timeout=300)
    assert planned.returncode == 0 and baseline.returncode == 0, planned.stderr + baseline.stderr
    assert "  slo: latency <= 300 s: " in planned.stdout and "NOT MET" not in planned.stdout
    line = next(x for x in baseline.stdout.splitlines() if "slo: latency <= 300 s" in x)
    assert line.endswith("NOT MET") and float(line.split(": ")[2].split()[0]) > 300
    data = json.loads(subprocess.run(cmd + ["--sequential", "--format", "json"], capture_output=True, text=True,
                                     timeout=300).stdout)
    (latency,) = [s for s in data[0]["result"]["slos"] if s["slo"] == "latency <= 300 s"]
    assert latency["met"] is False and latency["measured"] > latency["bound"] == 300
