"""Every documented command runs as written: each ``murakkab`` command in the README (its
code blocks, and its inline code that is a whole command line), the command the first
line of every file in ``examples/`` names (``-- run: murakkab ...``), and the README's
Python example, each in a fresh process with a fresh HOME, cache and working folder.

A command exits 0, or the code its example's first line states (``exits 2``: a
mistake on purpose, whose error must then be located at the file). What is not run is
listed here, with its reason, and the test fails when the README's list changes:

- the set-up lines' ``python3 -m venv`` / ``pip install`` (CI has installed the
  package; the ``murakkab`` command after them runs) and ``python -m pytest`` (this
  suite);
- ``export`` lines naming an LLM endpoint this machine does not have (the command after
  them runs without it, as in the set-up);
- the Python block that defines an agent around ``my_model`` (a template of your own
  code; tests/test_user_agents.py runs agents like it);
- inline code that is a template (``job.job``, ``my_agents.py``) or names a command
  without a command line (``murakkab run``): TEMPLATES below;
- the ``murakkab serve`` replay: tests/test_serve.py runs the command with a replay in
  a subprocess (a Ray start is too slow to pay twice): TEMPLATES below.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXAMPLES = sorted((ROOT / "examples").glob("*.job"))
# The folders README commands name, relative to the repository root.
LINKED = ("examples", "samples", "tests")
# Inline code in the README that is not a command line to run as written.
TEMPLATES = {
    "murakkab run job.job --agents my_agents.py",  # your job and your agents
    "murakkab check", "murakkab run", "murakkab schedule",  # a command's name in prose
    # Deploys on Ray Serve (a Ray start of 30 s or more, paid once in the suite):
    # tests/test_serve.py runs `murakkab serve ... --replay` in a subprocess instead.
    "murakkab serve examples/fleet.job --replay samples/traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv "
    "--requests 3 --seconds 30 --speedup 10 --max-replicas 1",
}
FIRST_LINE = re.compile(r"^-- run: (murakkab \S.*?)(?:\s{2,}\((?P<note>.*)\))?\s*$")
TIMEOUT_S = 300


def _murakkab_parts(line: str) -> list[list[str]]:
    """The ``murakkab`` commands of a shell line (split at ``&&``), as argument lists."""
    out = []
    for part in line.split("&&"):
        words = shlex.split(part, comments=True)
        if words and Path(words[0]).name == "murakkab":
            out.append(["murakkab", *words[1:]])
    return out


def readme_blocks() -> list[tuple[str, str]]:
    """(language, text) of each fenced code block of the README."""
    return re.findall(r"^```(\w*)\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def readme_commands() -> list[list[str]]:
    """Every runnable ``murakkab`` command of the README, in order, each once."""
    text = README.read_text(encoding="utf-8")
    commands = []
    for lang, body in readme_blocks():
        if lang in ("sh", "bash", "shell"):
            for line in body.splitlines():
                if not line.lstrip().startswith("export "):
                    commands += _murakkab_parts(line)
    without_blocks = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    for span in re.findall(r"`(murakkab [^`]+)`", without_blocks):
        span = " ".join(span.split())
        if span not in TEMPLATES:
            commands += _murakkab_parts(span)
    return list(dict.fromkeys(tuple(c) for c in commands))  # type: ignore[arg-type]


def readme_templates() -> set[str]:
    text = re.sub(r"^```.*?^```", "", README.read_text(encoding="utf-8"), flags=re.S | re.M)
    return {" ".join(s.split()) for s in re.findall(r"`(murakkab [^`]+)`", text)} & TEMPLATES


def example_command(path: Path) -> tuple[list[str], int]:
    """The command an example's first line names, and the exit code it states (else 0)."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = FIRST_LINE.match(first)
    assert match, f"{path.name}: the first line must say which command runs it (-- run: murakkab ...): {first!r}"
    (argv,) = _murakkab_parts(match.group(1))
    exits = re.search(r"\bexits (\d+)", match.group("note") or "")
    return argv, int(exits.group(1)) if exits else 0


