"""Figures from a bench output folder: metric-vs-SNR plots and abundance-map grids.

Both are drawn from what the runner wrote, so ``hysupp bench report DIR --figures FOLDER`` redraws
the same figures from the same folder:

* metric vs SNR: one PNG per (dataset, metric) of an unmixing suite with two or more SNRs, one
  line per method, mean and standard deviation over the seeds (the rows of
  :func:`hysupp.bench.report.aggregate`);
* abundance grids: one PNG per (dataset, condition): the true maps, then one row per method, one
  column per true endmember, from the ``maps/`` the runner saves for seed 0 of each unmixing cell.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.bench.report import aggregate, condition_label, load_records
from hysupp.bench.runner import MAPS_DIR
from hysupp.bench.suite import safe_name

__all__ = ["abundance_grids", "metric_vs_snr", "write_figures"]


def _numeric(cond: str) -> float | None:
    try:
        value = float(cond)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def metric_vs_snr(rows: list[dict[str, Any]], metric: str, dataset: str):
    """A metric-vs-SNR figure (one line per method, error bars: std over seeds), or ``None`` when
    ``dataset`` has fewer than two SNRs with values of ``metric``."""
    from hysupp.viz import pyplot

    series: dict[str, list[tuple[float, float, float]]] = {}
    for r in rows:
        snr = _numeric(r["condition"])
        if r["dataset"] != dataset or snr is None or metric not in r["metrics"]:
            continue
        s = r["metrics"][metric]
        series.setdefault(r["method"], []).append((snr, s["mean"], s["std"]))
    snrs = {x for pts in series.values() for x, _, _ in pts}
    if len(snrs) < 2:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.0), constrained_layout=True)
    for method, pts in series.items():
        pts.sort()  # by SNR
        x, y, e = np.array(pts).T
        ax.errorbar(x, y, yerr=e, marker="o", ms=3, capsize=2, label=method)
    ax.set_xlabel("SNR (dB)")
    ax.set_ylabel(metric)
    ax.set_xticks(sorted(snrs))
    ax.set_title(f"{dataset}: {metric} vs SNR", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return fig


def abundance_grids(out_dir: str | Path, records: list[dict[str, Any]] | None = None):
    """``{(dataset, condition): Figure}``: true maps, then one row per method (seed 0)."""
    from hysupp.viz import plot_abundance_grid

    folder = Path(out_dir) / MAPS_DIR
    if not folder.is_dir():
        return {}
    records = load_records(out_dir) if records is None else records
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        b = r["bench"]
        path = folder / f"{b['run_id']}.npz"
        if b.get("status") != "ok" or not path.is_file():
            continue
        with np.load(path) as z:
            cell = cells.setdefault((b["dataset"], b["condition"]), {"truth": z["truth"], "names": list(z["names"]),
                                                                     "rows": {}})
            cell["rows"][b["method"]] = z["estimate"]
    return {key: plot_abundance_grid({"truth": c["truth"], **c["rows"]}, c["names"],
                                     title=f"{key[0]}, {condition_label(key[1])}: abundance maps (seed 0)")
            for key, c in cells.items()}


def _save(fig, path: Path, dpi: int = 110) -> Path:
    from hysupp.viz import save_figure

    save_figure(fig, path, overwrite=True, dpi=dpi)   # atomic, then closed
    return path


def write_figures(out_dir: str | Path, figures_dir: str | Path, metrics: list[str] | None = None) -> list[Path]:
    """Write every figure of a bench output folder into ``figures_dir``; returns the PNG paths."""
    target = Path(figures_dir)
    target.mkdir(parents=True, exist_ok=True)
    records = load_records(out_dir)
    if metrics is None:
        meta = Path(out_dir) / "suite.json"
        metrics = json.loads(meta.read_text()).get("metrics") if meta.is_file() else None
    rows = aggregate(records, metrics or None)
    written = []
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    names = list(dict.fromkeys(m for r in rows for m in r["metrics"] if m != "time_s"))
    for ds in datasets:
        for metric in names:
            fig = metric_vs_snr(rows, metric, ds)
            if fig is not None:
                written.append(_save(fig, target / f"{safe_name(ds)}_{safe_name(metric)}_vs_snr.png"))
    for (ds, cond), fig in abundance_grids(out_dir, records).items():
        name = f"{safe_name(ds)}_{safe_name(cond)}_abundances.png"
        written.append(_save(fig, target / name, dpi=64))  # noisy maps make big PNGs
    return written
