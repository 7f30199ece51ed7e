"""murakkab: a query compiler for compound-AI workflows.

Write what a job must do in the job language; murakkab binds it against a catalog of
agents and hardware, rewrites it, and picks models, hardware, units and fan-out with a
cost-based optimizer. See README.md for a tour.
"""

from .api import JobOutcome, compile, explain, optimize, render, run, show_all
from .compiler.job import Settings
from .grammar.diagnostics import MurakkabError

__version__ = "0.1.0"

__all__ = ["compile", "optimize", "explain", "run", "render", "show_all", "JobOutcome", "Settings",
           "MurakkabError", "__version__"]
