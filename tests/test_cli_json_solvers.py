"""``murakkab schedule --format json`` prints JSON and nothing else, with every solver.

Run as a separate process and read from its real file descriptors: native solvers write
past Python (highspy 1.16 printed "Running HiGHS ..." to fd 1 even with msg=False), so
only the process's actual stdout and stderr tell. ``quiet()`` is checked at the
descriptor level too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from murakkab.compiler.scheduling.cpsat import cpsat_available
from murakkab.compiler.scheduling.ilp import highs_available

ROOT = Path(__file__).resolve().parent.parent
HEFT = ROOT / "tests" / "fixtures" / "scheduling" / "heft_topcuoglu2002"
# Tasks of 3 s and 4 s side by side on 2 processors, then one of 1 s: 5 s.
TINY_STG = "3\n0 0 0\n1 3 1 0\n2 4 1 0\n3 1 2 1 2\n4 0 1 3\n"


def _schedule(*argv: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "murakkab", "schedule", *argv, "--format", "json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(done.stdout)  # the whole of stdout is one JSON document


@pytest.mark.parametrize("solver,backend", [
    ("greedy", None),
    ("ilp", "cbc"),
    pytest.param("ilp", "highs", marks=pytest.mark.skipif(not highs_available(), reason="highspy is not installed")),
    pytest.param("cpsat", None, marks=pytest.mark.skipif(not cpsat_available(), reason="ortools is not installed")),
    ("auto", None),
])
def test_heft_example_prints_only_json(solver: str, backend: str | None) -> None:
    report = _schedule("--heft", str(HEFT), "--solver", solver, "--time-limit", "20",
                       *(("--backend", backend) if backend else ()))
    assert report["tasks"] == 10 and len(report["schedule"]) == 10
    if solver == "greedy":
        assert report["makespan"] == 80.0
    else:
        assert (report["makespan"], report["optimal"]) == (73.0, True)
    if solver == "auto":
        assert report["solver"] == ("cpsat" if cpsat_available() else "ilp")
    if backend:
        assert report["backend"] == backend


@pytest.mark.parametrize("solver", ["exhaustive", "auto"])
def test_tiny_graph_prints_only_json(tmp_path: Path, solver: str) -> None:
    stg = tmp_path / "tiny.stg"
    stg.write_text(TINY_STG)
    report = _schedule("--stg", str(stg), "--processors", "2", "--solver", solver)
    assert (report["solver"], report["makespan"], report["optimal"]) == ("exhaustive", 5.0, True)


QUIET_SCRIPT = """
import os, threading
from murakkab.compiler.scheduling.quiet import quiet
print("before", flush=True)
with quiet():
    os.write(1, b"native stdout\\n")
    os.write(2, b"native stderr\\n")
    print("python stdout")
    with quiet():  # nested: the inner exit must not un-silence the outer block
        pass
    os.write(1, b"still inside\\n")
# Two threads: the one leaving first does not un-silence the one still solving.
inside, leave = threading.Event(), threading.Event()

def solver():
    with quiet():
        inside.set()
        leave.wait()
        os.write(1, b"other thread\\n")

worker = threading.Thread(target=solver)
worker.start()
inside.wait()
with quiet():
    pass
os.write(1, b"while the other is inside\\n")
leave.set()
worker.join()
try:
    with quiet():
        raise ValueError("inside")
except ValueError:
    pass
print("after", flush=True)
os.write(2, b"err after\\n")
"""


def test_quiet_silences_the_descriptors_and_restores_them() -> None:
    done = subprocess.run([sys.executable, "-c", QUIET_SCRIPT], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("before\nafter\n", "err after\n")
