"""What a newcomer sees of a real run (``murakkab run`` on the bundled samples, in a
fresh process): a progress total that never goes down and ends at the shards really run,
and, in ``--format json``, the plain-words steps' matches as ``check`` and EXPLAIN show
them (``matched``).

One run serves both tests: the map-reduce example on samples/reports, whose ``summaries``
task streams from ``chunks`` (``fuse_maps``) — the case where the total used to drop and
rise again (``[1/5] [2/4] [3/5]``) — and which has two plain-words steps.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import murakkab

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "map_reduce_docs_samples.job"
# A plain progress line (stderr is not a terminal): "  [3/5] summaries shard 1 done by ...".
PROGRESS = re.compile(r"^  \[(\d+)/(\d+)\] ")


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items() if k != "MURAKKAB_CATALOG"} | {"HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "murakkab", "run", str(EXAMPLE.relative_to(ROOT)), "--format", "json",
                           "--cache-dir", str(home / "cache")], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def test_the_progress_total_never_goes_down_and_ends_at_the_shards_run(ran) -> None:
    (outcome,) = json.loads(ran.stdout)
    nodes = {n["id"]: n for n in outcome["plan"]["logical"]["nodes"]}
    assert nodes["summaries"]["streams_from"] == "chunks"  # the streaming case is exercised
    counts = [(int(m[1]), int(m[2])) for line in ran.stderr.splitlines() if (m := PROGRESS.match(line))]
    shards = len(outcome["result"]["timeline"])
    assert [done for done, _ in counts] == list(range(1, shards + 1)), ran.stderr
    totals = [total for _, total in counts]
    assert totals == sorted(totals), ran.stderr                    # never decreases
    assert all(done <= total for done, total in counts), ran.stderr
    assert counts[-1] == (shards, shards), ran.stderr               # and ends at what really ran


def test_run_json_shows_the_matched_steps_as_explain_does(ran, default_catalog) -> None:
    (outcome,) = json.loads(ran.stdout)
    explained = json.loads(murakkab.explain(EXAMPLE, format="json", catalog=default_catalog))
    assert outcome["plan"]["matched"] == explained["matched"]
    assert [(m["task"], m["chosen"]) for m in outcome["plan"]["matched"]] == [
        ("summaries", "summarization"), ("summary", "summary_reduction")]
    assert set(outcome["plan"]["matched"][0]) == {"workflow", "task", "phrase", "kind", "chosen", "score",
                                                  "runner_up", "runner_up_score", "runner_up_same_action"}
