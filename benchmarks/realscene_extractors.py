"""Benchmark: SISAL and VCA on real and synthetic scenes, beside HySUPP's (issue 22).

Scenes: Samson (shared data, ``end3.mat``, p = 3), the Cuprite crop with its 12 reference minerals
(shared data, p = 12; no abundance truth: SAD after Hungarian matching on the SAD), Jasper Ridge
(p = 4; not in the shared data: ``--jasper DIR`` with ``jasperRidge2_R198.mat`` and ``end4.mat`` in
the common layout, e.g. from a public repository mirror) and five synthetic scenes from the recipes
(``toy``: dirichlet p = 6, 40 x 40, pure pixels, noise-free; ``sim1``: sim1 p = 6, 105 x 105, no pure
pixels; ``sim1_30``: the same at 30 dB; ``mr80_30``: dirichlet p = 4, 100 x 100, max abundance 0.8,
30 dB; ``dir_20``: dirichlet p = 4, 100 x 100, pure pixels, 20 dB). Metric: mean SAD (degrees) of
the endmembers with FCLS abundances aligned to the truth by abundances (HySUPP's convention, through
``hysupp.unmix``), over seeds 0-4 (SISAL) and 0-9 (VCA).

Ours: SISAL with its defaults and with sisal.m's (``tau=1, nonneg=False``); VCA projected (default)
and raw. Reference (``--ref-python``, the REFERENCES.md pins, ``--hysupp`` its repository root):
HySUPP's ``SISAL`` and ``VCA`` classes in a subprocess on the same pixels; for VCA also with the SVD's
singular-vector signs set to hysupp's convention (largest-magnitude entry positive), so that the
seeded random directions meet the same coordinates and the picks can be compared seed by seed.
One thread on both sides. Writes ``benchmarks/results/realscene_extractors.json``.

Usage::

    python benchmarks/realscene_extractors.py --jasper /path/to/jasper \\
        --ref-python /tmp/ref/venv/bin/python --hysupp /tmp/ref/HySUPP
    python benchmarks/realscene_extractors.py --no-reference --scenes samson toy
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import uptime  # noqa: E402

SHARED = Path(os.environ.get("HYSUPP_SHARED_DATA", HERE.parent.parent / "shared" / "data"))
SYNTH = {
    "toy": ("dirichlet", {"p": 6, "height": 40, "width": 40, "pure_pixels": True, "seed": 0}),
    "sim1": ("sim1", {"p": 6, "height": 105, "width": 105, "seed": 0}),
    "sim1_30": ("sim1", {"p": 6, "height": 105, "width": 105, "seed": 0, "snr": 30.0}),
    "mr80_30": ("dirichlet", {"p": 4, "height": 100, "width": 100, "max_abundance": 0.8, "seed": 1, "snr": 30.0}),
    "dir_20": ("dirichlet", {"p": 4, "height": 100, "width": 100, "pure_pixels": True, "seed": 2, "snr": 20.0}),
}

# run by the reference interpreter: HySUPP's SISAL / VCA on Y, optionally with sign-normalised SVDs
_REF_DRIVER = r"""
import json, logging, sys, warnings
warnings.filterwarnings("ignore"); logging.disable(logging.CRITICAL)
import numpy as np
sys.path.insert(0, sys.argv[1])
import src.model.extractors as X
cfg = json.loads(sys.argv[3]); d = np.load(sys.argv[2]); Y, p = d["Y"], int(d["p"])
if cfg["signs"]:
    _svd = np.linalg.svd
    class _LA:
        def __getattr__(self, k): return getattr(np.linalg, k)
        @staticmethod
        def svd(a, *args, **kw):
            U, s, Vt = _svd(a, *args, **kw)
            return U * np.sign(U[np.abs(U).argmax(axis=0), np.arange(U.shape[1])]), s, Vt
    X.LA = _LA()
