"""Benchmark: endmember extractors and p estimators against the Python reference implementations.

Scenes: DC1 (``hysupp.simulate("dc1", dtype="float64")``) and DC2 (``--dc2``, the shared
``DC2_XT.mat``; skipped when absent), noise-free and with AWGN at ``--snr`` dB drawn as HySUPP does
(``add_awgn(Y, snr, seed=np.random.RandomState(seed))``), plus a 30 x 30 Sim1 scene (p = 5, max
abundance 0.75, no pure pixels).

References, each run by its own interpreter in a subprocess on the same input (saved to a
temporary ``.npz``), one thread on both sides:

* HySUPP (``--ref-python``, ``--ref-repo``): ``src.model.extractors.SiVM`` and ``SISAL`` (its Python
  port, with its own defaults: 40 iterations, tau 1e-6, mu 1, no spherisation, no expansion of the
  VCA start).
* pysptools 0.15 (``--pysptools-python``, an interpreter with pysptools installed; skipped when
  missing): ``eea.ATGP``, ``nfindr.NFINDR`` (random start from Python's ``random`` seeded with 0;
  ours is then run from the same start pixels), ``eea.PPI`` (2000 skewers), ``vd.est_noise`` +
  ``vd.hysime`` and ``vd.HfcVd`` (pf 1e-3). pysptools 0.15 predates NumPy 1.24 / SciPy 1.11: the
  driver restores ``np.float``/``np.int``/``scipy.sqrt`` and replaces SciPy's removed private
  ``_flinalg.sdet_c`` by ``numpy.linalg.det``; matplotlib is stubbed.

Reported per scene: identical picks (SiVM, ATGP: same pixel set / same index sequence; N-FINDR:
same pixel set from the same start), mean SAD (degrees, Hungarian-aligned) of each side, HySime's
``p`` and per-band noise variances, HFC counts, and median times (``--runs``).

Writes ``benchmarks/results/extractors.json``.

Usage::

    python benchmarks/bench_extractors.py --pysptools-python /tmp/venv/bin/python
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
           "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import json
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import uptime  # benchmarks/ is on sys.path when a script runs

HERE = Path(__file__).resolve().parent

_HYSUPP_DRIVER = r"""
import json, sys, time, warnings, logging
warnings.filterwarnings("ignore")
import numpy as np
sys.path.insert(0, sys.argv[1])
logging.disable(logging.CRITICAL)
from src.model.extractors import SiVM, SISAL
d = np.load(sys.argv[2]); runs = int(sys.argv[4]); out = {}
for name in d.files:
    Y, p = d[name], int(name.split("_p")[1])
    for key, fn in (("sivm", lambda: SiVM().extract_endmembers(Y.copy(), p)),
                    ("sisal", lambda: SISAL().extract_endmembers(Y.copy(), p, seed=0))):
        ts = []
        for _ in range(runs):
            t = time.perf_counter(); E = fn(); ts.append(time.perf_counter() - t)
        out[name + "/" + key] = E; out[name + "/" + key + "_t"] = np.array(ts)
np.savez(sys.argv[3], **out)
print(json.dumps({"numpy": np.__version__, "python": sys.version.split()[0]}))
"""

_PYSPTOOLS_DRIVER = r"""
import json, random, sys, time, types, unittest.mock, warnings
warnings.filterwarnings("ignore")
for n in ("matplotlib", "matplotlib.pyplot", "matplotlib.cm", "matplotlib.colors"):
    sys.modules[n] = unittest.mock.MagicMock()
import numpy as np, scipy, scipy.linalg
np.float = float; np.int = int; scipy.sqrt = np.sqrt
scipy.linalg._flinalg = types.SimpleNamespace(sdet_c=lambda M: (np.linalg.det(M),))
import pysptools
from pysptools.eea import eea
from pysptools.eea.nfindr import NFINDR
from pysptools.material_count import vd
d = np.load(sys.argv[1]); runs = int(sys.argv[3]); out = {}
for name in d.files:
    Y, p = d[name], int(name.split("_p")[1])
    M = np.ascontiguousarray(Y.T)
    ts = []
    for _ in range(runs):
        t = time.perf_counter(); _, idx = eea.ATGP(M, p); ts.append(time.perf_counter() - t)
    out[name + "/atgp"] = idx; out[name + "/atgp_t"] = np.array(ts)
    random.seed(0)
    out[name + "/nfindr_init"] = np.array([int(np.floor(random.random() * M.shape[0])) for _ in range(p)])
    random.seed(0)
    t = time.perf_counter(); _, _, idx, it = NFINDR(M, p); out[name + "/nfindr_t"] = np.array([time.perf_counter() - t])
    out[name + "/nfindr"] = idx
    np.random.seed(0)
    _, idx = eea.PPI(M, p, 2000); out[name + "/ppi"] = idx
    out[name + "/hfc"] = np.array(vd.HfcVd(M, 1e-3))
    w, Rw = vd.est_noise(M); kf, _ = vd.hysime(M, w, Rw)
    out[name + "/hysime"] = np.array(kf); out[name + "/noise_var"] = np.diag(Rw)
