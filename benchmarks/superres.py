"""Single-image super-resolution methods at ratio 2, reduced-resolution protocol; writes
benchmarks/results/superres.json (one row per scene x method, printed as JSON lines as they finish).

Protocol (``hysupp.super_resolve(..., protocol="rr")``): the image is degraded by the default
observation model (Gaussian PSF of MTF gain 0.29 at Nyquist, decimation by 2 at phase 1), super-resolved
by each method and scored against the original (PSNR, SAM, ERGAS, Q2n; ``border`` pixels removed).
The networks have no pretrained weights: they train on reduced-resolution pairs of the *degraded*
image (the only data they see), with their CPU recipe, on one torch thread.

Scenes: the WorldView-2 MS cube (``imgWV2.mat`` ``I_MS``, 8 x 320 x 320, 11-bit DN) and the ROSIS
Pavia University crop (``reg_pavia_dataset.mat`` ``I1``, 103 x 80 x 50).

Usage: .venv/bin/python benchmarks/superres.py [--scenes wv2,pavia] [--methods Bicubic,...] [--threads 1]
       .venv/bin/python benchmarks/superres.py --doc-only     # rewrite docs/superres.md from the JSON
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENES = {"wv2": Path("/work/shared/data/pansharpening_wv2/imgWV2.mat"),
          "pavia": Path("/work/shared/data/pavia_university/reg_pavia_dataset.mat")}
METHODS = ("Bicubic", "Deconvolution", "SRCNN", "VDSR", "EDSR", "S5Net")
NETS = ("SRCNN", "VDSR", "EDSR", "S5Net")


def _load() -> str:
    return subprocess.run(["uptime"], check=False, capture_output=True, text=True).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", default="wv2,pavia")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ratio", type=int, default=2)
    ap.add_argument("--border", type=int, default=4)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "superres.json"))
    ap.add_argument("--keep", action="store_true", help="keep the rows of --out that this run does not redo")
    ap.add_argument("--doc-only", action="store_true", help="only rewrite docs/superres.md from --out")
    ap.add_argument("--log", default=None, help="with --doc-only: JSON-lines log of a partial run instead of --out")
    args = ap.parse_args()
    if args.doc_only:
        if args.log:
            rows = [json.loads(x) for x in Path(args.log).read_text().splitlines() if x.startswith("{")]
            data = {"rows": rows, "border": args.border, "partial_log": True}
        else:
            data = json.loads(Path(args.out).read_text())
        write_doc(data)
        return
    for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(v, str(args.threads))
    import torch

    import hysupp
    from hysupp.io import load

    torch.set_num_threads(args.threads)
    plan = {(sc, m) for sc in args.scenes.split(",") for m in args.methods.split(",")}
    rows = []
    if args.keep and Path(args.out).is_file():    # rows of an earlier run that this one does not redo
        rows = [r for r in json.loads(Path(args.out).read_text())["rows"] if (r["scene"], r["method"]) not in plan]
    for scene_name in args.scenes.split(","):
        path = SCENES[scene_name]
        scene = load(str(path), key="I1") if scene_name == "pavia" else load(str(path))
        cube = scene.require_cube()
        for name in args.methods.split(","):
            params = {"recipe": "cpu", "device": "cpu", "seed": 0} if name in NETS else {}
            before = _load()
            t0 = time.perf_counter()
            run = hysupp.super_resolve(scene, name, ratio=args.ratio, protocol="rr", params=params,
                                       border=args.border)
            wall = time.perf_counter() - t0
            m = run.metrics
            training = run.info.get("training", {})
            row = {"scene": scene_name, "shape": list(cube.shape), "method": name, "ratio": args.ratio,
                   "psnr_db": m["psnr_db"], "sam_deg": m["sam_deg"], "ergas": m["ergas"], "q2n": m.get("q2n"),
                   "training_time_s": training.get("training_time_s"),
                   "iterations": training.get("iterations"), "recipe": (training.get("recipe") or {}).get("recipe"),
                   "wall_time_s": wall, "threads": args.threads, "uptime_before": before, "uptime_after": _load()}
            rows.append(row)
            print(json.dumps(row), flush=True)
            _write(args, rows, torch.__version__, complete=False)   # a partial run keeps what finished
    write_doc(_write(args, rows, torch.__version__, complete=True))


def _write(args, rows, torch_version: str, complete: bool) -> dict:
    out = {"protocol": "rr: default PSF (Gaussian, MTF gain 0.29 at Nyquist), decimation phase ratio//2; "
                       "networks trained on the degraded image only (CPU recipe, seed 0)",
           "border": args.border, "torch": torch_version, "complete": complete,
           "scenes": args.scenes, "methods": args.methods, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    return out


TITLES = {"wv2": "WorldView-2 MS (8 x 320 x 320, 11-bit DN), ratio 2",
          "pavia": "Pavia University crop (103 x 80 x 50, reflectance), ratio 2"}


def write_doc(data: dict) -> None:
    """The measured tables of docs/superres.md (between the markers), from the results JSON."""
    page = ROOT / "docs" / "superres.md"
    text = page.read_text()
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    lines = [begin, ""]
    order = {m: i for i, m in enumerate(METHODS)}
    for scene in ("wv2", "pavia"):
        rows = sorted((r for r in data["rows"] if r["scene"] == scene), key=lambda r: order.get(r["method"], 99))
        if not rows:
            continue
        base = next((r for r in rows if r["method"] == "Bicubic"), None)
        lines += [f"### {TITLES[scene]}", "",
                  ("| method | PSNR (dB) | gain vs Bicubic (dB) | SAM (deg) | ERGAS | Q2n | training (s, 1 thread) "
                  "| iterations | total run (s) | load average (1 min) |"),
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            gain = f"{r['psnr_db'] - base['psnr_db']:+.2f}" if base else ""
            t = "" if r["training_time_s"] is None else f"{r['training_time_s']:.0f}"
            load = r["uptime_before"].split("load average:")[-1].split(",")[0].strip()
            q = "" if r.get("q2n") is None else f"{r['q2n']:.4f}"
            lines.append(f"| {r['method']} | {r['psnr_db']:.2f} | {gain} | {r['sam_deg']:.3f} | {r['ergas']:.3f} | {q} "
                         f"| {t} | {r['iterations'] or ''} | {r['wall_time_s']:.0f} | {load} |")
        lines.append("")
    if data.get("partial_log") or data.get("complete") is False:
        lines += ["(Partial run: rows of the methods that finished before the deadline.)", ""]
    lines.append(end)
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    page.write_text(head + "\n".join(lines) + tail)
    print("wrote", page)


if __name__ == "__main__":
    main()
