"""Metrics: plain functions with declared conventions (DESIGN §4).

Unmixing metrics (:mod:`hysupp.metrics.unmixing`) follow HySUPP's conventions by default (aRMSE
and eRMSE scaled by 100 and computed over all entries; SAD in degrees averaged over endmembers;
SRE in dB over the whole matrix; library-based SRE on the true atoms' rows). Permutation matching
lives in :mod:`hysupp.metrics.alignment`. :func:`evaluate_unmixing` combines them into one
JSON-serialisable record.

Example
-------
>>> import numpy as np
>>> from hysupp.metrics import evaluate_unmixing
>>> E = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
>>> A = np.array([[0.2, 0.7, 1.0], [0.8, 0.3, 0.0]])
>>> rec = evaluate_unmixing(E_true=E, A_true=A, E_est=E[:, ::-1], A_est=A[::-1])
>>> rec["alignment"]["permutation"], rec["sad_mean_deg"], rec["armse"], rec["sre_db"]
([1, 0], 0.0, 0.0, inf)
"""

from __future__ import annotations

from typing import Any, Literal, Sequence

import numpy as np

from hysupp.errors import InputError, ParameterError
from hysupp.metrics.alignment import Alignment, align, alignment_cost_matrix
from hysupp.metrics.unmixing import (
    HYSUPP_RMSE_SCALE,
    armse,
    as_abundance_matrix,
    as_endmember_matrix,
    embed_library_abundances,
    ermse,
    library_sre,
    reconstruction_rmse,
    sad,
    sad_matrix,
    sre,
)
from hysupp.metrics.fusion import FUSION_CONVENTIONS, TOOLBOX_DIM_CUT, evaluate_fusion
from hysupp.metrics.unmixing import library_truth

__all__ = ["Alignment", "align", "alignment_cost_matrix", "armse", "embed_library_abundances",
           "ermse", "evaluate_unmixing", "library_sre", "reconstruction_rmse", "sad", "sad_matrix",
           "sre", "UNMIXING_CONVENTIONS", "FUSION_CONVENTIONS", "TOOLBOX_DIM_CUT", "evaluate_fusion"]

#: The conventions :func:`evaluate_unmixing` uses, recorded in every result.
UNMIXING_CONVENTIONS: dict[str, Any] = {
    "sre_db": "dB, 10*log10(||A||_F^2 / ||A - A_est||_F^2) over the whole (p, N) matrix",
    "armse": "100 * sqrt(mean((A - A_est)^2)) over all p*N entries (HySUPP)",
    "ermse": "100 * sqrt(mean((E - E_est)^2)) over all L*p entries, no normalisation (HySUPP)",
    "sad_mean_deg": "degrees per endmember; overall value = mean over endmembers (HySUPP)",
    "reconstruction_rmse": "sqrt(mean((Y - E_est A_est)^2)) in the units of Y",
    "per_endmember": "lists in the true endmember order; None where a true endmember is unmatched",
    "library": "sre_db/armse on the true atoms' rows A_est[index] (HySUPP); *_full* on all M rows "
               "against the truth embedded with zeros",
    "rmse_scale": HYSUPP_RMSE_SCALE,
}


def _opt(x: Any, kind: str, name: str) -> np.ndarray | None:
    if x is None:
        return None
    if kind == "E":
        return as_endmember_matrix(x, name)
    if kind == "A":
        return as_abundance_matrix(x, name)
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 3:
        arr = arr.reshape(arr.shape[0], -1)
    if arr.ndim != 2:
        raise InputError(f"{name} must have shape (L, N) or (L, H, W); got shape {np.shape(x)}")
    return arr


def _place(values: np.ndarray, positions: np.ndarray, n: int) -> list[float | None]:
    out: list[float | None] = [None] * n
    for pos, v in zip(positions.tolist(), np.asarray(values, dtype=np.float64).tolist()):
        out[pos] = float(v)
    return out


