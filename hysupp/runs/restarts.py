r"""Restarts of stochastic unmixing runs: ``hysupp.unmix(..., restarts=K)`` / ``seeds=[...]``.

A method with a random step (:attr:`hysupp.methods.base.Method.stochastic`: VCA's directions,
N-FINDR's start, EDAA's restarts, the networks' weights...) gives one draw of its result per seed.
One seed is not a result: :func:`unmix_restarts` runs the same unmixing with the seeds
``seed, seed + 1, ..., seed + K - 1`` (or the given ``seeds``) and keeps the run whose
linear-mixing reconstruction fits the pixels best,

.. math:: \mathrm{RE}(s) = \sqrt{\frac{1}{L N} \sum_{l, n} \big(Y - E_s A_s\big)_{ln}^2},

over the ``N`` valid pixels the method saw (after any AWGN, which is drawn once, with the run's
``seed``, and is the same for every restart), with each run's own estimates: a blind method's
endmembers and abundances, an extractor's endmembers with their FCLS abundances, a library
method's library and coefficients. The criterion needs no ground truth, so it is the choice a user
without truth makes; ties keep the earlier seed. The truth metrics of every restart (when the
scene has truth) are recorded beside it, never used to choose.

The kept run's ``info["restarts"]`` (also in its record, ``run.record["info"]["restarts"]``)
holds the criterion, the noise seed, the kept seed and, for every restart, its seed,
reconstruction RMSE, wall time and metrics. A run whose method has no random step (``stochastic``
false: FCLS with known endmembers, SiVM, SUnSAL...) runs once, with a
:class:`~hysupp.errors.HysuppWarning`, since every seed would give the same result.

Example
-------
>>> import warnings
>>> import hysupp
>>> from hysupp.datasets import builtin_scene
>>> run = hysupp.unmix(builtin_scene("dc1"), "VCA", restarts=3)
>>> r = run.info["restarts"]
>>> r["seeds"], r["kept_seed"] in r["seeds"], len(r["runs"])
([0, 1, 2], True, 3)
>>> min(x["reconstruction_rmse"] for x in r["runs"]) == r["runs"][r["seeds"].index(r["kept_seed"])]["reconstruction_rmse"]
True
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hysupp.errors import HysuppWarning, InputError
from hysupp.metrics.unmixing import reconstruction_rmse

__all__ = ["CRITERION", "restart_seeds", "run_is_stochastic", "run_rmse", "unmix_restarts"]

#: The selection criterion, as recorded.
CRITERION = ("smallest reconstruction RMSE sqrt(mean((Y - E A)^2)) over the valid pixels, with each run's own "
             "endmembers and abundances (extractors: FCLS abundances; library methods: library and coefficients)")


def restart_seeds(seed: int = 0, restarts: int = 1, seeds: Sequence[int] | None = None) -> list[int]:
    """The seeds of a run with restarts: ``seeds`` as given (distinct integers), else
    ``seed, seed + 1, ..., seed + restarts - 1``.

    >>> restart_seeds(5, 3), restart_seeds(seeds=[7, 1])
    ([5, 6, 7], [7, 1])
    """
    if seeds is not None:
        out = list(seeds)
        if not out or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in out):
            raise InputError(f"seeds must be a non-empty list of integers, got {seeds!r}")
        if len(set(out)) != len(out):
            raise InputError(f"seeds must be distinct, got {out!r} (a repeated seed repeats the same draw)")
        return [int(s) for s in out]
    if isinstance(restarts, bool) or not isinstance(restarts, (int, np.integer)) or restarts < 1:
        raise InputError(f"restarts must be an integer >= 1, got {restarts!r}")
    return [int(seed) + k for k in range(int(restarts))]


def run_is_stochastic(method: str, *, params: dict[str, Any] | None = None, extractor: str = "VCA",
                      extractor_params: dict[str, Any] | None = None, endmembers: Any = None) -> bool:
    """Whether :func:`hysupp.unmix` with these arguments has a random step: the method's own, or,
    for a supervised method without known endmembers, its extractor's (the method's and
    extractor's :meth:`~hysupp.methods.base.Method.is_stochastic` with the given parameters)."""
    from hysupp.methods.registry import get_method

    cls = get_method(method)
    if cls(**(params or {})).is_stochastic():
        return True
    if cls.task == "supervised" and endmembers is None:
        return get_method(extractor, "extractor")(**(extractor_params or {})).is_stochastic()
    return False


def run_rmse(run: Any) -> float:
    """Reconstruction RMSE of an :class:`~hysupp.runs.unmix.UnmixingRun` over its valid pixels:
    ``E A`` with the run's endmembers and abundances, or the library and the library abundances of a
    library-based run (the pixels are those the method saw, noise included)."""
    scene = run.scene
    valid = np.ones(scene.n_pixels, bool) if scene.mask is None else scene.mask.ravel()
    Y = scene.pixels()[:, valid]
    if run.library_abundances is not None:
        E, A = scene.library, run.library_abundances.reshape(run.library_abundances.shape[0], -1)[:, valid]
    else:
        E, A = run.endmembers, run.abundances.reshape(run.abundances.shape[0], -1)[:, valid]
    return reconstruction_rmse(Y, E, A)


def unmix_restarts(unmix: Callable[..., Any], call: dict[str, Any], *, restarts: int = 1,
                   seeds: Sequence[int] | None = None) -> Any:
    """Run ``unmix(**call)`` once per restart seed and return the best run (module docstring).

    ``unmix`` is :func:`hysupp.runs.unmix.unmix` (passed in, so this module does not import it) and
    ``call`` its keyword arguments; each restart gets ``seed=s`` and ``noise_seed=call["seed"]``
    (the noise stays that of the run's seed).
    """
    base = int(call.get("seed", 0))
    chosen = restart_seeds(base, restarts, seeds)
    stochastic = run_is_stochastic(call["method"], params=call.get("params"), extractor=call.get("extractor", "VCA"),
                                   extractor_params=call.get("extractor_params"), endmembers=call.get("endmembers"))
    noise_seed = call.get("noise_seed")
    noise_seed = base if noise_seed is None else int(noise_seed)
    if not stochastic and len(chosen) > 1:
        warnings.warn(f"{call['method']}: this run has no random step (the method is not stochastic), so every "
                      f"seed gives the same result; running it once with seed {chosen[0]} instead of "
                      f"{len(chosen)} restarts", HysuppWarning, stacklevel=3)
        chosen = chosen[:1]
    best, best_rmse, table = None, np.inf, []
    for s in chosen:
        t0 = time.perf_counter()
        run = unmix(**{**call, "seed": s, "noise_seed": noise_seed, "restarts": 1, "seeds": None})
        wall = time.perf_counter() - t0
        rmse = run_rmse(run)
        entry: dict[str, Any] = {"seed": s, "reconstruction_rmse": rmse, "wall_s": wall}
        if run.metrics is not None:
            entry["metrics"] = {k: v for k, v in run.metrics.items()
                                if isinstance(v, (int, float)) and not isinstance(v, bool)}
        table.append(entry)
        if rmse < best_rmse or best is None:
            best, best_rmse = run, rmse
    kept = int(best.record["protocol"]["seed"])
    summary = {"criterion": CRITERION, "stochastic": stochastic, "seeds": [e["seed"] for e in table],
               "noise_seed": noise_seed if call.get("snr") is not None else None, "kept_seed": kept,
               "runs": table}
    best.info["restarts"] = summary
    best.record.setdefault("info", {})["restarts"] = summary
    return best
