"""expand_paths: the majority-vote quality model, and the rule only where an SLO asks
for quality; the sampled plan still answers the question once."""

from __future__ import annotations

from pytest import approx

import murakkab
from murakkab.compiler.rules.expand_paths import majority_quality

WF = """CREATE WORKFLOW w (q TEXT, notes TEXT) AS (a := question_answering (q, notes)) RETURNS a;
RUN w (q => 'Who won?', notes => 'minutes') {slo} ON CLUSTER 'hotos-testbed';"""


def test_majority_quality_by_hand() -> None:
    # k = 3: q^3 + 3 q^2 (1 - q); at q = 0.7: 0.343 + 3 x 0.49 x 0.3 = 0.784.
    assert majority_quality(0.7, 3) == approx(0.784)
    # k = 5 at q = 0.6: C(5,3) .6^3 .4^2 + C(5,4) .6^4 .4 + .6^5 = 0.3456 + 0.2592 + 0.07776.
    assert majority_quality(0.6, 5) == approx(0.68256)
    assert majority_quality(1.0, 3) == 1.0 and majority_quality(0.5, 3) == approx(0.5)


def test_only_where_the_slo_asks_for_quality(default_catalog) -> None:
    (plain,) = murakkab.optimize(WF.format(slo=""), catalog=default_catalog)
    assert [t.id for t in plain.tasks] == ["a"]
    (asked,) = murakkab.optimize(WF.format(slo="WITH SLO (quality >= 0.8)"), catalog=default_catalog)
    assert [t.id for t in asked.tasks] == ["a.samples", "a"]
    samples = asked.task("a.samples").candidate
    # Three samples of the 8B model (0.694 each) make 0.776 by majority: not 0.8, so the
    # planner takes the 70B model, whose majority of three is 0.91.
    assert samples.calls == 3 and samples.quality >= 0.8
    assert asked.estimate.quality >= 0.8
    assert asked.task("a").interface == "answer_vote"


def test_samples_of_a_deterministic_tool_gain_nothing_by_the_vote(default_catalog) -> None:
    # A tool gives the same answer to the same input, so its k samples are one answer: the
    # estimate keeps the tool's quality rather than crediting it with a majority of k.
    tool_wf = WF.replace("(a := question_answering (q, notes))",
                         "(a := question_answering (q, notes) USING (agent = 'bm25-extractive-qa'))")
    (asked,) = murakkab.optimize(tool_wf.format(slo="WITH SLO (quality >= 0.1)"), catalog=default_catalog)
    samples = asked.task("a.samples").candidate
    tool = default_catalog.agent("bm25-extractive-qa")
    assert samples.agent == tool.name and tool.kind == "tool"
    assert samples.calls == 3 and samples.quality == approx(tool.quality)
    assert majority_quality(tool.quality, 3) != approx(tool.quality)  # what a model would have been credited