def _check_shapes(Y: np.ndarray | None, E_true: np.ndarray | None, A_true: np.ndarray | None,
                  E_est: np.ndarray | None, A_est: np.ndarray | None) -> None:
    bands = [(n, a.shape[0]) for n, a in (("Y", Y), ("E_true", E_true), ("E_est", E_est)) if a is not None]
    if len({b for _, b in bands}) > 1:
        raise InputError("band counts differ: " + ", ".join(f"{n} has {b} bands" for n, b in bands))
    pixels = [(n, a.shape[1]) for n, a in (("Y", Y), ("A_true", A_true), ("A_est", A_est)) if a is not None]
    if len({b for _, b in pixels}) > 1:
        raise InputError("pixel counts differ: " + ", ".join(f"{n} has {b} pixels" for n, b in pixels))
    if E_true is not None and A_true is not None and E_true.shape[1] != A_true.shape[0]:
        raise InputError(f"E_true has {E_true.shape[1]} endmembers (columns) but A_true has "
                         f"{A_true.shape[0]} rows; got E_true {E_true.shape}, A_true {A_true.shape}")
    if E_est is not None and A_est is not None and E_est.shape[1] != A_est.shape[0]:
        raise InputError(f"E_est has {E_est.shape[1]} columns but A_est has {A_est.shape[0]} rows; "
                         f"got E_est {E_est.shape}, A_est {A_est.shape}")


