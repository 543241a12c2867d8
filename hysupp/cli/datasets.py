"""``hysupp datasets list|fetch|info``: the registered public data sets (:mod:`hysupp.datasets`)."""

from __future__ import annotations

import click

from hysupp.cli.common import echo_json


@click.group(name="datasets", short_help="Public data sets by name: list, fetch (sha256-checked), info.")
def datasets() -> None:
    """Registered public data sets: list them, fetch them into the cache, describe one.

    \b
    hysupp datasets list                 every data set, with its size and whether it is cached
    hysupp datasets fetch samson         download into the cache and verify the SHA-256
    hysupp datasets info jasper-ridge    source, commit, checksums, licence, citation, caveats
    hysupp run --data samson             a registered scene by name (fetched on first use)

    Files go to $HYSUPP_DATA_DIR (default: the user cache folder); $HYSUPP_DATA_URL downloads from a
    mirror laid out like the cache; $HYSUPP_OFFLINE=1 downloads nothing.
    """


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


@datasets.command("list")
@click.option("--kind", type=click.Choice(["scene", "library", "pair", "srf"]), default=None,
              help="Only data sets of this kind.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (one object per data set).")
def list_datasets(kind: str | None, as_json: bool) -> None:
    """Every registered data set: name, kind, shape, size, cached or not, title."""
    from hysupp.datasets import DATASETS, UNREGISTERED, cache_dir, dataset_info

    root = cache_dir()
    entries = [dataset_info(ds, cache=root) for ds in DATASETS if kind is None or ds.kind == kind]
    if as_json:
        echo_json(entries)
        return
    width = max(len(e["name"]) for e in entries) if entries else 4
    click.echo(f"{'name':<{width}}  {'kind':<7}  {'shape':<15}  {'size':>8}  cached  title")
    for e in entries:
        shape = " x ".join(str(s) for s in e["shape"])
        cached = "yes" if e["cached"] else "-"
        click.echo(f"{e['name']:<{width}}  {e['kind']:<7}  {shape:<15}  {_mb(e['size']):>8}  {cached:<6}  {e['title']}")
    click.echo(f"\ncache: {root}")
    if kind in (None, "scene"):
        click.echo(f"not registered yet: {', '.join(UNREGISTERED)} (hysupp datasets info NAME says why)")


@datasets.command("fetch")
@click.argument("names", nargs=-1, required=True)
@click.option("--progress/--no-progress", default=None,
              help="Show a progress bar per download (default: when stderr is a terminal and tqdm is installed).")
@click.option("--json", "as_json", is_flag=True, help="Print the local paths as JSON.")
def fetch_datasets(names: tuple[str, ...], progress: bool | None, as_json: bool) -> None:
    """Download data sets into the cache (once) and verify every file's SHA-256.

    NAMES are registered names or aliases (see `hysupp datasets list`). Files already cached are
    verified, not downloaded again.
    """
    from hysupp.datasets import fetch, get_dataset

    resolved = [get_dataset(n) for n in names]  # every name checked before any download
    out = {}
    for ds in resolved:
        paths = fetch(ds, progress=progress, log=lambda msg: click.echo(msg, err=True))
        out[ds.name] = {k: str(v) for k, v in paths.items()}
        if not as_json:
            folders = sorted({str(p.parent) for p in paths.values()})
            click.echo(f"{ds.name}: {len(paths)} file{'s' if len(paths) > 1 else ''}, {_mb(ds.size)}, sha256 "
                       f"verified, in {', '.join(folders)}")
    if as_json:
        echo_json(out)


@datasets.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info_dataset(name: str, as_json: bool) -> None:
    """Everything about one data set: source repository and commit, files, SHA-256, sizes, licence,
    citation, shape, units, ground truth, caveats, and whether its files are cached."""
    from hysupp.datasets import dataset_info

    d = dataset_info(name)  # an unknown name: DatasetError with close names, or why it is not registered
    if as_json:
        echo_json(d)
        return
    alias = f" (aliases: {', '.join(d['aliases'])})" if d["aliases"] else ""
    lines = [f"{d['name']}{alias}: {d['title']}",
             f"kind:         {d['kind']}",
             f"shape:        {' x '.join(str(s) for s in d['shape'])}",
             f"units:        {d['units']}",
             f"ground truth: {d['ground_truth']}",
             f"licence:      {d['licence']}",
             f"may ship:     {'yes' if d['may_ship'] else 'no'}",
             f"citation:     {d['citation']}",
             f"size:         {_mb(d['size'])} ({d['size']} bytes)",
             f"description:  {d['description']}",
             "files:"]
    for f in d["files"]:
        state = "cached" if f["cached"] else "not cached"
        lines.append(f"  {f['path']}  {f['size']} bytes  sha256 {f['sha256']}  [{state}: {f['local']}]")
        lines.extend(f"    source: {s['repo']} @ {s['commit']} : {s['path']}" if s["repo"] else f"    source: {s['url']}"
                     for s in f["sources"])
    if d["caveats"]:
        lines.append("caveats:")
        lines.extend(f"  - {c}" for c in d["caveats"])
    click.echo("\n".join(lines))
