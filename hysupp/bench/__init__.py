"""Benchmark suites (``hysupp bench``): declared protocols, resumable runs, tables from records.

A suite (:mod:`.suite`) is data: datasets (a simulation recipe or a file), a noise protocol
(SNRs) or a fusion protocol, methods with parameters (per-SNR overrides), seeds and metrics. The
runner (:mod:`.runner`) executes every (dataset, SNR, method, seed) cell once, writing one JSON
record per run atomically, so an interrupted suite resumes without redoing or duplicating runs;
:mod:`.report` renders Markdown, CSV and LaTeX tables (mean +- std over seeds) from the records.
"""

from hysupp.bench.report import aggregate, load_records, render_markdown
from hysupp.bench.runner import run_suite
from hysupp.bench.suite import RunSpec, Suite, available_suites, load_suite

__all__ = ["RunSpec", "Suite", "aggregate", "available_suites", "load_suite", "load_records", "render_markdown",
           "run_suite"]
