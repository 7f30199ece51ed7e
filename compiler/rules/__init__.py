"""Logical rewrite rules, one module each; the pipeline is the ``RULES`` tuple below."""

from __future__ import annotations

from . import eliminate_dead_tasks, expand_paths, fuse_maps, merge_common_tasks, partition_maps, split_long_inputs
from .base import REMOVED, Expand, MergeInto, Rule
from .driver import RewriteResult, RuleFired, optimize_logical

RULES: tuple[Rule, ...] = (
    # First: no later rule should spend effort on work nobody reads.
    eliminate_dead_tasks.RULE,
    # Before fuse_maps: a merged task may gain readers, and fusing needs the final count.
    merge_common_tasks.RULE,
    # Before partition_maps: the per-chunk map it creates is what partitioning fans out.
    split_long_inputs.RULE,
    # Before partition_maps, for the same reason: its k samples are a map that fans out.
    # The planner enables it only for jobs with a quality SLO.
    expand_paths.RULE,
    # Before partition_maps: whether a map streams decides nothing about its degree,
    # but fusing first keeps EXPLAIN VERBOSE's steps in the order a reader expects.
    fuse_maps.RULE,
    partition_maps.RULE,
)

RULE_NAMES: tuple[str, ...] = tuple(r.name for r in RULES)

__all__ = ["RULES", "RULE_NAMES", "REMOVED", "Expand", "MergeInto", "Rule", "RuleFired", "RewriteResult",
           "optimize_logical"]