np.savez(sys.argv[2], **out)
print(json.dumps({"numpy": np.__version__, "scipy": scipy.__version__, "pysptools": pysptools.__version__}))
"""


def _parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snr", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dc2", type=Path, default=HERE.parent.parent / "shared" / "data" / "dc2" / "DC2_XT.mat")
    ap.add_argument("--ref-python", default="/work/ref/venv/bin/python")
    ap.add_argument("--ref-repo", default="/work/ref/HySUPP")
    ap.add_argument("--pysptools-python", default=None)
    ap.add_argument("--output", type=Path, default=HERE / "results" / "extractors.json")
    return ap.parse_args()


def _run(cmd: list[str]) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), check=False)
    if proc.returncode != 0:
        raise SystemExit(f"reference run failed: {cmd[0]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _timed(name: str, kw: dict, Y: np.ndarray, p: int, runs: int):
    """Median time of ``get_method(name)(**kw).extract(Y, p)`` over ``runs`` runs, and its result."""
    from hysupp.methods import get_method

    ts, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = get_method(name)(**kw).extract(Y, p)
        ts.append(time.perf_counter() - t)
    return out, statistics.median(ts)


def _pixel_set(Y: np.ndarray, idx) -> list:
    return sorted(map(tuple, np.round(Y[:, np.asarray(idx)].T, 12)))


def main() -> None:
    args = _parse()
    import scipy

    import hysupp
    from hysupp.methods import get_method
    from hysupp.metrics import align, sad
    from hysupp.physics import add_awgn
    from hysupp.unmixing.extractors.nfindr import nfindr_indices
    from hysupp.unmixing.extractors.subspace import moments, project, top_eigvecs
    from hysupp.unmixing.order import estimate_noise, hfc, hysime, nwhfc

    def msad(E, M):
        return float(sad(E, align(E, M).apply_endmembers(M), reduce="mean"))

    scenes, truths = {}, {}
    dc1 = hysupp.simulate("dc1", dtype="float64")
    Y1 = dc1.cube.reshape(dc1.cube.shape[0], -1)
    scenes["dc1_p5"], truths["dc1_p5"] = Y1, dc1.endmembers
    scenes[f"dc1_snr{args.snr:g}_p5"] = add_awgn(Y1, args.snr, seed=np.random.RandomState(args.seed))
    truths[f"dc1_snr{args.snr:g}_p5"] = dc1.endmembers
    if args.dc2.exists():
        dc2 = hysupp.simulate("dc2", data=str(args.dc2), dtype="float64")
        Y2 = dc2.cube.reshape(dc2.cube.shape[0], -1)
        scenes["dc2_p9"], truths["dc2_p9"] = Y2, dc2.endmembers
        scenes[f"dc2_snr{args.snr:g}_p9"] = add_awgn(Y2, args.snr, seed=np.random.RandomState(args.seed))
        truths[f"dc2_snr{args.snr:g}_p9"] = dc2.endmembers
    s1 = hysupp.simulate("sim1", p=5, height=30, width=30, seed=0, dtype="float64")
    scenes["sim1_30x30_p5"], truths["sim1_30x30_p5"] = s1.cube.reshape(s1.cube.shape[0], -1), s1.endmembers

    record: dict = {
        "benchmark": "extractors", "snr_db": args.snr, "seed": args.seed, "threads": 1, "runs": args.runs,
        "uptime_before": uptime(), "host": platform.node(), "cpu": platform.processor() or platform.machine(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__},
        "results": {}}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "input.npz"
        np.savez(data, **scenes)
        ref_h = Path(tmp) / "hysupp.npz"
        record["versions"]["hysupp_reference"] = _run([args.ref_python, "-c", _HYSUPP_DRIVER, args.ref_repo,
                                                       str(data), str(ref_h), str(args.runs)])
        H = np.load(ref_h)
        S = None
        if args.pysptools_python:
            ref_s = Path(tmp) / "pysptools.npz"
            record["versions"]["pysptools_reference"] = _run([args.pysptools_python, "-c", _PYSPTOOLS_DRIVER,
                                                              str(data), str(ref_s), str(args.runs)])
            S = np.load(ref_s)
        for name, Y in scenes.items():
            E, p = truths[name], int(name.split("_p")[1])
            r: dict = {}
            res, t = _timed("SiVM", {}, Y, p, args.runs)
            r["SiVM"] = {"same_pixel_set_as_hysupp": _pixel_set(Y, res.indices) == sorted(
                map(tuple, np.round(H[name + "/sivm"].T, 12))), "sad_ours": msad(E, res.endmembers),
                "sad_hysupp": msad(E, H[name + "/sivm"]), "time_ours_s": t,
                "time_hysupp_s": float(np.median(H[name + "/sivm_t"]))}
            res, t = _timed("SISAL", {}, Y, p, args.runs)
            same = get_method("SISAL")(mm_iters=40, tau=1e-6, mu=1.0, spherize=False).extract(Y, p)
            r["SISAL"] = {"sad_ours_defaults": msad(E, res.endmembers), "sad_ours_hysupp_settings": msad(E, same.endmembers),
                          "sad_hysupp": msad(E, H[name + "/sisal"]), "time_ours_s": t,
                          "time_hysupp_s": float(np.median(H[name + "/sisal_t"])),
                          "note": "ours: sisal.m defaults (80 it, tau 1, mu 1000p/N, spherize, expanded VCA start); "
                                  "HySUPP: 40 it, tau 1e-6, mu 1, no spherize, unexpanded start"}
            Rn = np.diag(estimate_noise(Y)[1])
            r["HySime"] = {"p_ours": hysime(Y).p}
            r["HFC"] = {"p_ours": hfc(Y).p, "p_ours_nwhfc": nwhfc(Y).p,
                        "p_ours_paper_test_only": hfc(Y, noise_free="never").p}
            res_atgp, t = _timed("ATGP", {}, Y, p, args.runs)
            r["ATGP"] = {"sad_ours": msad(E, res_atgp.endmembers), "time_ours_s": t}
            res, t = _timed("NFINDR", {}, Y, p, args.runs)
            r["NFINDR"] = {"sad_ours_seed0": msad(E, res.endmembers), "time_ours_s": t}
            res, t = _timed("PPI", {"n_skewers": 2000}, Y, p, args.runs)
            r["PPI"] = {"sad_ours_2000_skewers": msad(E, res.endmembers), "time_ours_s": t}
            if S is not None:
                r["ATGP"].update({"same_indices_as_pysptools": res_atgp.indices.tolist() == S[name + "/atgp"].tolist(),
                                  "time_pysptools_s": float(np.median(S[name + "/atgp_t"]))})
                mean, R = moments(Y)
                _, U = top_eigvecs(R - np.outer(mean, mean), p - 1)
                X = project(Y, U, mean)
                init = S[name + "/nfindr_init"]
                t0 = time.perf_counter()
                idx = nfindr_indices(X, init.copy(), 3 * p)[0]
                t_ours = time.perf_counter() - t0
                r["NFINDR"].update({"same_pixel_set_as_pysptools_from_same_start":
                                    _pixel_set(Y, idx) == _pixel_set(Y, S[name + "/nfindr"]),
                                    "sad_pysptools": msad(E, Y[:, S[name + "/nfindr"]]),
                                    "time_ours_from_same_start_s": t_ours,
                                    "time_pysptools_s": float(S[name + "/nfindr_t"][0])})
                r["PPI"]["sad_pysptools_2000_skewers"] = msad(E, Y[:, S[name + "/ppi"]])
                nv = S[name + "/noise_var"]
                r["HySime"].update({"p_pysptools": int(S[name + "/hysime"]),
                                    "noise_var_max_abs_diff_rel_to_mean_power":
                                    float(np.abs(Rn - nv).max() / np.mean(Y ** 2))})
                r["HFC"]["p_pysptools_HfcVd"] = int(S[name + "/hfc"][0])
            record["results"][name] = r
            print(name, json.dumps(r, default=float))
    record["uptime_after"] = uptime()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2, default=float) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
