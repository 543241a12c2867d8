"""Render docs/benchmarks.md (and its figures) from the committed bench records.

Each folder ``benchmarks/results/bench/<suite>/`` is the output of a real
``hysupp bench <suite> --out ...`` run (``records/``, ``suite.json``, ``maps/``). This script
renders their tables exactly as ``hysupp bench report`` does, with the reference-value columns
and the figures (``docs/figures/bench/<suite>/``), and states for each suite the hardware,
seeds, thread settings and load that the records carry. Nothing in the tables is typed by hand.

    python benchmarks/benchmarks_doc.py
"""

from __future__ import annotations

import json
from pathlib import Path

from hysupp.bench.figures import write_figures
from hysupp.bench.report import aggregate, attach_reference, load_records, render_markdown

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "results" / "bench"
DOC = ROOT / "docs" / "benchmarks.md"
FIGURES = ROOT / "docs" / "figures" / "bench"

REGEN = ("On 2026-12-07 `benchmarks/check_records.py --budget 20 --regenerate` reran the cells whose committed run "
         "took at most 20 s and rewrote those whose metrics had changed, the code having changed on purpose "
         "(issue 22: VCA draws HySUPP's uniform directions, SISAL keeps its endmembers, FaSUn/SUnS/MiSiSUn return "
         "feasible estimates, CLSUnSAL's three-way split; issue 19: HS-MS fusion independent of the units); "
         "`benchmarks/results/check_records.json` lists every rerun cell, same or changed, with the old and new value.")

#: suites in the order of the page, with what a reader must know about how they were run
NOTES = {
    "hysupp-semi": "`hysupp bench hysupp-semi --seeds 5 --jobs 2`. SUnCNN runs 500 of its published 20000 "
                   "iterations (declared in the suite: 20000 take ~60 h for the 30 runs on this machine), which "
                   "is far from converged. The run was killed after 54 records and continued with `--resume`: "
                   "218 more runs, 270 records, one per run. Two seed-0 records (DC1 30 dB FaSUn and SUnS) were "
                   "deleted before resuming so that they were rerun with the abundance maps the runner had just "
                   "learnt to save; DC1 20 dB has no maps. The seed-0 maps of FaSUn, SUnS, MiSiSUn and SUnAA were "
                   "regenerated after a fix (they had shown A in the method's own order instead of B A; same "
                   "seeds, identical metrics). Timings are wall seconds of two parallel runs on a machine "
                   "shared with other jobs (load in the line above). " + REGEN + " That run was stopped during "
                   "DC1 at 40 dB (time): the rewritten records are DC1 20 dB CLSUnSAL, FaSUn and MiSiSUn, DC1 30 dB "
                   "CLSUnSAL (all seeds), and some seeds of DC1 30/40 dB MiSiSUn, SUnS and FaSUn. A second run "
                   "(`--respecified-only`) reran the 60 DC2 cells of SUnSAL, CLSUnSAL, MUA-SLIC and S2WSU, whose "
                   "data set spec had changed since they were written: 45 reproduce, the 15 CLSUnSAL cells changed "
                   "(three-way split). The other DC2 cells (over 20 s) and the rest of DC1 are the earlier runs. "
                   "Since issue 21 the suite pins the reference's stopping (`tol = 1e-4` for SUnSAL, CLSUnSAL, S2WSU "
                   "and MUA-SLIC, `tol = \"none\"`, all T, for SUnAA, FaSUn, SUnS and MiSiSUn), as `hysupp run`'s "
                   "defaults are now measured (docs/large_scenes.md, Stopping); the 180 records of those cells "
                   "whose runs had resolved these values were relabelled with the pinned spec "
                   "(`benchmarks/check_records.py --relabel`), not rerun; one DC1 20 dB cell per method rerun through "
                   "the runner (`--budget 70 --sample 1`: 8 cells) reproduced all 8.",
    "hysupp-blind": "One seed (`--seeds 1`). MiSiCNet runs 1000 of its published 8000 iterations (declared in "
                    "the suite); the other methods run their defaults. " + REGEN + " Here 41 cells were rerun "
                    "(24 changed, among them every VCA-started method; the 17 others reproduced); the networks whose "
                    "runs took longer (MSNet, MiSiCNet and CNNAEU on every scene, PGMSU on DC1 and Samson, ADMMNet "
                    "on DC1) are still the earlier runs, made with the earlier VCA start.",
    "hysupp-supervised": "FCLS only (`--methods FCLS`); UnDIP at its published 3000 iterations was not run.",
    "purity": REGEN + " All 54 cells were rerun (31 changed: VCA, SISAL, NMF-QMV and MVC-NMF).",
    "hsms-pavia": REGEN + " All 8 cells were rerun (the suite's data set spec changed: new record names); HySure "
                  "and CNMF changed (ERGAS 1.056 -> 0.817 and 0.855 -> 0.883), the other six reproduce.",
    "pansharpening-wv2": "Reduced resolution with the PAN degraded by its MTF + decimation (the suite pins "
                         "`pan_degradation = \"mtf\"`: these records were made before `hysupp fuse` took the "
                         "toolbox's bicubic PAN resizing as its default); the toolbox's own protocol is the next "
                         "suite. The pinned `pan_degradation` changed every cell's spec (new record names): the 22 "
                         "cells whose runs took at most 20 s were rerun by `benchmarks/check_records.py "
                         "--respecified-only --regenerate`; 21 reproduce, Indusion at reduced resolution changed "
                         "(ERGAS 5.59 -> 6.30: its filters now follow the toolbox, issue 19); the 22 others are the "
                         "earlier records.",
    "pansharpening-wv2-toolbox": "`hysupp bench run pansharpening-wv2-toolbox --threads 1`: the reduced-resolution "
                                 "protocol of the pansharpening toolbox (`resize_images.m`: PAN resized by bicubic "
                                 "`imresize`), the default of `hysupp fuse --protocol rr`. The MTF-GLP-HPM record "
                                 "carries a `FusedRangeWarning`: a few of its values lie 15 spans below the "
                                 "inputs' range (division by a near-zero low-pass PAN).",
}