def expected_exit(argv: list[str]) -> int:
    """A command on an example exits as the example's first line says; any other, 0."""
    for word in argv:
        path = ROOT / word
        if word.startswith("examples/") and path.suffix == ".job" and path.exists():
            return example_command(path)[1]
    return 0


def all_commands() -> list[tuple[str, ...]]:
    commands = readme_commands()
    commands += [tuple(example_command(p)[0]) for p in EXAMPLES]
    return list(dict.fromkeys(commands))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder like the repository root (its examples, samples and tests linked), so
    what the commands write (site.duckdb) stays out of the checkout."""
    work = tmp_path_factory.mktemp("readme")
    for name in LINKED:
        (work / name).symlink_to(ROOT / name)
    return work


def _env(work: Path) -> dict[str, str]:
    """A new user's environment: fresh HOME and cache, no murakkab or LLM settings."""
    drop = ("MURAKKAB_", "OPENAI_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k != "COLUMNS"}
    env.update(HOME=str(work / "home"), MURAKKAB_CACHE=str(work / "cache"), XDG_CACHE_HOME=str(work / "xdg"))
    (work / "home").mkdir(exist_ok=True)
    return env


def _run(argv: list[str], work: Path) -> subprocess.CompletedProcess[str]:
    # `murakkab` is the package's console script; `python -m murakkab` is the same entry point.
    return subprocess.run([sys.executable, "-m", "murakkab", *argv[1:]], cwd=work, env=_env(work),
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def test_every_example_states_its_command() -> None:
    for path in EXAMPLES:
        argv, _ = example_command(path)
        assert f"examples/{path.name}" in argv, f"{path.name}'s first line runs another file: {argv}"


def test_the_readme_lists_only_known_templates() -> None:
    # A template dropped from the README, or a new command, is seen here, never skipped silently.
    assert readme_templates() == TEMPLATES


def test_readme_refers_only_to_examples_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    for name in set(re.findall(r"examples/[\w.-]+\.job", text)):
        assert (ROOT / name).is_file(), f"the README names {name}, which does not exist"


@pytest.mark.parametrize("argv", all_commands(), ids=lambda c: " ".join(c[1:]))
def test_documented_command_runs(argv: tuple[str, ...], workdir: Path) -> None:
    done = _run(list(argv), workdir)
    want = expected_exit(list(argv))
    assert done.returncode == want, (f"`{shlex.join(argv)}` exited {done.returncode}, not {want}\n"
                                     f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}")
    assert "Traceback" not in done.stderr
    if want == 2:
        # A mistake on purpose: an error located at a line and column of the example.
        assert re.search(r"^examples/[\w.-]+\.job:\d+:\d+: error: ", done.stderr, re.M), done.stderr
    else:
        assert done.stdout.strip(), f"`{shlex.join(argv)}` printed nothing"


def test_readme_error_is_what_check_prints(workdir: Path) -> None:
    """The README's located error is the one `murakkab check examples/broken.job` prints."""
    shown = next(body for lang, body in readme_blocks() if "examples/broken.job:" in body)
    done = _run(["murakkab", "check", "examples/broken.job"], workdir)
    assert done.returncode == 2
    printed = done.stderr.strip().splitlines()
    # Line by line as shown; a line the README ends with "..." is shown in part.
    assert len(printed) == len(shown.strip().splitlines())
    for readme, actual in zip(shown.strip().splitlines(), printed):
        assert actual.startswith(readme.removesuffix("...").rstrip()) if readme.endswith("...") else actual == readme


def test_readme_python_example_runs(workdir: Path) -> None:
    (code,) = [body for lang, body in readme_blocks() if lang == "python" and "import murakkab\n" in body]
    done = subprocess.run([sys.executable, "-c", code], cwd=workdir, env=_env(workdir), capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
