r"""Spectral library tools: angle pruning, band matching and named libraries.

A spectral library is a matrix ``D`` of shape ``(L, M)``: ``M`` signatures (atoms, columns)
sampled at ``L`` wavelengths (rows, nanometres). The functions here are plain functions on arrays;
:func:`library_for_scene`, :func:`take_atoms` and :func:`named_library` work on
:class:`~hysupp.scene.Scene` objects that carry a ``library`` (readers such as
:func:`hysupp.io.matlab.read_usgs_splib` return those).

Spectral angles and pruning
---------------------------
The spectral angle between atoms ``d_i`` and ``d_j`` is

.. math::
    \theta_{ij} = \arccos \frac{\langle d_i, d_j \rangle}{\lVert d_i \rVert\,\lVert d_j \rVert}
    \quad (\text{degrees}).

Sparse regression over a library (SUnSAL, SUnSAL-TV, ...) becomes better conditioned when no two
atoms are nearly collinear, so Iordache, Bioucas-Dias & Plaza (2011, 2012) *prune* the USGS
library: visit the atoms in library order, keep an atom unless it lies within ``min_angle`` of
an atom already kept. Formally, with ``K_0 = ∅``,

.. math::
    K_j = \begin{cases} K_{j-1} \cup \{j\} & \text{if } \theta_{jk} \ge \theta_{\min}
          \ \forall k \in K_{j-1} \\ K_{j-1} & \text{otherwise.} \end{cases}

Every pair of kept atoms is then at least ``θ_min`` apart. Their demos then *order* the kept atoms
by increasing distance to their nearest neighbour, ``m_i = min_{j≠i} θ_ij`` (a stable sort, ties
keep library order), so the first columns are the hardest to tell apart. The DC1/DC2 library of
SUnSAL-TV, SUnCNN and HySUPP (``DC1_EE.mat``, 224 x 240) is exactly the USGS 1995 library sorted by
wavelength, pruned at ``θ_min = 4.44°`` and ordered that way: ``prune_library(D, 4.44,
order="min_angle")`` reproduces its 240 columns and their order bit for bit.

Band matching
-------------
A library must be sampled at the image's bands before unmixing. :func:`select_bands` picks, for
each target wavelength, the library band with the nearest centre (for grids of the same sensor
calibration, e.g. a 224-channel AVIRIS library and an image from which bands were removed);
:func:`resample_library` interpolates (linear) or integrates Gaussian band responses (when the
target FWHM is known) for grids that differ; :func:`library_for_scene` chooses between the two.

References
----------
M.-D. Iordache, J. M. Bioucas-Dias, A. Plaza, "Sparse unmixing of hyperspectral data", IEEE
TGRS 49(6), 2014-2039, 2011. M.-D. Iordache, J. M. Bioucas-Dias, A. Plaza, "Total variation
spatial regularization for sparse hyperspectral unmixing", IEEE TGRS 50(11), 4484-4502, 2012.
B. Rasti et al., "Image processing and machine learning for hyperspectral unmixing: an overview
and the HySUPP Python package", IEEE TGRS 62, 2024.

Example
-------
>>> import numpy as np
>>> from hysupp.libraries import prune_library, min_pairwise_angle, named_library
>>> D = np.array([[1.0, 1.0, 0.0], [0.0, 0.01, 1.0]])   # atoms 0 and 1 are 0.57 deg apart
>>> prune_library(D, 1.0).tolist()
[0, 2]
>>> lib = named_library("usgs1995")
>>> lib.library.shape
(224, 498)
>>> keep = prune_library(lib.library, 4.44, order="min_angle")
>>> keep.size, min_pairwise_angle(lib.library[:, keep]) >= 4.44
(240, True)
>>> [lib.library_names[k] for k in keep[:2]]
['Jarosite GDS99 K,Sy 200C', 'Jarosite GDS101 Na,Sy 200']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np

from hysupp.errors import InputError, ParameterError
from hysupp.scene import Scene

__all__ = [
    "DEFAULT_SELECT_TOL_NM",
    "LIBRARIES",
    "library_for_scene",
    "min_pairwise_angle",
    "named_library",
    "nearest_bands",
    "prune_library",
    "resample_library",
    "select_bands",
    "sort_by_min_angle",
    "spectral_angles",
    "take_atoms",
]

#: Default tolerance (nm) of :func:`select_bands`: bands of one sensor calibration coincide to well
#: under a nanometre; a larger offset means another calibration, whose spectra should be resampled.
DEFAULT_SELECT_TOL_NM = 1.0

#: Minimum angle (degrees) of the DC1/DC2 library (Iordache et al. 2012; SUnCNN; HySUPP).
DC_MIN_ANGLE_DEG = 4.44


# ------------------------------------------------------------------------------- validation
def _library_matrix(D: Any, name: str = "library") -> np.ndarray:
    arr = np.asarray(D)
    if np.iscomplexobj(arr) or not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"{name} must be a real numeric matrix (L, M), got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InputError(f"{name} must be 2-D (bands, atoms), got shape {arr.shape}")
    if min(arr.shape) < 1:
        raise InputError(f"{name} is empty, shape {arr.shape}")
    return arr.astype(np.float64, copy=False)


def _wavelengths(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if np.iscomplexobj(arr) or not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"{name} must be real numbers (nm), got dtype {arr.dtype}")
    arr = np.atleast_1d(arr.astype(np.float64)).ravel()
    if arr.size == 0:
        raise InputError(f"{name} is empty")
    if not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr))
        raise InputError(f"{name} has non-finite values at positions {bad[:5].tolist()}")
    return arr


def _check_rows(D: np.ndarray, wl: np.ndarray, what: str) -> None:
    if D.shape[0] != wl.size:
        raise InputError(f"{what}: the library has {D.shape[0]} bands (rows) but {wl.size} source "
                         f"wavelengths were given; expected one wavelength per row")


def _unit_hint(a: np.ndarray, b: np.ndarray) -> str:
    """A hint when one grid looks like micrometres and the other like nanometres."""
    am, bm = float(np.max(a)), float(np.max(b))
    if (am < 100.0) != (bm < 100.0):
        return (" One grid looks like micrometres and the other like nanometres; hysupp uses "
                "nanometres (multiply micrometres by 1000).")
    return ""


# ------------------------------------------------------------------------------- angles
def spectral_angles(D: Any) -> np.ndarray:
    r"""Pairwise spectral angles (degrees) between the columns of ``D``.

    .. math::
        \Theta_{ij} = \frac{180}{\pi} \arccos\big(\mathrm{clip}(\hat d_i^\top \hat d_j, -1, 1)\big),
        \qquad \hat d_i = d_i / \lVert d_i \rVert_2 .

    Computed in float64; the diagonal is set to exactly 0. The matrix is made exactly symmetric
    (the upper triangle is mirrored), so equal angles compare equal and sorts break ties by column order only. Cosines that
    round-off pushes beyond ±1 are clipped (MATLAB's ``abs(acos(x))`` returns ``acosh(x)`` there,
    a difference of ~1e-6 degrees that only concerns near-duplicates).

    Parameters
    ----------
    D : array_like, shape (L, M)

    Returns
    -------
    ndarray, shape (M, M), float64
        Zero diagonal, values in ``[0, 180]``.

    Raises
    ------
    InputError
        When a column has zero norm or non-finite values (its angles are undefined).

    Examples
    --------
    >>> spectral_angles([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]).round(6).tolist()
    [[0.0, 90.0, 45.0], [90.0, 0.0, 45.0], [45.0, 45.0, 0.0]]
    """
    A = _library_matrix(D)
    bad = np.flatnonzero(~np.isfinite(A).all(axis=0))
    if bad.size:
        raise InputError(f"library columns {bad[:10].tolist()}{' ...' if bad.size > 10 else ''} hold "
                         f"NaN or inf values ({bad.size} columns); drop the bands (rows) or atoms with "
                         f"missing values first")
    norms = np.linalg.norm(A, axis=0)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise InputError(f"library columns {zero[:10].tolist()} are all zero: their spectral angles "
                         f"are undefined")
    U = A / norms
    C = U.T @ U
    iu = np.triu_indices(C.shape[0], 1)
    C[(iu[1], iu[0])] = C[iu]
    ang = np.degrees(np.arccos(np.clip(C, -1.0, 1.0)))
    np.fill_diagonal(ang, 0.0)
    return ang


def min_pairwise_angle(D: Any) -> float:
    """The smallest spectral angle (degrees) between two distinct columns of ``D``.

    Returns ``inf`` for a single column.

    >>> round(min_pairwise_angle([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]), 6)
    45.0
    """
    ang = spectral_angles(D)
    if ang.shape[0] < 2:
        return float("inf")
    np.fill_diagonal(ang, np.inf)
    return float(ang.min())


def sort_by_min_angle(D: Any) -> tuple[np.ndarray, np.ndarray]:
    r"""Order the columns by increasing angle to their nearest neighbour.

    With :math:`m_i = \min_{j \ne i} \theta_{ij}`, returns ``order`` such that
    ``m[order]`` is non-decreasing; the sort is stable (ties keep column order), as in the
    ``sort_library_by_angle`` step of the SUnSAL/SUnSAL-TV demos (Iordache et al. 2011, 2012).
    The two atoms of the closest pair come first.

    Parameters
    ----------
    D : array_like, shape (L, M)

    Returns
    -------
    order : ndarray of int, shape (M,)
        Column indices of ``D``.
    min_angles : ndarray, shape (M,)
        ``m[order]`` in degrees (``inf`` for a single column).

    Examples
    --------
    >>> D = [[1.0, 1.0, 0.0], [0.0, 0.2, 1.0]]
    >>> order, m = sort_by_min_angle(D)
    >>> order.tolist(), m.round(2).tolist()
    ([0, 1, 2], [11.31, 11.31, 78.69])
    """
    ang = spectral_angles(D)
    np.fill_diagonal(ang, np.inf)
    m = ang.min(axis=0)
    order = np.argsort(m, kind="stable")
    return order.astype(np.int64), m[order]


def prune_library(D: Any, min_angle_deg: float, *, order: str = "library") -> np.ndarray:
    r"""Columns to keep so that every pair of kept atoms is at least ``min_angle_deg`` apart.

    Greedy pass in library order (the ``prune_library2`` procedure of Iordache, Bioucas-Dias &
    Plaza): atom ``j`` is kept unless :math:`\theta_{jk} < \theta_{\min}` for an atom ``k``
    already kept (module docstring). An atom exactly ``min_angle_deg`` from a kept one is kept.

    With ``order="min_angle"`` the kept columns are then ordered by
    :func:`sort_by_min_angle` (computed on the kept atoms only), which is how the DC1/DC2 library
    of SUnSAL-TV, SUnCNN and HySUPP was built: on the USGS 1995 library sorted by wavelength,
    ``prune_library(D, 4.44, order="min_angle")`` returns the 240 columns of ``DC1_EE.mat`` in
    its column order.

    Parameters
    ----------
    D : array_like, shape (L, M)
        The library (any float dtype; angles are computed in float64).
    min_angle_deg : float
        Minimum angle in degrees, ``>= 0`` (0 keeps every column).
    order : {"library", "min_angle"}
        Order of the returned indices: increasing column index, or increasing angle to the
        nearest kept neighbour.

    Returns
    -------
    ndarray of int, shape (K,)
        Indices into the columns of ``D``; ``D[:, index]`` is the pruned library.

    Raises
    ------
    ParameterError
        Negative or non-numeric ``min_angle_deg``, unknown ``order``.
    InputError
        A zero or non-finite column (see :func:`spectral_angles`).

    Notes
    -----
    The result depends on how close pair angles come to the threshold. For the USGS 1995 library
    at 4.44° the nearest pair angle is 2e-4° from the threshold, far beyond float64 round-off, so
    the 240-atom result does not depend on the BLAS used.

    Examples
    --------
    >>> import numpy as np
    >>> D = np.array([[1.0, 1.0, 1.0, 0.0], [0.0, 0.05, 0.1, 1.0]])
    >>> np.degrees(np.arctan([0.05, 0.1])).round(2).tolist()     # angles of atoms 1, 2 to atom 0
    [2.86, 5.71]
    >>> prune_library(D, 4.0).tolist()                           # atom 1 is too close to atom 0
    [0, 2, 3]
    >>> prune_library(D, 4.0, order="min_angle").tolist()        # closest pair (0, 2) first
    [0, 2, 3]
    """
    try:
        thr = float(min_angle_deg)
    except (TypeError, ValueError):
        raise ParameterError(f"min_angle_deg must be a number of degrees, got {min_angle_deg!r}") from None
    if not np.isfinite(thr) or thr < 0:
        raise ParameterError(f"min_angle_deg must be a finite angle >= 0 degrees, got {min_angle_deg!r}")
    if order not in ("library", "min_angle"):
        raise ParameterError(f"order must be 'library' or 'min_angle', got {order!r}")
    ang = spectral_angles(D)
    m = ang.shape[0]
    discarded = np.zeros(m, dtype=bool)
    kept: list[int] = []
    for j in range(m):
        if discarded[j]:
            continue
        kept.append(j)
        discarded |= ang[j] < thr
    keep = np.asarray(kept, dtype=np.int64)
    if order == "min_angle" and keep.size > 1:
        sub = ang[np.ix_(keep, keep)]
        np.fill_diagonal(sub, np.inf)
        keep = keep[np.argsort(sub.min(axis=0), kind="stable")]
    return keep


def take_atoms(library_scene: Scene, index: Sequence[int] | np.ndarray, *, note: str | None = None) -> Scene:
    """A copy of a library Scene holding only the columns ``index`` (in that order).

    ``library_names`` follow the columns; wavelengths, FWHM and notes are kept (plus ``note``).
    The column indices into the input library are stored in ``extras["atom_index"]`` (composed
    with any earlier ``atom_index``, so they always refer to the original file's columns).

    >>> import numpy as np
    >>> s = Scene(library=np.eye(3), library_names=["a", "b", "c"], name="toy")
    >>> t = take_atoms(s, [2, 0])
    >>> t.library_names, t.extras["atom_index"].tolist()
    (['c', 'a'], [2, 0])
    """
    D = library_scene.library
    if D is None:
        raise InputError(f"scene {library_scene.name!r} holds no spectral library")
    idx = np.asarray(index, dtype=np.int64).ravel()
    if idx.size and (idx.min() < -D.shape[1] or idx.max() >= D.shape[1]):
        raise InputError(f"atom indices out of range for a library of {D.shape[1]} atoms: "
                         f"{idx[(idx < -D.shape[1]) | (idx >= D.shape[1])][:5].tolist()}")
    idx = np.where(idx < 0, idx + D.shape[1], idx)
    names = None if library_scene.library_names is None else [library_scene.library_names[k] for k in idx]
    prev = library_scene.extras.get("atom_index")
    extras = dict(library_scene.extras)
    extras["atom_index"] = idx if prev is None else np.asarray(prev, dtype=np.int64)[idx]
    notes = list(library_scene.notes) + ([note] if note else [])
    return replace(library_scene, library=np.ascontiguousarray(D[:, idx]), library_names=names,
                   library_index=None, extras=extras, notes=notes)


# ------------------------------------------------------------------------------- band matching
def nearest_bands(src_wavelengths: Any, dst_wavelengths: Any, *,
                  tol_nm: float = DEFAULT_SELECT_TOL_NM) -> np.ndarray:
    """For each target wavelength, the index of the source band with the nearest centre.

    Parameters
    ----------
    src_wavelengths : array_like, shape (L,)
        Band centres of the library (nm), any order (e.g. AVIRIS channel order, whose
        spectrometers overlap).
    dst_wavelengths : array_like, shape (K,)
        Target band centres (nm).
    tol_nm : float
        Largest accepted distance between a target and its nearest source band.

    Returns
    -------
    ndarray of int, shape (K,)
        Indices into the source grid (ties go to the lower index).

    Raises
    ------
    InputError
        When a target is farther than ``tol_nm`` from every source band; the message names the
        worst target wavelength, its nearest band and how many targets fail.

    Examples
    --------
    >>> nearest_bands([400.0, 410.0, 420.0, 430.0], [409.8, 430.2]).tolist()
    [1, 3]
    """
    src = _wavelengths(src_wavelengths, "source wavelengths")
    dst = _wavelengths(dst_wavelengths, "target wavelengths")
    try:
        tol = float(tol_nm)
    except (TypeError, ValueError):
        raise ParameterError(f"tol_nm must be a distance in nm, got {tol_nm!r}") from None
    if not tol >= 0:
        raise ParameterError(f"tol_nm must be >= 0 nm, got {tol_nm!r}")
    dist = np.abs(dst[:, None] - src[None, :])
    idx = dist.argmin(axis=1)
    best = dist[np.arange(dst.size), idx]
    far = best > tol
    if far.any():
        w = int(np.argmax(best))
        raise InputError(
            f"target wavelength {dst[w]:.2f} nm (target band {w}) is {best[w]:.2f} nm from the nearest "
            f"library band ({src[idx[w]]:.2f} nm, band {int(idx[w])}), beyond tol_nm={tol:g}; "
            f"{int(far.sum())} of {dst.size} target bands are farther than tol_nm (library grid "
            f"{src.min():.1f}-{src.max():.1f} nm, target grid {dst.min():.1f}-{dst.max():.1f} nm). "
            f"Resample the library instead (resample_library / library_for_scene) or raise tol_nm."
            + _unit_hint(src, dst))
    return idx.astype(np.int64)


def select_bands(D: Any, src_wavelengths: Any, dst_wavelengths: Any, *,
                 tol_nm: float = DEFAULT_SELECT_TOL_NM, return_index: bool = False
                 ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Rows of the library at the bands nearest to each target wavelength.

    ``D_out[k] = D[i_k]`` with ``i_k = argmin_i |λ_src[i] - λ_dst[k]|`` (:func:`nearest_bands`).
    Use it when the library and the image share one band calibration (e.g. a 224-channel AVIRIS
    library and an image from which water-absorption bands were removed); otherwise use
    :func:`resample_library`.

    Parameters
    ----------
    D : array_like, shape (L, M)
    src_wavelengths : array_like, shape (L,)
        Library band centres (nm).
    dst_wavelengths : array_like, shape (K,)
        Target band centres (nm).
    tol_nm : float
        Largest accepted distance to the nearest library band (default 1 nm).
    return_index : bool
        Also return the selected row indices.

    Returns
    -------
    ndarray, shape (K, M)  (or ``(D_out, index)``)

    Raises
    ------
    InputError
        Shape mismatch, or a target farther than ``tol_nm`` from every library band (the message
        names the worst target wavelength).

    Examples
    --------
    >>> import numpy as np
    >>> D = np.arange(8.0).reshape(4, 2)
    >>> select_bands(D, [400, 410, 420, 430], [410, 430]).tolist()
    [[2.0, 3.0], [6.0, 7.0]]
    """
    A = _library_matrix(D)
    src = _wavelengths(src_wavelengths, "source wavelengths")
    _check_rows(A, src, "select_bands")
    idx = nearest_bands(src, dst_wavelengths, tol_nm=tol_nm)
    out = A[idx]
    return (out, idx) if return_index else out


def _linear_resample(A: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    order = np.argsort(src, kind="stable")
    xs, ys = src[order], A[order]
    uniq, inv = np.unique(xs, return_inverse=True)
    if uniq.size < xs.size:  # repeated centres: average their values
        acc = np.zeros((uniq.size, ys.shape[1]))
        np.add.at(acc, inv, ys)
        ys = acc / np.bincount(inv)[:, None]
        xs = uniq
    if xs.size == 1:
        return np.repeat(ys, dst.size, axis=0)
    # vectorised np.interp over columns
    pos = np.clip(np.searchsorted(xs, dst, side="right") - 1, 0, xs.size - 2)
    t = ((dst - xs[pos]) / (xs[pos + 1] - xs[pos]))[:, None]
    return (1.0 - t) * ys[pos] + t * ys[pos + 1]


def resample_library(D: Any, src_wavelengths: Any, dst_wavelengths: Any, dst_fwhm: Any = None, *,
                     src_fwhm: Any = None, min_coverage: float = 0.9) -> np.ndarray:
    r"""Resample library spectra onto another band grid.

    Without ``dst_fwhm``: linear interpolation between the two nearest library bands,

    .. math::
        \tilde d(\lambda) = (1 - t)\, d(\lambda_i) + t\, d(\lambda_{i+1}),\quad
        t = \frac{\lambda - \lambda_i}{\lambda_{i+1} - \lambda_i},\ \lambda_i \le \lambda \le \lambda_{i+1}.

    With ``dst_fwhm``: each target band integrates the library against a Gaussian response,
    ``\tilde d_k = \sum_l R_{kl} d_l`` with ``R`` from
    :func:`hysupp.physics.spectral.gaussian_srf` (rows of unit sum; with ``src_fwhm`` the
    library bands are themselves Gaussian responses and ``R`` holds their overlap integrals).

    Parameters
    ----------
    D : array_like, shape (L, M)
    src_wavelengths : array_like, shape (L,)
        Library band centres (nm), any order; repeated centres are averaged (linear mode).
    dst_wavelengths : array_like, shape (K,)
        Target band centres (nm).
    dst_fwhm : float or array_like, shape (K,), optional
        Target band FWHM (nm): switches to Gaussian band integration.
    src_fwhm : float or array_like, shape (L,), optional
        Library band FWHM (nm), used only with ``dst_fwhm``.
    min_coverage : float
        Gaussian mode: minimum fraction of a target response inside the library's grid.

    Returns
    -------
    ndarray, shape (K, M), float64
        NaN values in ``D`` propagate to the bands that use them.

    Raises
    ------
    InputError
        Shape mismatch; a target centre outside the library's wavelength range (no
        extrapolation: the message names the worst target wavelength and the range); a
        Gaussian target band insufficiently covered by the library grid.

    Examples
    --------
    >>> import numpy as np
    >>> wl = np.arange(400.0, 1001.0, 1.0)
    >>> D = np.stack([wl / 1000.0, np.ones_like(wl)], axis=1)      # a ramp and a flat spectrum
    >>> resample_library(D, wl, [500.5, 750.25]).round(6).tolist()
    [[0.5005, 1.0], [0.75025, 1.0]]
    >>> resample_library(D, wl, [600.0], dst_fwhm=20.0).round(9).tolist()   # symmetric response
    [[0.6, 1.0]]
    """
    A = _library_matrix(D)
    src = _wavelengths(src_wavelengths, "source wavelengths")
    dst = _wavelengths(dst_wavelengths, "target wavelengths")
    _check_rows(A, src, "resample_library")
    lo, hi = float(src.min()), float(src.max())
    slack = 1e-9 * max(1.0, abs(hi))
    excess = np.maximum(lo - dst, dst - hi)
    outside = excess > slack
    if outside.any():
        w = int(np.argmax(excess))
        side = "below" if dst[w] < lo else "above"
        raise InputError(
            f"target wavelength {dst[w]:.2f} nm (target band {w}) lies {excess[w]:.2f} nm {side} the "
            f"library's wavelength range {lo:.2f}-{hi:.2f} nm; {int(outside.sum())} of {dst.size} "
            f"target bands are outside it and spectra are not extrapolated. Drop those bands from the "
            f"image or use a library that covers them." + _unit_hint(src, dst))
    if dst_fwhm is None:
        if np.unique(src).size < 2 and not np.all(dst == src[0]):
            raise InputError("the library has a single distinct wavelength: cannot interpolate")
        return _linear_resample(A, src, dst)
    from hysupp.physics.spectral import gaussian_srf

    try:
        R = gaussian_srf(dst, dst_fwhm, src, target_fwhm=src_fwhm, min_coverage=min_coverage)
    except InputError as exc:
        raise InputError(f"Gaussian resampling of the library ({src.size} bands, {lo:.1f}-{hi:.1f} nm) "
                         f"onto {dst.size} target bands failed: {exc}") from None
    return R @ A


def _library_arrays(library_scene: Scene) -> tuple[str, np.ndarray]:
    for key in ("library", "endmembers"):
        value = getattr(library_scene, key)
        if value is not None:
            return key, value
    raise InputError(f"scene {library_scene.name!r} holds no spectral library or endmembers "
                     f"(layout {library_scene.layout!r})")


def library_for_scene(library_scene: Scene, scene: Scene, *, method: str = "auto",
                      tol_nm: float = DEFAULT_SELECT_TOL_NM, min_coverage: float = 0.9) -> Scene:
    """The library (and any endmembers) of ``library_scene`` matched to ``scene``'s bands.

    ``method="auto"`` selects bands (:func:`select_bands`) when every band of ``scene`` has a
    library band within ``tol_nm`` (the grids coincide, e.g. a 224-channel AVIRIS library and
    the 188 bands kept from the same calibration) and, where both FWHMs are known, the widths
    agree (within ``max(tol_nm, 25%)``); it resamples otherwise
    (:func:`resample_library`: Gaussian band integration when ``scene.fwhm`` is known, with the
    library's FWHM if it has one; linear interpolation otherwise). ``"select"`` and
    ``"resample"`` force one of the two. What was done is appended to ``notes``; the selected
    library rows are in ``extras["band_index"]`` (selection only).

    When ``scene`` has no wavelengths, a library with the same number of bands is returned
    unchanged (with a note); a different band count raises.

    Parameters
    ----------
    library_scene : Scene
        Holds ``library`` ``(L, M)`` and/or ``endmembers`` ``(L, p)`` with ``wavelengths``.
    scene : Scene
        The target image (or any Scene with ``wavelengths``/``fwhm`` and a band count).
    method : {"auto", "select", "resample"}
    tol_nm : float
        Distance (nm) under which two band centres are treated as the same band.
    min_coverage : float
        Passed to :func:`resample_library` (Gaussian mode).

    Returns
    -------
    Scene
        A copy of ``library_scene`` on ``scene``'s bands (``wavelengths``, ``fwhm`` from
        ``scene``); an image cube in ``library_scene`` is dropped.

    Raises
    ------
    InputError
        Missing wavelengths with different band counts, grids that do not overlap, or
        ``method="select"`` with a target farther than ``tol_nm``.

    Examples
    --------
    >>> import numpy as np
    >>> lib = Scene(library=np.arange(12.0).reshape(4, 3), wavelengths=[400, 410, 420, 430], name="lib")
    >>> img = Scene(cube=np.zeros((2, 1, 1)), wavelengths=[410, 430], name="img")
    >>> out = library_for_scene(lib, img)
    >>> out.library.tolist(), out.extras["band_index"].tolist()
    ([[3.0, 4.0, 5.0], [9.0, 10.0, 11.0]], [1, 3])
    >>> library_for_scene(lib, Scene(cube=np.zeros((1, 1, 1)), wavelengths=[415.0])).library.tolist()
    [[4.5, 5.5, 6.5]]
    """
    if method not in ("auto", "select", "resample"):
        raise ParameterError(f"method must be 'auto', 'select' or 'resample', got {method!r}")
    _, main = _library_arrays(library_scene)
    n_target = scene.n_bands
    arrays = {k: getattr(library_scene, k) for k in ("library", "endmembers")
              if getattr(library_scene, k) is not None}
    if scene.wavelengths is None:
        if main.shape[0] == n_target:
            note = (f"scene {scene.name!r} has no wavelengths: library bands assumed to be the scene's "
                    f"{n_target} bands (same count)")
            return replace(library_scene, notes=list(library_scene.notes) + [note])
        subset = dict(library_scene.extras.get("band_subsets", {})).get(n_target)
        if subset is not None:
            return _known_band_subset(library_scene, scene, arrays, subset)
        raise InputError(
            f"scene {scene.name!r} has no wavelengths and {n_target} bands, the library "
            f"{library_scene.name!r} has {main.shape[0]}: cannot tell which library bands match "
            f"(give the scene wavelengths, e.g. load(image, truth=...) or a header)")
    if library_scene.wavelengths is None:
        raise InputError(f"library {library_scene.name!r} has no wavelengths: cannot match it to the "
                         f"bands of scene {scene.name!r}")
    src = library_scene.wavelengths
    dst = scene.wavelengths
    for k, arr in arrays.items():
        if arr.shape[0] != src.size:
            raise InputError(f"library {library_scene.name!r}: {k} has {arr.shape[0]} bands (rows) but "
                             f"{src.size} wavelengths")
    updates: dict[str, Any] = {}
    extras = dict(library_scene.extras)
    dist_all = np.abs(dst[:, None] - src[None, :])
    nearest = dist_all.argmin(axis=1)
    dist = dist_all[np.arange(dst.size), nearest]
    coincide = bool(np.all(dist <= tol_nm))
    widths_differ = False
    if coincide and scene.fwhm is not None and library_scene.fwhm is not None \
            and library_scene.fwhm.size == src.size:
        fw_src = library_scene.fwhm[nearest]
        widths_differ = bool(np.any(np.abs(scene.fwhm - fw_src) > np.maximum(tol_nm, 0.25 * fw_src)))
    use_select = method == "select" or (method == "auto" and coincide and not widths_differ)
    if use_select:
        idx = nearest_bands(src, dst, tol_nm=tol_nm)
        for k, arr in arrays.items():
            updates[k] = np.ascontiguousarray(arr[idx])
        extras["band_index"] = idx
        note = (f"library bands matched to scene {scene.name!r}: {idx.size} of {src.size} bands selected "
                f"by nearest centre (max offset {float(dist.max()):.3g} nm <= tol {tol_nm:g} nm; "
                f"extras['band_index'])")
    else:
        gaussian = scene.fwhm is not None
        for k, arr in arrays.items():
            out = resample_library(arr, src, dst, scene.fwhm if gaussian else None,
                                   src_fwhm=library_scene.fwhm if gaussian else None,
                                   min_coverage=min_coverage)
            updates[k] = out.astype(arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float64,
                                    copy=False)
        extras.pop("band_index", None)
        how = ("Gaussian band integration with the scene's FWHM"
               + (" and the library's FWHM" if library_scene.fwhm is not None else "")
               if gaussian else "linear interpolation (the scene has no FWHM)")
        note = (f"library resampled from {src.size} to scene {scene.name!r}'s {dst.size} bands by {how}; "
                f"largest centre offset to the nearest library band {float(dist.max()):.3g} nm")
    notes = list(library_scene.notes) + [note]
    if library_scene.cube is not None:
        notes.append(f"the image cube of {library_scene.name!r} was dropped (it stays on the old bands)")
    return replace(library_scene, cube=None, mask=None, wavelengths=dst.copy(),
                   fwhm=None if scene.fwhm is None else scene.fwhm.copy(),
                   extras=extras, notes=notes, **updates)


def _known_band_subset(library_scene: Scene, scene: Scene, arrays: dict[str, np.ndarray],
                       subset: tuple[Sequence[int], str]) -> Scene:
    """The library restricted to a declared band subset (``extras["band_subsets"][L]``) for a
    scene with ``L`` bands and no wavelengths; the scene's wavelengths are then the library's."""
    idx = np.asarray(subset[0], dtype=np.intp)
    note = (f"scene {scene.name!r} has no wavelengths: its {idx.size} bands taken to be {subset[1]} of "
            f"library {library_scene.name!r} (extras['band_index']); give the scene wavelengths to override")
    wl = None if library_scene.wavelengths is None else library_scene.wavelengths[idx].copy()
    fwhm = None if library_scene.fwhm is None else library_scene.fwhm[idx].copy()
    return replace(library_scene, cube=None, mask=None, wavelengths=wl, fwhm=fwhm,
                   extras={**library_scene.extras, "band_index": idx}, notes=list(library_scene.notes) + [note],
                   **{k: np.ascontiguousarray(a[idx]) for k, a in arrays.items()})


# ------------------------------------------------------------------------------- named libraries
#: The 188 AVIRIS channels (0-based, of 224) kept in the usual Cuprite scene: channels 1-2, 104-113,
#: 148-167 and 221-224 (1-based; water absorption and low SNR) removed, as in the NMF-QMV, HySUPP
#: and NEBEAE Cuprite files (``slctBnds`` of ``groundTruth_Cuprite_nEnd12.mat``).
AVIRIS_CUPRITE_188 = tuple(b - 1 for b in range(1, 225)
                           if not (b <= 2 or 104 <= b <= 113 or 148 <= b <= 167 or b >= 221))
_AVIRIS_SUBSETS = {188: (AVIRIS_CUPRITE_188, "the standard AVIRIS Cuprite selection (channels 1-2, 104-113, "
                                             "148-167, 221-224 of 224 removed)")}

@lru_cache(maxsize=1)
def _usgs1995_pruned() -> Scene:
    from hysupp.datasets import usgs_library

    lib = usgs_library()
    keep = prune_library(lib.library, DC_MIN_ANGLE_DEG, order="min_angle")
    out = take_atoms(lib, keep, note=(
        f"pruned to a minimum pairwise angle of {DC_MIN_ANGLE_DEG} deg ({keep.size} atoms, greedy in "
        f"library order) and ordered by increasing angle to the nearest atom (Iordache et al. 2011/2012; "
        f"the DC1/DC2 library of SUnCNN/HySUPP)"))
    out.name = "USGS_1995_Library_pruned_4.44"
    out.extras["band_subsets"] = _AVIRIS_SUBSETS
    return out


def _usgs1995() -> Scene:
    from hysupp.datasets import usgs_library

    lib = usgs_library()
    lib.extras["band_subsets"] = _AVIRIS_SUBSETS
    return lib


#: Named libraries: name -> (factory, one-line description). Names are matched case-insensitively,
#: ignoring ``-``, ``_``, ``.`` and spaces.
LIBRARIES: dict[str, tuple[Any, str]] = {
    "usgs1995": (_usgs1995, "USGS splib 1995 at 224 AVIRIS bands (498 atoms, bundled)"),
    "usgs1995pruned": (_usgs1995_pruned, ("USGS 1995 pruned to 4.44 deg and ordered by angle: the "
                                          "240-atom DC1/DC2 library")),
}


def _key(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch not in "-_. ")


library_key = _key   # public name: the LIBRARIES key of a library name (case, "-_." and spaces ignored)


def named_library(name: str) -> Scene:
    """A library shipped with hysupp, by name (the ``--library`` option of the CLI).

    ``"usgs1995"``: the bundled USGS 1995 library (224 x 498, sorted by wavelength, nm);
    ``"usgs1995-pruned"``: its 240-atom DC1/DC2 subset (:func:`prune_library` at 4.44° with
    ``order="min_angle"``). Names ignore case, ``-``, ``_``, ``.`` and spaces. The arrays are
    copies: the caller may modify them.

    Raises
    ------
    InputError
        Unknown name (the message lists the available ones).

    Examples
    --------
    >>> named_library("USGS-1995").library.shape, named_library("usgs1995_pruned").library.shape
    ((224, 498), (224, 240))
    """
    try:
        factory, _ = LIBRARIES[_key(name)]
    except KeyError:
        raise InputError(f"unknown library {name!r}; available: usgs1995, usgs1995-pruned") from None
    lib = factory()
    copies = {k: (None if getattr(lib, k) is None else np.array(getattr(lib, k)))
              for k in ("library", "wavelengths", "fwhm")}
    return replace(lib, library_names=None if lib.library_names is None else list(lib.library_names),
                   notes=list(lib.notes), extras={k: (np.array(v) if isinstance(v, np.ndarray) else v)
                                                  for k, v in lib.extras.items()}, **copies)
