"""Tables from run records: mean +- std over seeds per (dataset, condition, method), best in bold.

Markdown, CSV (one row per cell and metric) and LaTeX. ``hysupp bench report DIR`` renders the
same tables from the same records every time (records are sorted; nothing depends on run order).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import InputError

__all__ = ["DEFAULT_METRICS", "aggregate", "attach_reference", "check_metrics", "condition_label", "load_records", "render_csv",
           "render_latex", "render_markdown"]

#: metric -> True when higher is better
DIRECTION = {"sre_db": True, "sre_full_db": True, "armse": False, "armse_full": False, "sad_mean_deg": False,
             "ermse": False, "q2n": True, "q": True, "sam_deg": False, "ergas": False, "scc": True, "psnr_db": True,
             "rmse": False, "ssim": True, "cc": True, "d_lambda": False, "d_s": False, "qnr": True,
             "d_lambda_khan": False, "hqnr": True, "d_rho": False, "time_s": False}
DEFAULT_METRICS = {"unmixing": ["sre_db", "armse", "sad_mean_deg"],
                   "rr": ["q2n", "sam_deg", "ergas", "scc"], "fr": ["d_lambda", "d_s", "qnr", "hqnr"],
                   "reference": ["psnr_db", "sam_deg", "ergas"]}
NON_METHOD_TIMINGS = ("load", "evaluate")


def load_records(out_dir: str | Path) -> list[dict[str, Any]]:
    """Every record of a bench output folder, sorted by run id."""
    folder = Path(out_dir) / "records"
    if not folder.is_dir():
        raise InputError(f"{str(out_dir)!r} has no records/ folder: not a hysupp bench output")
    from hysupp.bench.runner import record_files

    return [json.loads(p.read_text()) for p in record_files(out_dir)]


def _time(record: dict[str, Any]) -> float | None:
    t = record.get("timings_s")
    if not t:
        return None
    return float(sum(v for k, v in t.items() if k not in NON_METHOD_TIMINGS))


def _metric_names(kind_key: str, records: list[dict[str, Any]], wanted: list[str] | None) -> list[str]:
    names = wanted or DEFAULT_METRICS.get(kind_key, [])
    present = {k for r in records for k, v in (r.get("metrics") or {}).items() if isinstance(v, (int, float))}
    return [m for m in names if m in present]


def check_metrics(wanted: list[str] | None, records: list[dict[str, Any]]) -> list[str] | None:
    """``wanted`` if every name is a metric hysupp knows (:data:`DIRECTION`, ``time_s``) or one the
    records hold; else :class:`~hysupp.errors.InputError` naming the unknown ones, the closest
    names (*did you mean ...?*) and the metrics of these records."""
    if not wanted:
        return wanted
    present = sorted({k for r in records for k, v in (r.get("metrics") or {}).items() if isinstance(v, (int, float))})
    known = set(DIRECTION) | set(present) | {"time_s"}
    unknown = [m for m in wanted if m not in known]
    if unknown:
        from hysupp.methods.registry import close_matches

        close: list[str] = []
        for m in unknown:
            close += [c for c in close_matches(m, sorted(known)) if c not in close]
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise InputError(f"unknown metric(s) {', '.join(map(repr, unknown))}; {hint}metrics in these records: "
                         f"{', '.join(present + ['time_s'])}")
    return wanted


def aggregate(records: list[dict[str, Any]], metrics: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per (dataset, condition, method): ``n``, ``failed``, and ``mean``/``std`` of each
    metric and of the method's time (``time_s``), in first-seen order of datasets and methods."""
    cells: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in records:
        b = r["bench"]
        cells.setdefault((b["dataset"], b["condition"], b["method"]), []).append(r)
    rows = []
    for (ds, cond, method), recs in cells.items():
        ok = [r for r in recs if r["bench"].get("status") == "ok"]
        kind_key = "unmixing" if ok and "unmix" in (ok[0].get("timings_s") or {}) else cond
        names = _metric_names(kind_key, ok, metrics) + ["time_s"]
        stats = {}
        for m in names:
            vals = [(_time(r) if m == "time_s" else (r.get("metrics") or {}).get(m)) for r in ok]
            vals = [float(v) for v in vals if isinstance(v, (int, float)) and math.isfinite(v)]
            if vals:
                stats[m] = {"mean": float(np.mean(vals)), "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
                            "n": len(vals)}
        rows.append({"dataset": ds, "condition": cond, "method": method, "n": len(ok),
                     "failed": len(recs) - len(ok), "metrics": stats,
                     "errors": sorted({r["bench"].get("error", "")[:120] for r in recs if r not in ok})})
    return rows


