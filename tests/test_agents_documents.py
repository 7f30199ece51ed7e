"""text-chunker, extractive-summary and extractive-reduce on the sample reports
(samples/reports/*.txt), their errors, and the map-reduce summary workflow run for real
(examples/map_reduce_docs_samples.job)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

import murakkab
from murakkab.grammar.diagnostics import MurakkabError
from murakkab.catalog.catalog import Catalog
from murakkab.runtime.agents import AgentError, get
from murakkab.runtime.agents.documents import DUPLICATE_SIMILARITY, TOKENS_PER_WORD, count_tokens
from murakkab.runtime.agents.text import sentences, terms

ROOT = Path(__file__).resolve().parents[1]
REPORTS = sorted((ROOT / "samples" / "reports").glob("q*.txt"))
SAMPLES_JOB = ROOT / "examples" / "map_reduce_docs_samples.job"
CARGO = "Demand for electric cargo bikes remained the main driver of growth."

chunker, summary, reduce = get("text-chunker"), get("extractive-summary"), get("extractive-reduce")


def _words(text: str) -> list[str]:
    return text.split()


def _report_sentences() -> set[str]:
    return set(sentences(p.read_text(encoding="utf-8") for p in REPORTS))


def test_the_samples_are_what_the_tests_assume() -> None:
    assert [p.name for p in REPORTS] == ["q1.txt", "q2.txt", "q3.txt", "q4.txt"]
    for p in REPORTS:
        assert 400 <= len(_words(p.read_text(encoding="utf-8"))) <= 900, p.name


@pytest.mark.parametrize("chunk_tokens", [64, 200, 400, 1024])
def test_chunks_keep_every_word_in_order_and_fit_the_budget(chunk_tokens: int) -> None:
    max_words = int(chunk_tokens / TOKENS_PER_WORD)
    for path in REPORTS:
        text = path.read_text(encoding="utf-8")
        chunks = chunker(str(path), chunk_tokens=chunk_tokens)
        # Nothing dropped, nothing repeated, nothing reordered.
        assert [w for c in chunks for w in _words(c)] == _words(text)
        pos = 0
        for c in chunks:
            assert c == c.strip() and c
            found = text.index(c, pos)  # an exact slice of the file, after the previous one
            pos = found + len(c)
            assert count_tokens(c) <= chunk_tokens
            # Cut at a paragraph end, else a sentence end (these reports have no sentence
            # longer than 64 tokens, so no cut falls inside a sentence).
            assert text[pos:pos + 2] in ("\n\n", "\n") or c[-1] in ".!?", (path.name, c[-40:])
        # Greedy packing: a chunk ends only where the next piece would not fit, so two
        # neighbouring chunks together exceed the budget.
        for a, b in zip(chunks, chunks[1:]):
            assert len(_words(a)) + len(_words(b)) > max_words


def test_default_chunks_match_the_catalog_statistic() -> None:
    # statistics.chunk_tokens = 1024 tokens = 787 words: q2 and q3 are longer.
    sizes = {p.name: [len(_words(c)) for c in chunker(str(p))] for p in REPORTS}
    assert sizes == {"q1.txt": [515], "q2.txt": [770, 59], "q3.txt": [771, 71], "q4.txt": [521]}


def test_a_sentence_longer_than_the_budget_is_cut_into_word_windows(tmp_path: Path) -> None:
    words = [f"word{i}" for i in range(250)]
    doc = tmp_path / "run-on.txt"
    doc.write_text("Title\n\n" + " ".join(words) + "\n", encoding="utf-8")
    chunks = chunker(doc, chunk_tokens=130)  # 100 words; a PathLike is accepted too
    # Greedy: the title does not fit beside the first 100-word window.
    assert [len(_words(c)) for c in chunks] == [1, 100, 100, 50]
    assert " ".join(chunks).split() == ["Title"] + words


def test_chunker_reads_utf8_with_a_bom_and_empty_files(tmp_path: Path) -> None:
    doc = tmp_path / "bom.txt"
    doc.write_bytes("\ufeffZürich grew. Señor Ñandú stayed.\n".encode("utf-8"))
    assert chunker(str(doc)) == ["Zürich grew. Señor Ñandú stayed."]
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n", encoding="utf-8")
    assert chunker(str(empty)) == []


def test_chunker_errors_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match=r"document not found: .*missing\.txt") as err:
        chunker(str(tmp_path / "missing.txt"))
    assert err.value.hint and "UTF-8 text file" in err.value.hint
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Caf\xe9 au lait.".encode("latin-1"))
    with pytest.raises(AgentError, match=r"latin1\.txt is not UTF-8 text \(byte 0xe9 at offset 3\)") as err:
        chunker(str(latin1))
    assert err.value.hint and "iconv" in err.value.hint
    with pytest.raises(AgentError, match="cannot read"):
        chunker(str(tmp_path))  # a directory
    with pytest.raises(AgentError, match="must be the path of a text file, got int"):
        chunker(3)
    for bad in (0, -5, True, "big", float("inf")):
        with pytest.raises(AgentError, match="chunk_tokens must be a number of tokens > 0"):
            chunker(str(REPORTS[0]), chunk_tokens=bad)


@pytest.mark.parametrize("summary_tokens", [40, 128, 256])
def test_summary_fits_the_budget_and_is_made_of_the_texts_sentences(summary_tokens: int) -> None:
    for path in REPORTS:
        text = path.read_text(encoding="utf-8")
        source = sentences([text])
        out = summary(text, summary_tokens=summary_tokens)
        picked = sentences([out]) if out else []
        assert picked and count_tokens(out) <= summary_tokens
        # Original sentences, in their original order, each once.
        positions = [source.index(s) for s in picked]
        assert positions == sorted(set(positions))
        # Headings (lines without end punctuation) are not taken.
        assert all(s[-1] in ".!?" for s in picked)


def test_summary_picks_central_sentences_and_details() -> None:
    text = ("Revenue grew because cargo bike sales grew. Cargo bike sales grew in every region. "
            "The office cat is called Pepper. Revenue from cargo bikes doubled.")
    # The off-topic sentence is the least central: it goes first when the budget shrinks.
    assert "Pepper" not in summary(text, summary_tokens=24)
    assert summary(text, summary_tokens=1000) == text  # everything fits
    assert summary(text, summary_tokens=1) == "Revenue grew because cargo bike sales grew."  # the best alone
    assert summary("") == "" and summary("   \n") == ""
    # Hard-wrapped lines are read as whole sentences.
    wrapped = textwrap.fill("The frame supplier in Taichung continued to deliver late, and we kept two weeks "
                            "of extra stock to cover the gaps. Battery supply was stable.", width=30)
    assert summary(wrapped, summary_tokens=1000) == (
        "The frame supplier in Taichung continued to deliver late, and we kept two weeks of extra stock "
        "to cover the gaps. Battery supply was stable.")
    with pytest.raises(AgentError, match="the text must be text, got list"):
        summary(["a"])
    with pytest.raises(AgentError, match="summary_tokens must be a number of tokens > 0"):
        summary(text, summary_tokens=0)


def test_reduce_drops_near_duplicates_and_keeps_distinct_points() -> None:
    parts = [f"{CARGO} Revenue was 14.2 million euros.",
             f"{CARGO} Revenue was 19.8 million euros.",
             "Demand for electric cargo bikes remained the main driver of growth, both in the quarter and over the year."]
    out = reduce(parts, summary_tokens=10_000)
    # The repeat and the reworded repeat (term cosine 0.89 > 0.8) are dropped, the first
    # wording kept; the two revenue lines (cosine 0.6) are different points.
    assert DUPLICATE_SIMILARITY == 0.8
    assert sentences([out]) == [CARGO, "Revenue was 14.2 million euros.", "Revenue was 19.8 million euros."]


def test_reduce_of_the_reports_summaries() -> None:
    parts = [summary(c) for p in REPORTS for c in chunker(str(p))]
    every = sentences(parts)
    merged = reduce(parts, summary_tokens=100_000)  # a budget that keeps every distinct sentence
    kept = sentences([merged])
    assert set(kept) <= _report_sentences() and len(kept) < len(every)
    # First wordings, in the order they came, and no two alike.
    positions = [every.index(s) for s in kept]
    assert positions == sorted(positions)
    bags = [terms(s) for s in kept]
    assert all(_cosine(a, b) <= DUPLICATE_SIMILARITY for i, a in enumerate(bags) for b in bags[:i])
    lyon = "We remain on track to open the second service centre in Lyon in the autumn."
    assert lyon in kept and sum("Lyon in the autumn" in s for s in kept) == 1 < sum("Lyon in the autumn" in s
                                                                                      for s in every)
    # Same-template sentences with other figures are the same point only when they share
    # more than 80% of their terms: the cash of Q1 (6.1) and Q2 (7.9) both stay (0.78).
    assert "The company ended the quarter with no debt and cash of 6.1 million euros." in kept
    assert "The company ended the quarter with no debt and cash of 7.9 million euros." in kept
    out = reduce(parts)  # statistics.summary_tokens = 256
    assert out and count_tokens(out) <= 256 and set(sentences([out])) <= set(kept)
    assert reduce([]) == "" and reduce(["", " "]) == ""


def _cosine(a: list[str], b: list[str]) -> float:
    ca, cb = Counter(a), Counter(b)
    dot = sum(ca[t] * cb[t] for t in ca)
    return dot / math.sqrt(sum(v * v for v in ca.values()) * sum(v * v for v in cb.values()))


def test_reduce_errors() -> None:
    with pytest.raises(AgentError, match="parts must be a list of texts, got str"):
        reduce("one text")
    with pytest.raises(AgentError, match="every part must be text, got int"):
        reduce(["a.", 3])
    with pytest.raises(AgentError, match="summary_tokens must be a number of tokens > 0"):
        reduce(["a."], summary_tokens=-1)


PIPELINE = """import glob, json, sys
from murakkab.runtime.agents import get
ch, su, rd = get("text-chunker"), get("extractive-summary"), get("extractive-reduce")
chunks = [c for p in sorted(glob.glob("samples/reports/q*.txt")) for c in ch(p, chunk_tokens=300)]
sums = [su(c, summary_tokens=64) for c in chunks]
json.dump([chunks, sums, rd(sums, summary_tokens=128)], sys.stdout)
"""


def test_agents_are_deterministic_across_processes() -> None:
    # Hash randomisation (sets of terms) must not change a single output.
    runs = [subprocess.run([sys.executable, "-c", PIPELINE], cwd=ROOT, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")]
    assert runs[0] == runs[1]
    chunks, sums, final = json.loads(runs[0])
    assert chunks == [c for p in REPORTS for c in chunker(str(p), chunk_tokens=300)]
    assert sums == [summary(c, summary_tokens=64) for c in chunks]
    assert final == reduce(sums, summary_tokens=128)


def test_binder_reads_the_documents_token_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    bound = murakkab.compile(SAMPLES_JOB, catalog=Catalog())
    docs = bound.jobs[0].plan.node("documents").stats
    words = [len(_words(p.read_text(encoding="utf-8"))) for p in REPORTS]
    assert docs.origin == "probed" and docs.items == 4
    assert dict(docs.attrs)["tokens"] == pytest.approx(sum(words) / 4 * TOKENS_PER_WORD)


def test_binder_falls_back_for_a_missing_document_and_refuses_an_unreadable_one(tmp_path: Path) -> None:
    """A document not there yet is planned from ASSUMING; one that is there but not UTF-8
    is refused where it is named, as a run would refuse it (EXPLAIN must not plan what
    cannot run)."""
    missing = tmp_path / "missing.txt"
    script = ("CREATE WORKFLOW w (d LIST<DOCUMENT>) AS (c := document_chunking (d)) RETURNS c;\n"
              f"RUN w (d => ['{missing}'] ASSUMING (tokens = 3000));")
    stats = murakkab.compile(script, catalog=Catalog()).jobs[0].plan.node("d").stats
    assert stats.origin == "stated" and dict(stats.attrs)["tokens"] == 3000
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"Caf\xe9.")
    with pytest.raises(MurakkabError) as err:
        murakkab.compile(script.replace(str(missing), str(latin1)), catalog=Catalog())
    assert f"{latin1} is not UTF-8 text (byte 0xe9 at offset 3)" in str(err.value)
    assert err.value.span is not None and err.value.span.line == 2
    assert "UTF-8" in (err.value.hint or "")


def test_map_reduce_samples_run_for_real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the job's paths are relative to the repository root
    outcome = murakkab.run(SAMPLES_JOB, backend="local", catalog=Catalog(), cache_dir=tmp_path)[0]
    assert outcome.result is not None
    agents = {t.id: t.candidate.agent for t in outcome.plan.tasks}
    assert agents == {"chunks": "text-chunker", "summaries": "extractive-summary", "summary": "extractive-reduce"}
    out = dict(outcome.result.outputs)["summary"]
    picked = sentences([out])
    assert picked and count_tokens(out) <= 256
    assert set(picked) <= _report_sentences()
    assert dict(outcome.result.items)["chunks"] == 6
    again = murakkab.run(SAMPLES_JOB, backend="local", catalog=Catalog(), cache_dir=tmp_path)[0]
    assert again.result is not None and dict(again.result.outputs)["summary"] == out
    assert again.result.cache_hits == 11  # 4 documents chunked, 6 chunks summarised, 1 reduce


def test_murakkab_run_cli_prints_the_summary_plan_and_actuals(tmp_path: Path) -> None:
    env = {**os.environ, "MURAKKAB_CACHE": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "murakkab", "run", "examples/map_reduce_docs_samples.job"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^summary: Ridgeline Cycle Works", proc.stdout, re.M)
    assert "EXPLAIN ANALYZE summarize_reports on local" in proc.stdout
    for agent in ("text-chunker", "extractive-summary", "extractive-reduce"):
        assert agent in proc.stdout


def test_the_chunk_size_is_a_knob_the_plan_and_the_chunker_both_follow(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SAMPLES_JOB.parent)  # the script's paths are relative to its folder
    text = SAMPLES_JOB.read_text()
    assert "document_chunking (documents)" in text
    small = text.replace("document_chunking (documents)", "document_chunking (documents) WITH (chunk_tokens = 256)")
    default = murakkab.run(SAMPLES_JOB, backend="local", catalog=Catalog(), cache_dir=tmp_path)[0]
    outcome = murakkab.run(small, backend="local", catalog=Catalog(), cache_dir=tmp_path)[0]
    made = dict(outcome.result.items)["chunks"]
    # Every chunk fits 256 tokens, so the reports (400-900 words each) make more of them.
    assert made > dict(default.result.items)["chunks"]
    assert made >= sum(math.ceil(count_tokens(p.read_text(encoding="utf-8")) / 256) for p in REPORTS)
    # The plan estimated the cut too (tokens / chunk_tokens per document); the chunker cuts
    # at paragraph ends, so its chunks are a little shorter than the budget and more.
    estimated = next(n for n in outcome.plan.logical.nodes if n.id == "chunks").stats.items
    assert 0.7 * made <= estimated <= made
    assert estimated > 2 * next(n for n in default.plan.logical.nodes if n.id == "chunks").stats.items


def test_editing_a_document_in_place_is_not_served_from_the_cache(tmp_path: Path) -> None:
    doc = tmp_path / "report.txt"
    doc.write_text("Sales rose in spring. The new depot opened in May.\n")
    script = f"""CREATE WORKFLOW w (d LIST<DOCUMENT>) AS (c := document_chunking (d)) RETURNS c;
RUN w (d => ['{doc}']);"""
    cache = tmp_path / "cache"
    first = murakkab.run(script, backend="local", catalog=Catalog(), cache_dir=cache)[0]
    doc.write_text("Sales fell in autumn. The old depot closed in November.\n")
    second = murakkab.run(script, backend="local", catalog=Catalog(), cache_dir=cache)[0]
    assert "autumn" in dict(second.result.outputs)["c"] and "spring" in dict(first.result.outputs)["c"]
    assert second.result.cache_hits == 0


def test_a_whole_document_can_be_summarised_directly(tmp_path: Path) -> None:
    report_path = ROOT / "samples" / "reports" / "q1.txt"
    script = f"""CREATE WORKFLOW w (d LIST<DOCUMENT>) AS (s := summarization (d)) RETURNS s;
RUN w (d => ['{report_path}']);"""
    (outcome,) = murakkab.run(script, backend="local", catalog=Catalog(), cache_dir=tmp_path)
    summary = dict(outcome.result.outputs)["s"]
    report = report_path.read_text()
    # Sentences of the report, not its path.
    assert summary and "q1.txt" not in summary
    assert all(s.strip(" .[]'") in report for s in re.split(r"(?<=\.) ", summary.strip("[]'")) if s.strip())