def evaluate_unmixing(*, Y: Any = None, E_true: Any = None, A_true: Any = None, E_est: Any = None,
                      A_est: Any = None, align_by: Literal["sad", "abundances"] | None = "sad",
                      library_index: Sequence[int] | np.ndarray | None = None) -> dict[str, Any]:
    """Compute every unmixing metric that the given truth allows, after aligning the estimate.

    Parameters
    ----------
    Y : array_like, shape (L, N) or (L, H, W), optional
        The image that was unmixed; with ``E_est`` and ``A_est`` gives ``reconstruction_rmse``.
    E_true, A_true : array_like, optional
        True endmembers ``(L, p)`` and abundances ``(p, N)`` / ``(p, H, W)``.
    E_est, A_est : array_like, optional
        Estimated endmembers ``(L, p_est)`` and abundances ``(p_est, N)``. For a library-based
        estimate (``library_index`` given), ``A_est`` holds the ``(M, N)`` library coefficients and
        ``E_est`` (optional) the ``(L, M)`` library, used only for the reconstruction error.
    align_by : {"sad", "abundances", None}, default "sad"
        Matching criterion (see :func:`align`). HySUPP aligns by ``"abundances"``. When the arrays
        for the requested criterion are missing but those for the other one are present, the other
        one is used and the record says so (``alignment["requested"]``). ``None``: the estimate is
        already in the true order (then ``p_est`` must equal ``p``).
    library_index : sequence of int, optional
        Library columns of the true endmembers. Marks the estimate as library-based: no alignment;
        ``sre_db``/``armse`` follow HySUPP (rows ``A_est[index]``), ``sre_full_db``/``armse_full`` use
        all ``M`` rows against the truth embedded with zeros.

    Returns
    -------
    dict
        JSON-serialisable (floats, lists, strings, ``None``; ``inf``/``nan`` stay floats, which
        ``json.dumps`` writes as ``Infinity``/``NaN``). Keys, present when the inputs allow them
        (units in the name where there are any):

        - abundances: ``sre_db``, ``armse``, ``armse_per_endmember``;
        - endmembers: ``sad_mean_deg``, ``sad_per_endmember_deg``, ``ermse``,
          ``ermse_per_endmember``;
        - ``reconstruction_rmse`` (needs ``Y``, ``E_est``, ``A_est``);
        - library only: ``sre_full_db``, ``armse_full``;
        - ``alignment`` (dict or ``None``) and ``conventions`` (the definitions used).
 With a partial match (``p_est < p``) the overall values cover the matched
        endmembers only and ``alignment["unmatched_true"]`` lists the others.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.5, 1.0], [0.5, 0.0]])
    >>> X_hat = np.array([[0.0, 0.0], [0.5, 1.0], [0.5, 0.0]])   # library of 3, truth = atoms 1, 2
    >>> rec = evaluate_unmixing(A_true=A, A_est=X_hat, library_index=[1, 2])
    >>> rec["sre_db"], rec["alignment"]["criterion"]
    (inf, 'library_index')
    """
    if align_by not in ("sad", "abundances", None):
        raise ParameterError(f"align_by must be 'sad', 'abundances' or None; got {align_by!r}")
    Ym = _opt(Y, "Y", "Y")
    Et = _opt(E_true, "E", "E_true")
    At = _opt(A_true, "A", "A_true")
    Ee = _opt(E_est, "E", "E_est")
    Ae = _opt(A_est, "A", "A_est")
    _check_shapes(Ym, Et, At, Ee, Ae)

    out: dict[str, Any] = {}

    if library_index is not None:
        if At is not None and Ae is not None:
            truth_idx, truth_full, idx = library_truth(At, Ae, library_index)
            out["sre_db"] = sre(truth_idx, Ae[idx])
            out["sre_full_db"] = sre(truth_full, Ae)
            out["armse"] = float(armse(truth_idx, Ae[idx]))
            out["armse_per_endmember"] = [float(v) for v in armse(truth_idx, Ae[idx], average=None)]
            out["armse_full"] = float(armse(truth_full, Ae))
        out["alignment"] = {"criterion": "library_index",
                            "permutation": [int(i) for i in np.asarray(library_index).ravel()]}
    else:
        has_E = Et is not None and Ee is not None
        has_A = At is not None and Ae is not None
        criterion = align_by
        if criterion == "sad" and not has_E and has_A:
            criterion = "abundances"
        elif criterion == "abundances" and not has_A and has_E:
            criterion = "sad"
        if (criterion == "sad" and not has_E) or (criterion == "abundances" and not has_A):
            criterion = None  # nothing to compare with
        al: Alignment | None = None
        if criterion is not None:
            al = align(Et, Ee, At, Ae, by=criterion)
            out["alignment"] = al.to_dict()
            if criterion != align_by:
                out["alignment"]["requested"] = align_by
        else:
            out["alignment"] = None
            for t, e, tn, en, ax in ((Et, Ee, "E_true", "E_est", 1), (At, Ae, "A_true", "A_est", 0)):
                if t is not None and e is not None and t.shape[ax] != e.shape[ax]:
                    raise InputError(f"without alignment {tn} and {en} need the same number of "
                                     f"endmembers; got {tn} {t.shape}, {en} {e.shape}")

        if has_A:
            if al is not None:
                a_t, a_e, pos, n = (al.select_true_abundances(At), al.apply_abundances(Ae),
                                    al.true_index, al.n_true)
            else:
                a_t, a_e, pos, n = At, Ae, np.arange(At.shape[0]), At.shape[0]
            out["sre_db"] = sre(a_t, a_e)
            out["armse"] = float(armse(a_t, a_e))
            out["armse_per_endmember"] = _place(armse(a_t, a_e, average=None), pos, n)
        if has_E:
            if al is not None:
                e_t, e_e, pos, n = (al.select_true_endmembers(Et), al.apply_endmembers(Ee),
                                    al.true_index, al.n_true)
            else:
                e_t, e_e, pos, n = Et, Ee, np.arange(Et.shape[1]), Et.shape[1]
            per = sad(e_t, e_e)
            out["sad_mean_deg"] = float(np.mean(per))
            out["sad_per_endmember_deg"] = _place(per, pos, n)
            out["ermse"] = float(ermse(e_t, e_e))
            out["ermse_per_endmember"] = _place(ermse(e_t, e_e, average=None), pos, n)

    if Ym is not None and Ee is not None and Ae is not None:
        out["reconstruction_rmse"] = reconstruction_rmse(Ym, Ee, Ae)
    out["conventions"] = dict(UNMIXING_CONVENTIONS)
    return out
