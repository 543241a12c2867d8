"""``hysupp bench SUITE``: run a benchmark suite (resumable, parallel); ``hysupp bench report DIR``."""

from __future__ import annotations

import math

import click

from hysupp.cli.common import complete_suite, echo, echo_json, say, verbosity_options
from hysupp.cli.progress import progress_line, progress_option

BENCH_HELP = """Benchmark suites: one JSON record per (dataset, condition, method, seed), then the tables.

\b
hysupp bench SUITE [options]     run a suite (a built-in name or a .toml file)
hysupp bench report DIR          tables (Markdown, CSV, LaTeX) and figures from the records
hysupp bench list                the built-in suites

\b
Examples:
  hysupp bench list
  hysupp bench hysupp-blind --methods VCA,N-FINDR --snr 30,inf --seeds 2 -o out/blind
  hysupp bench hysupp-semi --resume -o out/semi -j 2
  hysupp bench hysupp-semi --dry-run
  hysupp bench report out/blind --format latex --metrics sre_db,armse
"""


def _parse_overrides(items: tuple[str, ...]) -> dict[str, dict]:
    """``METHOD.key=value`` strings -> {method: {key: value}} (values validated by the method)."""
    from hysupp.methods.params import parse_param_strings
    from hysupp.methods.registry import get_method

    grouped: dict[str, list[str]] = {}
    for item in items:
        head, sep, value = item.partition("=")
        method, dot, key = head.partition(".")
        if not sep or not dot or not key:
            raise click.BadParameter(f"{item!r}: expected METHOD.key=value", param_hint="--param")
        grouped.setdefault(method, []).append(f"{key}={value}")
    out = {}
    for method, kv in grouped.items():
        cls = get_method(method)
        out[cls.name.lower()] = parse_param_strings(cls.name, cls.params, kv)
    return out


def _csv(text: str | None) -> list[str] | None:
    return None if not text else [t.strip() for t in text.split(",") if t.strip()]


class SNRList(click.ParamType):
    """``--snr``: comma-separated SNRs in dB, each a number or ``inf`` (noise-free)."""

    name = "SNR[,SNR...]"

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        out = []
        for item in _csv(str(value)) or []:
            if item.lower() in ("inf", "none", "clean"):
                out.append("inf")
                continue
            try:
                snr = float(item)
            except ValueError:
                self.fail(f"{item!r} is not an SNR in dB (a number, or 'inf' for noise-free)", param, ctx)
            if math.isnan(snr):
                self.fail(f"{item!r} is not an SNR in dB", param, ctx)
            out.append(snr)
        if not out:
            self.fail(f"{value!r} holds no SNR", param, ctx)
        return out


