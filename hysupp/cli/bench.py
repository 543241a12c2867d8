"""``hysupp bench SUITE``: run a benchmark suite (resumable, parallel); ``hysupp bench report DIR``."""

from __future__ import annotations

import click

from hysupp.cli.common import echo_json


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


class BenchGroup(click.Group):
    """``hysupp bench report DIR`` is a subcommand; anything else is a suite name (``run``)."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands:
            return "run", self.commands["run"], args
        return super().resolve_command(ctx, args)


@click.group(cls=BenchGroup, invoke_without_command=True)
@click.pass_context
def bench(ctx) -> None:
    """Benchmark suites: `hysupp bench SUITE [options]`, `hysupp bench report DIR`, `hysupp bench list`."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_suites)


@bench.command("list")
def list_suites() -> None:
    """List the built-in suites."""
    from hysupp.bench.suite import available_suites, load_suite

    for name in available_suites():
        s = load_suite(name)
        click.echo(f"{name:20s} {s.description}")


@bench.command("run")
@click.argument("suite")
@click.option("--methods", default=None, help="Comma-separated subset of the suite's methods.")
@click.option("--snr", "snrs", default=None, help="Comma-separated SNRs in dB (unmixing suites; 'inf' = noise-free).")
@click.option("--seeds", type=click.IntRange(min=1), default=None, help="Number of seeds (0 .. N-1).")
@click.option("--param", "params", multiple=True, metavar="METHOD.key=value", help="Parameter override (repeatable).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True, help="Parallel processes.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="BLAS/OpenMP/torch threads per parallel process (default: CPU count / --jobs).")
@click.option("--scheduler", default=None, help="Dask scheduler address: run on that cluster instead.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: hysupp-bench/<suite>).")
@click.option("--resume", is_flag=True, help="Continue an interrupted suite: finished runs are not redone.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def run_command(suite, methods, snrs, seeds, params, jobs, threads, scheduler, out, resume, as_json) -> None:
    """Run SUITE (a built-in name or a .toml file): one JSON record per run, then the tables."""
    from pathlib import Path

    from hysupp.bench.report import aggregate, attach_reference, load_records, render_markdown
    from hysupp.bench.runner import run_suite
    from hysupp.bench.suite import load_suite

    s = load_suite(suite)
    target = Path(out or f"hysupp-bench/{s.name}")

    def progress(k, n, info, eta):
        status = "ok" if info.get("status") == "ok" else f"FAILED ({info.get('error', '')[:60]})"
        click.echo(f"[{k}/{n}] {info['dataset']} {info['condition']} {info['method']} seed {info['seed']}: "
                   f"{status} in {info['wall_s']:.1f} s; ETA {eta / 60:.1f} min", err=True)

    summary = run_suite(s, target, methods=_csv(methods), snrs=_csv(snrs), seeds=seeds,
                        overrides=_parse_overrides(params), jobs=jobs, threads=threads, resume=resume,
                        scheduler=scheduler, progress=progress)
    rows = attach_reference(aggregate(load_records(target), s.metrics or None), s.reference_values)
    from hysupp.io.atomic import atomic_output

    with atomic_output(target / "table.md", overwrite=True) as tmp:   # regenerated from the records each time
        tmp.write_text(render_markdown(rows, title=f"{s.name}", notes=s.description,
                                       reference_source=s.reference_values.get("source", "")))
    summary["output"] = str(target)
    if as_json:
        echo_json(summary)
    else:
        click.echo(f"{s.name}: {summary['ok']} ok, {summary['failed']} failed, {summary['skipped']} already done; "
                   f"tables in {target / 'table.md'}")


@bench.command("report")
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv", "latex"]), default="markdown",
              show_default=True)
@click.option("--metrics", default=None, help="Comma-separated metrics (default: the suite's).")
@click.option("--figures", "figures_dir", type=click.Path(file_okay=False), default=None,
              help="Also write the figures (metric vs SNR, abundance-map grids) as PNG into this folder.")
def report(directory, fmt, metrics, figures_dir) -> None:
    """Render the tables of a bench output folder (mean ± std over seeds, best in bold)."""
    import json
    from pathlib import Path

    from hysupp.bench.report import (aggregate, attach_reference, load_records, render_csv, render_latex,
                                     render_markdown)

    meta_path = Path(directory) / "suite.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    wanted = _csv(metrics) or meta.get("metrics") or None
    refs = meta.get("reference_values") or {}
    rows = attach_reference(aggregate(load_records(directory), wanted), refs)
    if figures_dir is not None:
        from hysupp.bench.figures import write_figures

        for path in write_figures(directory, figures_dir, wanted):
            click.echo(f"wrote {path}", err=True)
    if fmt == "csv":
        click.echo(render_csv(rows), nl=False)
    elif fmt == "latex":
        click.echo(render_latex(rows))
    else:
        click.echo(render_markdown(rows, title=meta.get("name", ""), notes=meta.get("description", ""),
                                   reference_source=refs.get("source", "")))