def _facts(records: list[dict]) -> str:
    env = records[0].get("environment", {})
    pk = env.get("packages", {})
    seeds = sorted({r["bench"]["seed"] for r in records})
    created = sorted(r.get("created", "") for r in records if r.get("created"))
    threads = sorted({json.dumps(r["bench"].get("threads"), sort_keys=True) for r in records
                      if r["bench"].get("threads")})
    loads = [r["bench"]["loadavg_start"][0] for r in records if r["bench"].get("loadavg_start")]
    failed = sum(r["bench"].get("status") != "ok" for r in records)
    parts = [f"{len(records)} runs ({failed} failed), seeds {', '.join(map(str, seeds))}",
             f"{env.get('cpu_count')}-core {env.get('machine')}, Python {env.get('python')}, "
             f"numpy {pk.get('numpy')}, torch {pk.get('torch')}, hysupp {pk.get('hysupp')}",
             f"run {created[0]} to {created[-1]}" if created else ""]
    if threads:
        parts.append("threads per run: " + "; ".join(threads))
    if loads:
        parts.append(f"1-min load average at the start of the runs: {min(loads):.1f} to {max(loads):.1f}")
    return "; ".join(p for p in parts if p) + "."


def render_suite(name: str) -> str:
    folder = BENCH / name
    meta = json.loads((folder / "suite.json").read_text())
    records = load_records(folder)
    rows = attach_reference(aggregate(records, meta.get("metrics") or None), meta.get("reference_values"))
    table = render_markdown(rows, reference_source=(meta.get("reference_values") or {}).get("source", ""))
    table = "\n".join("#" + line if line.startswith("## ") else line for line in table.splitlines())
    figures = write_figures(folder, FIGURES / name, meta.get("metrics") or None)
    out = [f"## Suite: {name}", "", meta.get("description", ""), "", f"Reference: {meta.get('reference', '')}", "",
           _facts(records), ""]
    if NOTES.get(name):
        out += [NOTES[name], ""]
    out += [table]
    if figures:
        out += ["### Figures", ""]
        out += [f"![{p.stem}]({p.relative_to(DOC.parent).as_posix()})" for p in figures] + [""]
    return "\n".join(out)


def main() -> None:
    suites = [n for n in NOTES if (BENCH / n / "records").is_dir()]
    missing = [n for n in NOTES if n not in suites]
    head = ["# Benchmark suites: results of real runs", "",
            "Generated by `benchmarks/benchmarks_doc.py` from the records of real `hysupp bench SUITE --out DIR` runs, "
            "committed in `benchmarks/results/bench/<suite>/`; `hysupp bench report DIR` renders the same tables "
            "from the same records (`--figures` the same figures). Mean ± std over seeds, best in bold; `time_s` is "
            "the method's wall time in seconds on a shared machine, so compare times within a table only.", ""]
    if missing:
        head += [f"Suites without committed records: {', '.join(missing)}.", ""]
    DOC.write_text("\n".join(head) + "\n" + "\n\n".join(render_suite(n) for n in suites) + "\n")
    print(f"wrote {DOC} ({', '.join(suites)})")


if __name__ == "__main__":
    main()