def attach_reference(rows: list[dict[str, Any]], reference_values: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Add ``row["reference"] = {metric: value}`` from a suite's reference values (published or
    reference-implementation numbers, see :func:`hysupp.bench.suite.load_suite`); the tables then
    show a ``metric (ref.)`` column beside each metric that has any."""
    table: dict[tuple[str, str, str], dict[str, float]] = {}
    for v in (reference_values or {}).get("values", []):
        key = (str(v["dataset"]), str(v["condition"]), str(v["method"]).lower())
        table.setdefault(key, {})[v["metric"]] = float(v["value"])
    for r in rows:
        ref = table.get((r["dataset"], r["condition"], r["method"].lower()))
        if ref:
            r["reference"] = ref
    return rows


def _header(group: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """(label, metric, is_reference) per column: each metric, then its ``(ref.)`` column if any."""
    out = []
    for c in _columns(group):
        out.append((c, c, False))
        if any(c in r.get("reference", {}) for r in group):
            out.append((f"{c} (ref.)", c, True))
    return out


def _groups(rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["condition"]), []).append(row)
    return groups


def _best(rows: list[dict[str, Any]], metric: str) -> float | None:
    vals = [r["metrics"][metric]["mean"] for r in rows if metric in r["metrics"]]
    if not vals or metric not in DIRECTION:
        return None
    return max(vals) if DIRECTION[metric] else min(vals)


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    cols: list[str] = []
    for r in rows:
        cols += [m for m in r["metrics"] if m not in cols]
    return [c for c in cols if c != "time_s"] + (["time_s"] if "time_s" in cols else [])


def _fmt(stat: dict[str, float]) -> str:
    return f"{stat['mean']:.3g} ± {stat['std']:.2g}" if stat["n"] > 1 else f"{stat['mean']:.3g}"


def condition_label(cond: str) -> str:
    """How a condition is titled in tables and figures: ``noise-free``, ``30 dB``, ``reduced resolution``..."""
    return {"inf": "noise-free", "rr": "reduced resolution", "fr": "full resolution",
            "reference": "simulated pair"}.get(cond, f"{cond} dB")


def render_markdown(rows: list[dict[str, Any]], *, title: str = "", notes: str = "",
                    reference_source: str = "") -> str:
    """Markdown: one table per (dataset, condition), methods as rows, mean ± std, best in bold;
    ``(ref.)`` columns hold reference values (:func:`attach_reference`), cited by ``reference_source``."""
    out = [f"# {title}", ""] if title else []
    if notes:
        out += [notes, ""]
    if reference_source and any(r.get("reference") for r in rows):
        out += [f"(ref.) columns: {reference_source}", ""]
    for (ds, cond), group in _groups(rows).items():
        header = _header(group)
        out += [f"## {ds}, {condition_label(cond)}", "", "| method | n | " + " | ".join(h[0] for h in header) + " |",
                "|---|---|" + "---|" * len(header)]
        for r in group:
            cells = []
            for _, c, is_ref in header:
                if is_ref:
                    value = r.get("reference", {}).get(c)
                    cells.append("-" if value is None else f"{value:.3g}")
                    continue
                if c not in r["metrics"]:
                    cells.append("-")
                    continue
                text = _fmt(r["metrics"][c])
                cells.append(f"**{text}**" if r["metrics"][c]["mean"] == _best(group, c) and c != "time_s" else text)
            fail = f" ({r['failed']} failed)" if r["failed"] else ""
            out.append(f"| {r['method']} | {r['n']}{fail} | " + " | ".join(cells) + " |")
        errors = [f"- {r['method']}: {e}" for r in group for e in r["errors"] if e]
        out += [""] + (["Failures:", *errors, ""] if errors else [])
    return "\n".join(out)


def render_csv(rows: list[dict[str, Any]]) -> str:
    """Long format: dataset, condition, method, metric, mean, std, n, reference (empty when none)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["dataset", "condition", "method", "metric", "mean", "std", "n", "reference"])
    for r in rows:
        for m, s in r["metrics"].items():
            ref = r.get("reference", {}).get(m)
            w.writerow([r["dataset"], r["condition"], r["method"], m, f"{s['mean']:.6g}", f"{s['std']:.6g}", s["n"],
                        "" if ref is None else f"{ref:.6g}"])
    return buf.getvalue()


def render_latex(rows: list[dict[str, Any]]) -> str:
    """LaTeX tabulars (booktabs), one per (dataset, condition), best in bold."""
    out = []
    for (ds, cond), group in _groups(rows).items():
        header = _header(group)
        out += [f"% {ds}, {condition_label(cond)}", "\\begin{tabular}{l" + "c" * len(header) + "}", "\\toprule",
                "Method & " + " & ".join(h[0].replace("_", "\\_") for h in header) + " \\\\", "\\midrule"]
        for r in group:
            cells = []
            for _, c, is_ref in header:
                if is_ref:
                    value = r.get("reference", {}).get(c)
                    cells.append("--" if value is None else f"{value:.3g}")
                    continue
                if c not in r["metrics"]:
                    cells.append("--")
                    continue
                s = r["metrics"][c]
                text = f"{s['mean']:.3g} $\\pm$ {s['std']:.2g}" if s["n"] > 1 else f"{s['mean']:.3g}"
                cells.append(f"\\textbf{{{text}}}" if s["mean"] == _best(group, c) and c != "time_s" else text)
            out.append(r["method"].replace("_", "\\_") + " & " + " & ".join(cells) + " \\\\")
        out += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(out)
