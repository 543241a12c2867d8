"""Unmixing metrics: SRE, aRMSE, eRMSE, SAD, reconstruction error (DESIGN §4).

Conventions
-----------
* Abundances are ``(p, N)``; ``(p, H, W)`` is accepted and flattened row-major to ``(p, H*W)``.
  Endmembers are ``(L, p)`` (one spectrum per column); a 1-D array is one spectrum ``(L, 1)``.
* The first argument is always the truth, the second the estimate. Both must already be in the
  same endmember order: see :func:`hysupp.metrics.align` for permutation matching.
* Every computation is done in float64 whatever the input dtype.
* Defaults reproduce HySUPP (BehnoodRasti/HySUPP at cb7d633, ``src/utils/metrics.py``) so our
  numbers are comparable with theirs:

  - SRE in dB on the whole matrix: ``20 log10(||A||_F / ||A - Â||_F)``
    (identical to ``10 log10`` of the squared ratio used here).
  - aRMSE and eRMSE are **scaled by 100** and computed **globally** (RMSE over all entries of the
    matrix, not a mean of per-endmember RMSEs). HySUPP also logs per-endmember values (rows of
    ``A``, columns of ``E``) with the same formula; ``average=None`` gives those.
  - SAD in degrees per endmember (column), and their arithmetic mean as the overall value.

* Non-finite inputs are not rejected: NaN propagates into the result so that a failed estimate
  shows up as NaN in a benchmark record instead of stopping the run.

Example
-------
>>> import numpy as np
>>> from hysupp.metrics import sre, armse, sad
>>> A = np.array([[0.5, 1.0], [0.5, 0.0]])
>>> A_hat = np.array([[0.6, 1.0], [0.4, 0.0]])
>>> round(sre(A, A_hat), 4)      # 10 log10(1.5 / 0.02)
18.7506
>>> round(armse(A, A_hat), 4)    # 100 * sqrt(0.02 / 4)
7.0711
>>> sad(np.array([[1.0], [0.0]]), np.array([[1.0], [1.0]]), reduce="mean")
45.0
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

from hysupp.errors import InputError, ParameterError

__all__ = ["sre", "armse", "ermse", "sad", "sad_matrix", "reconstruction_rmse", "library_sre",
           "embed_library_abundances", "library_truth", "as_abundance_matrix", "as_endmember_matrix",
           "degenerate_endmembers", "flag_degenerate_endmembers"]

#: Scale factor HySUPP applies to aRMSE and eRMSE (results are "in percent").
HYSUPP_RMSE_SCALE = 100.0

Average = Literal["global", "endmember"] | None


# ---------------------------------------------------------------------------- input helpers
def _as_float_array(x: object, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise InputError(f"{name} could not be converted to an array: {exc}") from exc
    if np.iscomplexobj(arr):
        raise InputError(f"{name} must be real-valued, got dtype {arr.dtype}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise InputError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def as_abundance_matrix(A: object, name: str = "A") -> np.ndarray:
    """Return abundances as a float64 ``(p, N)`` matrix.

    Parameters
    ----------
    A : array_like, shape (p, N) or (p, H, W)
        Abundance matrix or maps; maps are flattened row-major (``A.reshape(p, H*W)``).
    name : str
        Name used in error messages.

    Raises
    ------
    InputError
        If ``A`` is not 2-D or 3-D, or is empty.

    Examples
    --------
    >>> import numpy as np
    >>> as_abundance_matrix(np.zeros((3, 2, 5))).shape
    (3, 10)
    """
    arr = _as_float_array(A, name)
    if arr.ndim == 3:
        arr = arr.reshape(arr.shape[0], -1)
    elif arr.ndim != 2:
        raise InputError(f"{name} must have shape (p, N) or (p, H, W); got shape {np.shape(A)}")
    if arr.size == 0:
        raise InputError(f"{name} is empty (shape {np.shape(A)})")
    return arr


def as_endmember_matrix(E: object, name: str = "E") -> np.ndarray:
    """Return endmembers as a float64 ``(L, p)`` matrix (a 1-D spectrum becomes ``(L, 1)``).

    Examples
    --------
    >>> as_endmember_matrix([1.0, 2.0, 3.0]).shape
    (3, 1)
    """
    arr = _as_float_array(E, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim != 2:
        raise InputError(f"{name} must have shape (L, p) (one spectrum per column); "
                         f"got shape {np.shape(E)}")
    if arr.size == 0:
        raise InputError(f"{name} is empty (shape {np.shape(E)})")
    return arr


def _same_shape(x: np.ndarray, y: np.ndarray, xname: str, yname: str, layout: str) -> None:
    if x.shape != y.shape:
        raise InputError(f"{xname} and {yname} must have the same shape {layout}; "
                         f"got {xname} {x.shape} and {yname} {y.shape}")


def _reduce_rms(sq_err: np.ndarray, axis: int, scale: float, average: Average) -> float | np.ndarray:
    """RMSE of a squared-error matrix: global, mean of per-slice RMSEs, or per slice."""
    if average == "global":
        return float(scale * np.sqrt(sq_err.mean()))
    per = scale * np.sqrt(sq_err.mean(axis=axis))
    if average is None:
        return per
    if average == "endmember":
        return float(per.mean())
    raise ParameterError(f"average must be 'global', 'endmember' or None; got {average!r}")


# ---------------------------------------------------------------------------- abundance metrics
def sre(A_true: object, A_est: object) -> float:
    r"""Signal-to-reconstruction error of an abundance estimate, in dB.

    .. math:: \mathrm{SRE} = 10 \log_{10} \frac{\|A\|_F^2}{\|A - \hat A\|_F^2}

    computed over the whole matrix (HySUPP writes the equivalent
    ``20 log10(||A||_F / ||A - Â||_F)``). Higher is better.

    Parameters
    ----------
    A_true, A_est : array_like, shape (p, N) or (p, H, W)
        True and estimated abundances, same shape, same endmember order.

    Returns
    -------
    float
        SRE in dB; ``inf`` when the estimate is exact (including both all-zero), ``-inf`` when
        ``A_true`` is all zero and the estimate is not.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> round(sre(A, 0.9 * A), 4)    # ||A||^2 = 2, ||A - Â||^2 = 2 * 0.01 -> 10 log10(100)
    20.0
    >>> sre(A, A)
    inf
    """
    At = as_abundance_matrix(A_true, "A_true")
    Ae = as_abundance_matrix(A_est, "A_est")
    _same_shape(At, Ae, "A_true", "A_est", "(p, N)")
    signal = float(np.sum(At * At))
    error = float(np.sum((At - Ae) ** 2))
    if error == 0.0:
        return float("inf")
    if signal == 0.0:
        return float("-inf")
    return float(10.0 * np.log10(signal / error))


def armse(A_true: object, A_est: object, *, scale: float = HYSUPP_RMSE_SCALE,
          average: Average = "global") -> float | np.ndarray:
    r"""Abundance root-mean-square error (HySUPP's aRMSE: scaled by 100, global by default).

    .. math::
        \mathrm{aRMSE} = s \sqrt{\frac{1}{pN} \sum_{i=1}^{p} \sum_{n=1}^{N}
                                 (a_{in} - \hat a_{in})^2},\qquad s = 100

    Parameters
    ----------
    A_true, A_est : array_like, shape (p, N) or (p, H, W)
        True and estimated abundances, same shape and endmember order.
    scale : float, default 100
        Multiplier ``s``. HySUPP reports ``100 * RMSE`` (abundances in percent); use ``1.0`` for
        the plain RMSE in abundance units.
    average : {"global", "endmember", None}, default "global"
        ``"global"``: RMSE over all ``p*N`` entries (HySUPP's overall value).
        ``"endmember"``: mean over endmembers of the per-endmember RMSEs
        ``s sqrt(mean_n (a_in - â_in)^2)``.
        ``None``: the per-endmember RMSEs as an array of shape ``(p,)`` (HySUPP's per-label values).

    Returns
    -------
    float or ndarray of shape (p,)

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.5, 0.5], [0.5, 0.5]])
    >>> A_hat = np.array([[0.5, 0.5], [0.3, 0.7]])
    >>> float(armse(A, A_hat))                      # 100 * sqrt((0.04 + 0.04) / 4)
    14.142135623730951
    >>> armse(A, A_hat, average=None).round(4)      # rows: 0 and 100 * sqrt(0.08 / 2)
    array([ 0., 20.])
    >>> round(armse(A, A_hat, average="endmember"), 6)
    10.0
    """
    At = as_abundance_matrix(A_true, "A_true")
    Ae = as_abundance_matrix(A_est, "A_est")
    _same_shape(At, Ae, "A_true", "A_est", "(p, N)")
    return _reduce_rms((At - Ae) ** 2, axis=1, scale=scale, average=average)


# ---------------------------------------------------------------------------- endmember metrics
def ermse(E_true: object, E_est: object, *, scale: float = HYSUPP_RMSE_SCALE,
          average: Average = "global") -> float | np.ndarray:
    r"""Endmember root-mean-square error (HySUPP's eRMSE: scaled by 100, global by default).

    .. math::
        \mathrm{eRMSE} = s \sqrt{\frac{1}{Lp} \sum_{l=1}^{L} \sum_{j=1}^{p}
                                 (e_{lj} - \hat e_{lj})^2},\qquad s = 100

    No normalisation of the spectra is applied (as in HySUPP): the value is in the units of the
    spectra (times ``scale``), so it is sensitive to scaling, unlike :func:`sad`.

    Parameters
    ----------
    E_true, E_est : array_like, shape (L, p)
        True and estimated endmembers (one per column), same order.
    scale : float, default 100
        Multiplier ``s`` (HySUPP's 100); ``1.0`` gives the plain RMSE.
    average : {"global", "endmember", None}, default "global"
        ``"global"``: RMSE over all ``L*p`` entries (HySUPP's overall value); ``"endmember"``:
        mean of per-endmember (per-column) RMSEs; ``None``: per-endmember array of shape ``(p,)``.

    Examples
    --------
    >>> import numpy as np
    >>> E = np.array([[0.2, 0.4], [0.2, 0.4]])
    >>> E_hat = np.array([[0.2, 0.5], [0.2, 0.3]])
    >>> round(float(ermse(E, E_hat)), 6)             # 100 * sqrt((0.01 + 0.01) / 4)
    7.071068
    >>> ermse(E, E_hat, average=None, scale=1.0).round(3)
    array([0. , 0.1])
    """
    Et = as_endmember_matrix(E_true, "E_true")
    Ee = as_endmember_matrix(E_est, "E_est")
    _same_shape(Et, Ee, "E_true", "E_est", "(L, p)")
    return _reduce_rms((Et - Ee) ** 2, axis=0, scale=scale, average=average)


def _unit_columns(E: np.ndarray) -> np.ndarray:
    """Columns scaled to unit Euclidean norm; all-zero columns become NaN (angle undefined)."""
    norms = np.linalg.norm(E, axis=0)
    out = np.full_like(E, np.nan)
    ok = norms > 0
    out[:, ok] = E[:, ok] / norms[ok]
    return out


def _angle_deg(U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Angle in degrees between unit vectors along axis 0 (broadcast over the other axes).

    Uses ``2 atan2(||u - v||, ||u + v||)``, which is accurate for small and near-180° angles where
    ``arccos(u·v)`` loses half the digits.
    """
    diff = np.linalg.norm(U - V, axis=0)
    summ = np.linalg.norm(U + V, axis=0)
    return np.degrees(2.0 * np.arctan2(diff, summ))


def sad(E_true: object, E_est: object, *,
        reduce: Literal["mean"] | None = None) -> np.ndarray | float:
    r"""Spectral angle distance between matching endmembers, in degrees.

    .. math::
        \mathrm{SAD}_j = \arccos \frac{\langle e_j, \hat e_j\rangle}{\|e_j\|_2\,\|\hat e_j\|_2}
        \cdot \frac{180}{\pi},\qquad
        \mathrm{SAD} = \frac{1}{p}\sum_{j=1}^{p} \mathrm{SAD}_j

    Evaluated as ``2 atan2(||u - v||, ||u + v||)`` on the unit-norm columns ``u, v`` (the same
    angle, without ``arccos``'s rounding floor of about 1e-6 degrees near 0). Invariant to positive
    scaling of either spectrum. HySUPP's overall "SAD" is the mean over endmembers
    (``reduce="mean"``).

    Parameters
    ----------
    E_true, E_est : array_like, shape (L, p) or (L,)
        True and estimated endmembers (one per column), same order.
    reduce : {None, "mean"}, default None
        ``None``: per-endmember angles, shape ``(p,)``; ``"mean"``: their mean (a float).

    Returns
    -------
    ndarray of shape (p,) or float
        Angles in degrees, in ``[0, 180]``. An all-zero column gives NaN (the angle is undefined),
        and so does the mean.

    Examples
    --------
    >>> import numpy as np
    >>> E = np.array([[1.0, 1.0], [0.0, 0.0]])
    >>> E_hat = np.array([[1.0, 0.0], [1.0, 5.0]])
    >>> sad(E, E_hat).round(6)                # 45° and 90°
    array([45., 90.])
    >>> float(sad(E, E_hat, reduce="mean"))
    67.5
    """
    Et = as_endmember_matrix(E_true, "E_true")
    Ee = as_endmember_matrix(E_est, "E_est")
    _same_shape(Et, Ee, "E_true", "E_est", "(L, p)")
    angles = _angle_deg(_unit_columns(Et), _unit_columns(Ee))
    if reduce is None:
        return angles
    if reduce == "mean":
        return float(angles.mean())
    raise ParameterError(f"reduce must be None or 'mean'; got {reduce!r}")


def sad_matrix(E_true: object, E_est: object) -> np.ndarray:
    """Spectral angles (degrees) between every true and every estimated endmember.

    Parameters
    ----------
    E_true : array_like, shape (L, p_true)
    E_est : array_like, shape (L, p_est)

    Returns
    -------
    ndarray, shape (p_true, p_est)
        ``out[i, j]`` = SAD between ``E_true[:, i]`` and ``E_est[:, j]`` (NaN for an all-zero column).

    Examples
    --------
    >>> import numpy as np
    >>> sad_matrix(np.eye(2), np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])).round(6)
    array([[90.,  0., 45.],
           [ 0., 90., 45.]])
    """
    Et = as_endmember_matrix(E_true, "E_true")
    Ee = as_endmember_matrix(E_est, "E_est")
    if Et.shape[0] != Ee.shape[0]:
        raise InputError(f"E_true and E_est must have the same number of bands (rows); "
                         f"got E_true {Et.shape} and E_est {Ee.shape}")
    U = _unit_columns(Et)[:, :, None]   # (L, p_true, 1)
    V = _unit_columns(Ee)[:, None, :]   # (L, 1, p_est)
    return _angle_deg(U, V)


# ---------------------------------------------------------------------------- reconstruction
def reconstruction_rmse(Y: object, E: object, A: object) -> float:
    r"""Root-mean-square error of the linear-mixing reconstruction ``E A`` of the image ``Y``.

    .. math:: \mathrm{RE} = \sqrt{\frac{1}{LN} \sum_{l,n} \big(Y - E A\big)_{ln}^2}

    In the units of ``Y`` (no scaling). Measures model fit, not accuracy: it needs no ground truth.

    Parameters
    ----------
    Y : array_like, shape (L, N) or (L, H, W)
        Image (pixel matrix or cube, flattened row-major).
    E : array_like, shape (L, p)
        Endmembers (or the library ``(L, M)`` for library coefficients).
    A : array_like, shape (p, N) or (p, H, W)
        Abundances (or library coefficients ``(M, N)``).

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> E = np.eye(2)
    >>> A = np.array([[1.0, 2.0], [3.0, 2.0]])   # only one entry off, by 2
    >>> reconstruction_rmse(Y, E, A)             # sqrt(4 / 4)
    1.0
    """
    Ym = _as_float_array(Y, "Y")
    if Ym.ndim == 3:
        Ym = Ym.reshape(Ym.shape[0], -1)
    elif Ym.ndim != 2:
        raise InputError(f"Y must have shape (L, N) or (L, H, W); got shape {np.shape(Y)}")
    Em = as_endmember_matrix(E, "E")
    Am = as_abundance_matrix(A, "A")
    if Em.shape[0] != Ym.shape[0]:
        raise InputError(f"E has {Em.shape[0]} bands but Y has {Ym.shape[0]}; "
                         f"got Y {np.shape(Y)}, E {np.shape(E)}")
    if Em.shape[1] != Am.shape[0]:
        raise InputError(f"E has {Em.shape[1]} columns but A has {Am.shape[0]} rows; "
                         f"got E {np.shape(E)}, A {np.shape(A)}")
    if Am.shape[1] != Ym.shape[1]:
        raise InputError(f"A has {Am.shape[1]} pixels but Y has {Ym.shape[1]}; "
                         f"got Y {np.shape(Y)}, A {np.shape(A)}")
    return float(np.sqrt(np.mean((Ym - Em @ Am) ** 2)))


# ---------------------------------------------------------------------------- library-based
def _check_index(index: object, M: int) -> np.ndarray:
    idx = np.asarray(index)
    if idx.ndim != 1:
        raise InputError(f"index must be a 1-D sequence of library columns; got shape {idx.shape}")
    if idx.size == 0:
        raise InputError("index is empty: a library-based evaluation needs the true atoms' columns")
    integral = idx.dtype.kind in "iu" or (
        idx.dtype.kind == "f" and bool(np.all(np.isfinite(idx))) and bool(np.all(idx == np.round(idx))))
    if not integral:
        raise InputError(f"index must hold integer library columns; got {idx.tolist()!r}")
    idx = idx.astype(np.int64)
    if idx.min() < 0 or idx.max() >= M:
        raise InputError(f"index values must lie in [0, {M - 1}] (the library has {M} atoms); "
                         f"got {idx.tolist()}")
    if np.unique(idx).size != idx.size:
        raise InputError(f"index has repeated library columns: {idx.tolist()}")
    return idx


def embed_library_abundances(A_true: object, index: Sequence[int] | np.ndarray, M: int) -> np.ndarray:
    """Place true abundances ``(p, N)`` on the rows ``index`` of an ``(M, N)`` zero matrix.

    This is the true library-coefficient matrix: atom ``index[i]`` has abundance ``A_true[i]`` and
    every other atom zero.

    Examples
    --------
    >>> import numpy as np
    >>> embed_library_abundances(np.array([[1.0, 0.0], [0.0, 1.0]]), [2, 0], M=3)
    array([[0., 1.],
           [0., 0.],
           [1., 0.]])
    """
    At = as_abundance_matrix(A_true, "A_true")
    idx = _check_index(index, M)
    if idx.size != At.shape[0]:
        raise InputError(f"index has {idx.size} entries but A_true has {At.shape[0]} rows; "
                         f"got A_true {np.shape(A_true)}, index {idx.tolist()}")
    full = np.zeros((M, At.shape[1]))
    full[idx] = At
    return full


def library_truth(A_true: object, A_est: np.ndarray, idx_obj: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The truth of a library-based estimate: ``(A_true on the index rows (p, N), A_true over the
    whole library (M, N), index)``.

    ``A_true`` may have ``p = len(index)`` rows (the true endmembers, in ``index`` order) or ``M``
    rows (library order, like ``A_est``); when ``p == M`` and ``index`` is a non-trivial
    permutation both fit and :class:`~hysupp.errors.InputError` asks for the library order.

    >>> import numpy as np
    >>> A_idx, A_full, idx = library_truth(np.ones((1, 3)), np.zeros((4, 3)), [2])
    >>> A_full[:, 0].tolist(), idx.tolist()
    ([0.0, 0.0, 1.0, 0.0], [2])
    """
    M = A_est.shape[0]
    idx = _check_index(idx_obj, M)
    At = as_abundance_matrix(A_true, "A_true")
    p = idx.size
    if At.shape[1] != A_est.shape[1]:
        raise InputError(f"A_true and A_est must have the same number of pixels; "
                         f"got A_true {np.shape(A_true)} and A_est {A_est.shape}")
    if At.shape[0] == p and (p != M or np.array_equal(idx, np.arange(M))):
        A_idx = At
        A_full = embed_library_abundances(At, idx, M)
    elif At.shape[0] == M and p != M:
        A_full = At
        A_idx = At[idx]
    elif At.shape[0] == M:  # p == M and index is a non-trivial permutation: two layouts fit
        raise InputError(
            f"A_true has {M} rows, which equals both the library size and len(index): it is "
            "ambiguous whether its rows follow `index` or the library order; pass A_true[:, ...] "
            "reordered to library order with index=range(M)")
    else:
        raise InputError(f"A_true must have len(index) = {p} rows (true endmembers in index order) "
                         f"or {M} rows (library order, like A_est); got A_true {np.shape(A_true)}")
    return A_idx, A_full, idx


def library_sre(A_true: object, A_est: object, index: Sequence[int] | np.ndarray) -> dict[str, float]:
    r"""SRE of library (semi-supervised) coefficients, in both conventions.

    ``A_est`` holds coefficients for all ``M`` library atoms; ``index`` gives the library columns
    of the true endmembers (0-based, in the order of ``A_true``'s rows).

    * ``"sre_index"`` (HySUPP's convention, ``src/semisupervised.py``): SRE between the true
      abundances and the estimated rows of the true atoms only, ``SRE(A, Â[index])``. Abundance
      spread onto other atoms is not penalised.
    * ``"sre_full"``: SRE over the whole ``(M, N)`` coefficient matrix against the truth embedded
      in it (zeros on every atom not in ``index``), so every misassigned coefficient counts.

    .. math::
        \mathrm{SRE}_{index} = 10\log_{10}\frac{\|A\|_F^2}{\|A - \hat X_{index,:}\|_F^2},\quad
        \mathrm{SRE}_{full} = 10\log_{10}\frac{\|X\|_F^2}{\|X - \hat X\|_F^2}

    with ``X`` the embedded truth (``||X||_F = ||A||_F``).

    Parameters
    ----------
    A_true : array_like, shape (p, N) / (p, H, W), or (M, N) / (M, H, W)
        True abundances with rows in ``index`` order (as in a Scene / HySUPP ``.mat``), or the full
        truth in library order.
    A_est : array_like, shape (M, N) or (M, H, W)
        Estimated library coefficients.
    index : sequence of int, length p
        Library columns of the true endmembers.

    Returns
    -------
    dict
        ``{"sre_index": float, "sre_full": float}`` in dB.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0]])                        # one true atom (library column 1)
    >>> X_hat = np.array([[0.0, 0.1], [1.0, 0.0], [0.0, 0.0]])
    >>> library_sre(A, X_hat, [1])                        # exact on the true row, 0.1 elsewhere
    {'sre_index': inf, 'sre_full': 20.0}
    """
    Ae = as_abundance_matrix(A_est, "A_est")
    A_idx, A_full, idx = library_truth(A_true, Ae, index)
    return {"sre_index": sre(A_idx, Ae[idx]), "sre_full": sre(A_full, Ae)}


# ---------------------------------------------------------------------------- degenerate results
#: relative size (of the data's peak absolute value) below which an endmember counts as all-zero
DEGENERATE_ZERO_RTOL = 1e-3
#: how far (relative to the data's peak) an endmember may dip below the data's floor before it is
#: flagged: projected pixels of dark materials dip by noise (VCA on Samson: 0.0037 of the peak)
DEGENERATE_FLOOR_RTOL = 1e-2


def _band_range(Y: object, n_bands: int, block_values: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Per band, the smallest and largest finite value of ``Y`` (``n_bands`` rows; ``+inf``/``-inf``
    for a band with none), as float64, by column blocks in ``Y``'s own dtype (no full-size copy)."""
    arr = np.asarray(Y)
    Yd = _as_float_array(arr, "Y") if not np.issubdtype(arr.dtype, np.floating) else arr
    Yd = Yd.reshape(n_bands, -1)
    low = np.full(n_bands, np.inf)
    high = np.full(n_bands, -np.inf)
    step = max(1, block_values // max(n_bands, 1))
    for j in range(0, Yd.shape[1], step):
        block = Yd[:, j:j + step]
        finite = np.isfinite(block)
        np.minimum(low, np.min(block, axis=1, where=finite, initial=np.inf), out=low)
        np.maximum(high, np.max(block, axis=1, where=finite, initial=-np.inf), out=high)
    return low, high


def degenerate_endmembers(E: object, Y: object, *, zero_rtol: float = DEGENERATE_ZERO_RTOL,
                          floor_rtol: float = DEGENERATE_FLOOR_RTOL) -> list[dict[str, object]]:
    r"""The endmembers of ``E`` ``(L, p)`` that cannot be spectra of the data ``Y`` ``(L, N)``.

    With :math:`s = \max |Y|` (the data's peak), the floor :math:`f_l = \min(0, \min_j Y_{lj})`
    and the ceiling :math:`c_l = \max_j Y_{lj}`, endmember ``k`` is reported

    * ``"non-finite"``: NaN or infinite entries;
    * ``"zero"``: :math:`\max_l |E_{lk}| \le r_0 s` (e.g. a library combination with all weights
      0; ``zero_rtol`` :math:`r_0 = 10^{-3}`);
    * ``"below the data's floor"``: :math:`\min_l (E_{lk} - f_l) < -r_f s` (negative reflectance
      where no pixel is negative; ``floor_rtol`` :math:`r_f = 10^{-2}`, above the noise-level dips
      of projected pixels);
    * ``"above the data's range"``: :math:`\max_l (E_{lk} - c_l) > \max_l (c_l - f_l)` (brighter
      than every pixel by more than the data's whole range in some band).

    Minimum-volume vertices outside the data cloud but within these bounds are not reported: that is
    where they belong when there are no pure pixels. Returns one ``{"index", "reason", "value"}`` per
    reported endmember (``value``: the largest violation, relative to :math:`s`), in index order.

    >>> Y = np.array([[0.2, 0.4, 0.3], [0.5, 0.1, 0.2]])
    >>> E = np.array([[0.2, 0.0, -0.3, 0.4], [0.5, 0.0, 0.1, 2.0]])
    >>> [(d["index"], d["reason"]) for d in degenerate_endmembers(E, Y)]
    [(1, 'zero'), (2, "below the data's floor"), (3, "above the data's range")]
    """
    Em = as_endmember_matrix(E, "E")
    low, high = _band_range(Y, Em.shape[0])
    seen = np.isfinite(low)                       # bands with at least one finite value
    peak = float(np.max(np.maximum(np.abs(low), np.abs(high)), where=seen, initial=0.0))
    if not peak > 0:
        return []
    floor = np.minimum(low, 0.0)
    ceil = high
    span = float(np.max(ceil - floor))
    out: list[dict[str, object]] = []
    for k in range(Em.shape[1]):
        e = Em[:, k]
        if not np.isfinite(e).all():
            out.append({"index": k, "reason": "non-finite", "value": float("nan")})
        elif np.max(np.abs(e)) <= zero_rtol * peak:
            out.append({"index": k, "reason": "zero", "value": float(np.max(np.abs(e)) / peak)})
        elif np.min(e - floor) < -floor_rtol * peak:
            out.append({"index": k, "reason": "below the data's floor", "value": float(-np.min(e - floor) / peak)})
        elif np.max(e - ceil) > span:
            out.append({"index": k, "reason": "above the data's range", "value": float(np.max(e - ceil) / peak)})
    return out


def flag_degenerate_endmembers(E: object, Y: object, info: dict, method: str,
                               **tolerances: float) -> list[dict[str, object]]:
    """:func:`degenerate_endmembers`, recorded in ``info["degenerate_endmembers"]`` (always set, empty
    when none) and, when there are any, announced with one :class:`hysupp.errors.DegenerateResultWarning`
    naming ``method`` and the endmembers. Methods and the run layer call it on their results."""
    import warnings

    from hysupp.errors import DegenerateResultWarning

    found = degenerate_endmembers(E, Y, **tolerances)
    info["degenerate_endmembers"] = found
    if found:
        what = ", ".join(f"{d['index']} ({d['reason']})" for d in found)
        warnings.warn(f"{method}: degenerate endmember(s) {what}; see info['degenerate_endmembers']",
                      DegenerateResultWarning, stacklevel=2)
    return found