out = {}
for s in cfg["seeds"]:
    m = getattr(X, cfg["method"])()
    out[f"E{s}"] = m.extract_endmembers(Y, p, seed=s)
    if cfg["method"] == "VCA":
        out[f"idx{s}"] = m.indices
np.savez(sys.argv[4], **out)
print("ok")
"""


def load_scenes(names: list[str], jasper: Path | None) -> dict:
    """name -> dict(scene (a hysupp Scene with truth, or None), Y (L, N) float64, E (L, p), by)."""
    import scipy.io as sio

    import hysupp
    from hysupp.scene import Scene

    out = {}
    for name in names:
        if name == "samson":
            sc = hysupp.load(str(SHARED / "samson" / "samson_1.mat"), truth=str(SHARED / "samson" / "end3.mat"))
            out[name] = {"scene": sc, "by": "abundances"}
        elif name == "cuprite":
            sc = hysupp.load(str(SHARED / "cuprite" / "Rcuprite50x90x188.mat"),
                             truth=str(SHARED / "cuprite" / "groundTruth_Cuprite_nEnd12.mat"), scale=1e-4)
            out[name] = {"scene": sc, "by": "sad"}
        elif name == "jasper":
            if jasper is None:
                continue
            d, e = sio.loadmat(jasper / "jasperRidge2_R198.mat"), sio.loadmat(jasper / "end4.mat")
            H, W = int(d["nRow"].squeeze()), int(d["nCol"].squeeze())
            Y = d["Y"].astype(np.float64) / float(d["maxValue"].squeeze())      # column-major pixels
            cube = Y.reshape(-1, W, H).transpose(0, 2, 1)
            A = e["A"].reshape(-1, W, H).transpose(0, 2, 1)
            sc = Scene(cube=cube.astype(np.float32), endmembers=e["M"].astype(np.float64), abundances=A, name="jasper")
            out[name] = {"scene": sc, "by": "abundances"}
        else:
            recipe, kw = SYNTH[name]
            out[name] = {"scene": hysupp.simulate(recipe, dtype="float64", **kw), "by": "abundances"}
        sc = out[name]["scene"]
        out[name]["Y"] = sc.pixels().astype(np.float64)
        out[name]["E"] = np.asarray(sc.endmembers, dtype=np.float64)
    return out


def mean_sad(entry: dict, M: np.ndarray) -> float:
    import hysupp
    from hysupp.metrics import align, sad

    if entry["by"] == "sad":
        E = entry["E"]
        return float(sad(E, align(E, M).apply_endmembers(M), reduce="mean"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = hysupp.unmix(entry["scene"], "FCLS", endmembers=np.asarray(M, dtype=np.float32))
    return float(run.metrics["sad_mean_deg"])


def run_reference(args, Y: np.ndarray, p: int, method: str, seeds: list[int], signs: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(inp, Y=Y, p=p)
        cfg = json.dumps({"method": method, "seeds": seeds, "signs": signs})
        env = dict(os.environ)
        if args.openblas_coretype:
            env["OPENBLAS_CORETYPE"] = args.openblas_coretype
        t0 = time.perf_counter()
        proc = subprocess.run([args.ref_python, "-c", _REF_DRIVER, args.hysupp, str(inp), cfg, str(out)],
                              capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"reference {method} failed:\n{proc.stderr[-3000:]}")
        res = dict(np.load(out))
        res["wall_s"] = wall
        return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", nargs="+", default=["samson", "jasper", "cuprite", *SYNTH])
    ap.add_argument("--jasper", type=Path, default=None, help="folder with jasperRidge2_R198.mat and end4.mat")
    ap.add_argument("--ref-python", default=None, help="interpreter of the reference venv (REFERENCES.md pins)")
    ap.add_argument("--hysupp", default=None, help="HySUPP repository root")
    ap.add_argument("--openblas-coretype", default=None, help="OPENBLAS_CORETYPE for the reference (e.g. Zen)")
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "realscene_extractors.json")
    args = ap.parse_args(argv)
    use_ref = not args.no_reference and args.ref_python and args.hysupp

    import hysupp
    from hysupp.methods import get_method

    load = uptime()
    scenes = load_scenes(args.scenes, args.jasper)
    sisal_seeds, vca_seeds = list(range(5)), list(range(10))
    results = {}
    for name, entry in scenes.items():
        Y, p = entry["Y"], entry["E"].shape[1]
        rec: dict = {"p": p, "pixels": int(Y.shape[1]), "bands": int(Y.shape[0]), "alignment": entry["by"]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for label, kw in [("sisal", {}), ("sisal_paper", {"tau": 1.0, "nonneg": False})]:
                vals, times = [], []
                for s in sisal_seeds:
                    t0 = time.perf_counter()
                    M = get_method("SISAL")(seed=s, **kw).extract(Y, p).endmembers
                    times.append(time.perf_counter() - t0)
                    vals.append(mean_sad(entry, M))
                rec[label] = {"sad": vals, "mean": float(np.mean(vals)), "median_s": float(np.median(times))}
            vca = {}
            for label, proj in [("vca", True), ("vca_raw", False)]:
                res = [get_method("VCA")(seed=s, projected=proj).extract(Y, p) for s in vca_seeds]
                vals = [mean_sad(entry, r.endmembers) for r in res]
                rec[label] = {"sad": vals, "mean": float(np.mean(vals))}
                vca[label] = res
        if use_ref:
            ref = run_reference(args, Y, p, "SISAL", sisal_seeds, False)
            vals = [mean_sad(entry, ref[f"E{s}"]) for s in sisal_seeds]
            rec["hysupp_sisal"] = {"sad": vals, "mean": float(np.mean(vals)), "wall_s": ref["wall_s"]}
            ref = run_reference(args, Y, p, "VCA", vca_seeds, False)
            vals = [mean_sad(entry, ref[f"E{s}"]) for s in vca_seeds]
            rec["hysupp_vca"] = {"sad": vals, "mean": float(np.mean(vals))}
            ref = run_reference(args, Y, p, "VCA", vca_seeds, True)
            same = [bool(np.array_equal(np.asarray(r.indices), ref[f"idx{s}"])) for s, r in zip(vca_seeds, vca["vca"])]
            dmax = max(float(np.abs(r.endmembers - ref[f"E{s}"]).max() / np.abs(ref[f"E{s}"]).max())
                       for s, r in zip(vca_seeds, vca["vca"]))
            rec["vca_vs_hysupp_same_signs"] = {"same_picks": sum(same), "seeds": len(same), "max_rel_diff": dmax}
        results[name] = rec
        line = f"{name:8s} SISAL {rec['sisal']['mean']:6.2f} (sisal.m {rec['sisal_paper']['mean']:6.2f})"
        if use_ref:
            line += f" HySUPP {rec['hysupp_sisal']['mean']:6.2f}"
        line += f" | VCA proj {rec['vca']['mean']:6.2f} raw {rec['vca_raw']['mean']:6.2f}"
        if use_ref:
            v = rec["vca_vs_hysupp_same_signs"]
            line += f" HySUPP {rec['hysupp_vca']['mean']:6.2f} same picks {v['same_picks']}/{v['seeds']}"
        print(line, flush=True)
    record = {"benchmark": "realscene_extractors", "metric": "mean SAD (deg), FCLS abundances aligned by "
              "abundances (Cuprite: by SAD, no abundance truth)", "sisal_seeds": sisal_seeds, "vca_seeds": vca_seeds,
              "threads": 1, "uptime_before": load, "uptime_after": uptime(), "hysupp": hysupp.__version__,
              "reference": {"python": args.ref_python, "hysupp": args.hysupp} if use_ref else None,
              "results": results}
    args.out.write_text(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