class BenchGroup(click.Group):
    """``hysupp bench report DIR`` is a subcommand; anything else is a suite name (``run``)."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "run", self.commands["run"], args
        return super().resolve_command(ctx, args)

    def shell_complete(self, ctx, incomplete):
        """Subcommands and the built-in suite names."""
        return complete_suite(ctx, None, incomplete)


@click.group(cls=BenchGroup, invoke_without_command=True, help=BENCH_HELP,
             short_help="Benchmark suites: run (resumable, parallel), report, list.")
@verbosity_options
@click.pass_context
def bench(ctx) -> None:
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_suites)


@bench.command("list", short_help="List the built-in suites.")
@verbosity_options
def list_suites() -> None:
    """List the built-in suites.

    \b
    Example:
      hysupp bench list
    """
    from hysupp.bench.suite import available_suites, load_suite

    for name in available_suites():
        s = load_suite(name)
        echo(f"{name:20s} {s.description}")


@bench.command("run", short_help="Run a suite: one JSON record per run, then the tables.")
@click.argument("suite", shell_complete=complete_suite)
@click.option("--methods", default=None, help="Comma-separated subset of the suite's methods.")
@click.option("--snr", "snrs", type=SNRList(), default=None,
              help="Comma-separated SNRs in dB (unmixing suites; 'inf' = noise-free).")
@click.option("--seeds", type=click.IntRange(min=1), default=None, help="Number of seeds (0 .. N-1).")
@click.option("--param", "params", multiple=True, metavar="METHOD.key=value", help="Parameter override (repeatable).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True, help="Parallel processes.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="BLAS/OpenMP/torch threads per parallel process (default: CPU count / --jobs).")
@click.option("--scheduler", default=None, metavar="ADDR",
              help="Run on the dask.distributed cluster of this scheduler address instead. Only a trusted one: "
                   "Dask ships pickled tasks, so a hostile scheduler runs code here.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: hysupp-bench/<suite>).")
@click.option("--resume", is_flag=True, help="Continue an interrupted suite: finished runs are not redone.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary (or the --dry-run plan) as JSON.")
@click.option("--dry-run", is_flag=True,
              help="List the runs to do, the output folder and a time estimate; run and write nothing.")
@progress_option
@verbosity_options
def run_command(suite, methods, snrs, seeds, params, jobs, threads, scheduler, out, resume, as_json, dry_run) -> None:
    """Run SUITE (a built-in name or a .toml file): one JSON record per run, then the tables.

    A suite's name (its TOML ``name``) names its default output folder, so it must be a plain folder
    name (letters, digits, '-', '_', '.').

    \b
    Example:
      hysupp bench hysupp-blind --methods VCA --snr 30 --seeds 1 -o out/blind
    """
    from pathlib import Path

    from hysupp.bench.report import aggregate, attach_reference, load_records, render_markdown
    from hysupp.bench.runner import plan_suite, run_suite
    from hysupp.bench.suite import load_suite

    s = load_suite(suite)
    target = Path(out or f"hysupp-bench/{s.name}")
    overrides = _parse_overrides(params)
    if dry_run:
        plan = plan_suite(s, target, methods=_csv(methods), snrs=snrs, seeds=seeds, overrides=overrides,
                          resume=resume)
        echo_json(plan.to_dict()) if as_json else echo(plan.text())
        return

    def run_done(k, n, info, eta):
        status = "ok" if info.get("status") == "ok" else f"FAILED ({info.get('error', '')[:60]})"
        warned = f", {info['warnings']} warning(s) in its record" if info.get("warnings") else ""
        progress_line(f"[{k}/{n}] {info['dataset']} {info['condition']} {info['method']} seed {info['seed']}: "
                      f"{status}{warned} in {info['wall_s']:.1f} s; ETA {eta / 60:.1f} min")

    summary = run_suite(s, target, methods=_csv(methods), snrs=snrs, seeds=seeds, overrides=overrides, jobs=jobs,
                        threads=threads, resume=resume, scheduler=scheduler, on_run=run_done)
    rows = attach_reference(aggregate(load_records(target), s.metrics or None), s.reference_values)
    from hysupp.io.atomic import atomic_output

    with atomic_output(target / "table.md", overwrite=True) as tmp:   # regenerated from the records each time
        tmp.write_text(render_markdown(rows, title=f"{s.name}", notes=s.description,
                                       reference_source=s.reference_values.get("source", "")))
    summary["output"] = str(target)
    if as_json:
        echo_json(summary)
    else:
        say(f"{s.name}: {summary['ok']} ok, {summary['failed']} failed, {summary['skipped']} already done; "
            f"tables in {target / 'table.md'}")


@bench.command("report", short_help="Tables and figures from a bench output folder.")
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv", "latex"]), default="markdown",
              show_default=True)
@click.option("--metrics", default=None,
              help="Comma-separated metrics (default: the suite's); an unknown name is an error.")
@click.option("--figures", "figures_dir", type=click.Path(file_okay=False), default=None,
              help="Also write the figures (metric vs SNR, abundance-map grids) as PNG into this folder.")
@verbosity_options
def report(directory, fmt, metrics, figures_dir) -> None:
    """Render the tables of a bench output folder (mean ± std over seeds, best in bold).

    \b
    Examples:
      hysupp bench report out/blind
      hysupp bench report out/blind --format csv --metrics sad_mean_deg,time_s
      hysupp bench report out/blind --figures out/blind/figures
    """
    import json
    from pathlib import Path

    from hysupp.bench.report import (aggregate, attach_reference, check_metrics, load_records, render_csv,
                                     render_latex, render_markdown)

    meta_path = Path(directory) / "suite.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    records = load_records(directory)
    wanted = check_metrics(_csv(metrics), records) or meta.get("metrics") or None
    refs = meta.get("reference_values") or {}
    rows = attach_reference(aggregate(records, wanted), refs)
    if figures_dir is not None:
        from hysupp.bench.figures import write_figures

        for path in write_figures(directory, figures_dir, wanted):
            say(f"wrote {path}", err=True)
    if fmt == "csv":
        echo(render_csv(rows), nl=False)
    elif fmt == "latex":
        echo(render_latex(rows))
    else:
        echo(render_markdown(rows, title=meta.get("name", ""), notes=meta.get("description", ""),
                             reference_source=refs.get("source", "")))
