"""Permutation alignment of estimated endmembers/abundances to the truth (Hungarian matching).

Blind and extractor-based methods return endmembers in an arbitrary order; before computing
per-endmember metrics the estimate is matched to the truth by minimising the total cost of a
one-to-one assignment (Kuhn–Munkres / Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``).

Criteria
--------
``by="sad"``
    cost ``C[i, j]`` = spectral angle in degrees between ``E_true[:, i]`` and ``E_est[:, j]``.
``by="abundances"``
    cost ``C[i, j]`` = Euclidean distance ``||A_true[i] - A_est[j]||_2`` between abundance maps.
    This is HySUPP's criterion (BehnoodRasti/HySUPP at cb7d633: ``src/utils/aligners.py``,
    ``AbundancesAligner`` with the distance of ``src/utils/metrics.py::MSE``, which despite its
    name is the plain, unsquared Euclidean distance between abundance rows). The sum of distances
    is minimised, which can pick a different matching than the sum of squared distances would.

When the estimate has a different number of endmembers than the truth, ``min(p_true, p_est)``
pairs are matched and the rest are reported as unmatched.

Example
-------
>>> import numpy as np
>>> from hysupp.metrics import align
>>> E = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
>>> E_hat = E[:, [2, 0, 1]] * 3.0                  # permuted and rescaled
>>> al = align(E, E_hat, by="sad")
>>> al.permutation                                   # est column for each true endmember
(1, 2, 0)
>>> bool(np.allclose(al.apply_endmembers(E_hat), 3.0 * E))
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from hysupp.errors import InputError, ParameterError
from hysupp.metrics.unmixing import as_abundance_matrix, as_endmember_matrix, sad_matrix

__all__ = ["Alignment", "align", "alignment_cost_matrix"]

Criterion = Literal["sad", "abundances"]
_CRITERIA = ("sad", "abundances")


@dataclass(frozen=True)
class Alignment:
    """The result of matching estimated endmembers to true ones.

    Attributes
    ----------
    permutation : tuple of int, length p_true
        ``permutation[i]`` is the estimated endmember matched to true endmember ``i``, or ``-1``
        when true endmember ``i`` is unmatched (only when ``p_est < p_true``).
    criterion : {"sad", "abundances"}
        The cost used (see the module docstring).
    cost : float
        Total cost of the matched pairs (sum of degrees for ``"sad"``, of Euclidean distances for
        ``"abundances"``).
    pair_costs : tuple of float, length p_true
        Cost of each true endmember's pair (NaN when unmatched or undefined, e.g. a zero spectrum).
    n_true, n_est : int
        Number of true and estimated endmembers.

    Examples
    --------
    >>> al = Alignment(permutation=(2, -1, 0), criterion="sad", cost=3.0,
    ...                pair_costs=(1.0, float("nan"), 2.0), n_true=3, n_est=4)
    >>> al.true_index.tolist(), al.est_index.tolist(), al.unmatched_true, al.unmatched_est
    ([0, 2], [2, 0], (1,), (1, 3))
    """

    permutation: tuple[int, ...]
    criterion: str
    cost: float
    pair_costs: tuple[float, ...]
    n_true: int
    n_est: int

    # ------------------------------------------------------------------ index views
    @property
    def true_index(self) -> np.ndarray:
        """Matched true endmembers, ascending."""
        return np.array([i for i, j in enumerate(self.permutation) if j >= 0], dtype=np.int64)

    @property
    def est_index(self) -> np.ndarray:
        """Estimated endmember matched to each entry of :attr:`true_index`."""
        return np.array([j for j in self.permutation if j >= 0], dtype=np.int64)

    @property
    def unmatched_true(self) -> tuple[int, ...]:
        return tuple(i for i, j in enumerate(self.permutation) if j < 0)

    @property
    def unmatched_est(self) -> tuple[int, ...]:
        used = set(self.permutation)
        return tuple(j for j in range(self.n_est) if j not in used)

    @property
    def is_complete(self) -> bool:
        """True when every true endmember has a match."""
        return all(j >= 0 for j in self.permutation)

    # ------------------------------------------------------------------ applying it
    def apply_endmembers(self, E_est: object, *, fill: float | None = None) -> np.ndarray:
        """Reorder estimated endmembers ``(L, p_est)`` into the true order.

        Parameters
        ----------
        E_est : array_like, shape (L, p_est)
        fill : float, optional
            ``None`` (default): return only the matched columns, shape ``(L, n_matched)``, aligned
            with ``E_true[:, self.true_index]`` (all of ``E_true`` when :attr:`is_complete`).
            A number: return ``(L, p_true)`` with unmatched true positions filled with it.
        """
        E = as_endmember_matrix(E_est, "E_est")
        if E.shape[1] != self.n_est:
            raise InputError(f"E_est has {E.shape[1]} columns but this alignment was fitted on "
                             f"{self.n_est} estimated endmembers; got E_est {np.shape(E_est)}")
        if fill is None:
            return E[:, self.est_index]
        out = np.full((E.shape[0], self.n_true), fill, dtype=np.float64)
        out[:, self.true_index] = E[:, self.est_index]
        return out

    def apply_abundances(self, A_est: object, *, fill: float | None = None) -> np.ndarray:
        """Reorder estimated abundances ``(p_est, N)`` or ``(p_est, H, W)`` into the true order.

        The trailing shape is kept. ``fill`` works as in :meth:`apply_endmembers` (rows instead of
        columns).
        """
        arr = np.asarray(A_est)
        as_abundance_matrix(arr, "A_est")  # validates ndim / dtype
        if arr.shape[0] != self.n_est:
            raise InputError(f"A_est has {arr.shape[0]} rows but this alignment was fitted on "
                             f"{self.n_est} estimated endmembers; got A_est {arr.shape}")
        arr = arr.astype(np.float64, copy=False)
        if fill is None:
            return arr[self.est_index]
        out = np.full((self.n_true,) + arr.shape[1:], fill, dtype=np.float64)
        out[self.true_index] = arr[self.est_index]
        return out

    def select_true_endmembers(self, E_true: object) -> np.ndarray:
        """The matched true endmembers ``E_true[:, true_index]`` (all of them when complete)."""
        E = as_endmember_matrix(E_true, "E_true")
        if E.shape[1] != self.n_true:
            raise InputError(f"E_true has {E.shape[1]} columns, the alignment has {self.n_true} "
                             f"true endmembers; got E_true {np.shape(E_true)}")
        return E[:, self.true_index]

    def select_true_abundances(self, A_true: object) -> np.ndarray:
        """The matched true abundances ``A_true[true_index]`` (all of them when complete)."""
        arr = np.asarray(A_true)
        as_abundance_matrix(arr, "A_true")
        if arr.shape[0] != self.n_true:
            raise InputError(f"A_true has {arr.shape[0]} rows, the alignment has {self.n_true} "
                             f"true endmembers; got A_true {arr.shape}")
        return arr.astype(np.float64, copy=False)[self.true_index]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (NaN pair costs become ``None``)."""
        return {
            "criterion": self.criterion,
            "permutation": list(self.permutation),
            "cost": float(self.cost),
            "pair_costs": [None if not np.isfinite(c) else float(c) for c in self.pair_costs],
            "n_true": self.n_true,
            "n_est": self.n_est,
            "unmatched_true": list(self.unmatched_true),
            "unmatched_est": list(self.unmatched_est),
        }


def alignment_cost_matrix(E_true: object = None, E_est: object = None, A_true: object = None,
                          A_est: object = None, *, by: Criterion = "sad") -> np.ndarray:
    """The ``(p_true, p_est)`` cost matrix that :func:`align` minimises (see module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> alignment_cost_matrix(A_true=A, A_est=A[::-1], by="abundances").round(4)
    array([[1.4142, 0.    ],
           [0.    , 1.4142]])
    """
    if by == "sad":
        if E_true is None or E_est is None:
            raise InputError("alignment by 'sad' needs both E_true and E_est")
        return sad_matrix(E_true, E_est)
    if by == "abundances":
        if A_true is None or A_est is None:
            raise InputError("alignment by 'abundances' needs both A_true and A_est")
        At = as_abundance_matrix(A_true, "A_true")
        Ae = as_abundance_matrix(A_est, "A_est")
        if At.shape[1] != Ae.shape[1]:
            raise InputError(f"A_true and A_est must have the same number of pixels; "
                             f"got A_true {np.shape(A_true)} and A_est {np.shape(A_est)}")
        return cdist(At, Ae, metric="euclidean")
    raise ParameterError(f"by must be one of {_CRITERIA}; got {by!r}")


def align(E_true: object = None, E_est: object = None, A_true: object = None, A_est: object = None,
          *, by: Criterion = "sad") -> Alignment:
    r"""Match estimated endmembers to true ones with the Hungarian algorithm.

    Finds the one-to-one assignment :math:`\pi` minimising :math:`\sum_i C[i, \pi(i)]` over the
    ``min(p_true, p_est)`` matched pairs, where ``C`` is

    * ``by="sad"``: the spectral angle (degrees) between ``E_true[:, i]`` and ``E_est[:, j]``;
    * ``by="abundances"``: ``||A_true[i] - A_est[j]||_2`` (HySUPP's criterion, see module docs).

    Undefined costs (NaN, e.g. an all-zero estimated spectrum) are treated as worse than every
    defined cost, so such endmembers are matched last.

    Parameters
    ----------
    E_true, E_est : array_like, shape (L, p_true) and (L, p_est), optional
        Needed for ``by="sad"``; when given with ``A_est`` their sizes are cross-checked.
    A_true, A_est : array_like, shape (p_true, N) and (p_est, N) (or ``(p, H, W)``), optional
        Needed for ``by="abundances"``.
    by : {"sad", "abundances"}, default "sad"

    Returns
    -------
    Alignment

    Raises
    ------
    InputError
        Missing arrays for the criterion, or inconsistent shapes.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
    >>> A_hat = np.vstack([A[1], np.zeros(3), A[0]])     # 3 estimates for 2 true endmembers
    >>> al = align(A_true=A, A_est=A_hat, by="abundances")
    >>> al.permutation, al.unmatched_est, al.cost
    ((2, 0), (1,), 0.0)
    """
    if by not in _CRITERIA:
        raise ParameterError(f"by must be one of {_CRITERIA}; got {by!r}")
    # cross-check whatever was given, so a mismatch is reported whichever criterion is used
    p_true = p_est = None
    if E_true is not None:
        p_true = as_endmember_matrix(E_true, "E_true").shape[1]
    if E_est is not None:
        p_est = as_endmember_matrix(E_est, "E_est").shape[1]
    if A_true is not None:
        pa = as_abundance_matrix(A_true, "A_true").shape[0]
        if p_true is not None and pa != p_true:
            raise InputError(f"E_true has {p_true} endmembers (columns) but A_true has {pa} rows; "
                             f"got E_true {np.shape(E_true)}, A_true {np.shape(A_true)}")
    if A_est is not None:
        pa = as_abundance_matrix(A_est, "A_est").shape[0]
        if p_est is not None and pa != p_est:
            raise InputError(f"E_est has {p_est} endmembers (columns) but A_est has {pa} rows; "
                             f"got E_est {np.shape(E_est)}, A_est {np.shape(A_est)}")

    C = alignment_cost_matrix(E_true, E_est, A_true, A_est, by=by)
    n_true, n_est = C.shape
    finite = np.isfinite(C)
    work = C
    if not finite.all():
        worst = float(C[finite].max()) if finite.any() else 0.0
        work = np.where(finite, C, worst + 1.0 + abs(worst))
    rows, cols = linear_sum_assignment(work)

    perm = [-1] * n_true
    pair_costs = [float("nan")] * n_true
    for r, c in zip(rows.tolist(), cols.tolist()):
        perm[r] = c
        pair_costs[r] = float(C[r, c])
    total = float(np.sum([C[r, c] for r, c in zip(rows, cols)]))
    return Alignment(permutation=tuple(perm), criterion=by, cost=total,
                     pair_costs=tuple(pair_costs), n_true=n_true, n_est=n_est)
