"""DC1-style synthetic scenes (Iordache, Bioucas-Dias & Plaza, IEEE TGRS 50(11), 2012).

The recipe of the SUnSAL-TV paper's "DC1" data cube, as used by HySUPP and SUnCNN: a 75 x 75 image
whose abundance maps are a 5 x 5 grid of 5 x 5-pixel squares on a background. Row ``r`` (0-based)
of the grid holds mixtures of ``r + 1`` endmembers in equal proportions; in column ``c`` the
mixture uses endmembers ``c, c+1, ..., c+r`` (cyclically), so row 0 holds the pure pixels. The
background is the fixed mixture ``(0.1149, 0.0741, 0.2003, 0.2055, 0.4051)``. The image is
``Y = E A`` with ``E`` five USGS signatures (by default the five named in HySUPP's
``reference_endmembers.txt``: Jarosite GDS101, Anorthite HS349.3B, Calcite WS272, Alunite GDS83,
Howlite GDS155), so it reproduces the published DC1 abundances exactly; only the library differs
(ours is the USGS library pruned greedily to a minimum angle of 4.44 degrees, in library order).

Example
-------
>>> from hysupp.simulate.dc import dc1_abundances, dc1_scene
>>> A = dc1_abundances()
>>> A.shape, float(A[:, 0, 0].sum()), float(A[:, 5, 5].sum())
((5, 75, 75), 0.9999, 1.0)
>>> s = dc1_scene()
>>> s.shape, s.endmembers.shape, s.library.shape[0]
((224, 75, 75), (224, 5), 224)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hysupp.errors import InputError
from hysupp.scene import Scene

DC1_ENDMEMBERS = ("Jarosite GDS101 Na,Sy 200", "Anorthite HS349.3B", "Calcite WS272",
                  "Alunite GDS83 Na63", "Howlite GDS155")
DC1_BACKGROUND = (0.1149, 0.0741, 0.2003, 0.2055, 0.4051)
DC1_MIN_ANGLE_DEG = 4.44


def dc1_abundances(size: int = 75, square: int = 5, spacing: int = 15, offset: int = 5,
                   background: Sequence[float] = DC1_BACKGROUND) -> np.ndarray:
    """DC1 abundance maps ``(p, size, size)`` with ``p = len(background)``.

    Parameters
    ----------
    size : int
        Image side in pixels.
    square, spacing, offset : int
        Side of each square, distance between square origins, origin of the first square.
    background : sequence of float
        Background mixture (must sum to one within 1e-3: the published DC1 background sums to
        0.9999 and is kept as published); its length is the number of endmembers.
    """
    bg = np.asarray(background, dtype=np.float64)
    p = bg.size
    if abs(bg.sum() - 1) > 1e-3 or (bg < 0).any():
        raise InputError(f"DC1 background abundances must be non-negative and sum to one, got {bg.tolist()}")
    if offset + (p - 1) * spacing + square > size:
        raise InputError(f"a {p} x {p} grid of {square}-px squares spaced {spacing} px from {offset} "
                         f"does not fit in {size} x {size} pixels")
    A = np.broadcast_to(bg[:, None, None], (p, size, size)).copy()
    for r in range(p):
        for c in range(p):
            members = [(c + k) % p for k in range(r + 1)]
            mix = np.zeros(p)
            mix[members] = 1.0 / len(members)
            y0, x0 = offset + r * spacing, offset + c * spacing
            A[:, y0:y0 + square, x0:x0 + square] = mix[:, None, None]
    return A


def prune_library(library: np.ndarray, min_angle_deg: float) -> np.ndarray:
    """Indices of a greedy pruning: keep a column unless its angle to a kept one is < ``min_angle_deg``.

    Columns are visited in library order, so the result is deterministic.
    """
    unit = library / np.linalg.norm(library, axis=0, keepdims=True)
    cos_max = np.cos(np.radians(min_angle_deg))
    kept: list[int] = []
    for j in range(unit.shape[1]):
        if not kept or np.max(unit[:, kept].T @ unit[:, j]) <= cos_max:
            kept.append(j)
    return np.asarray(kept, dtype=np.int64)


def dc1_scene(endmember_names: Sequence[str] = DC1_ENDMEMBERS, *, dtype=np.float32) -> Scene:
    """The DC1-style scene from the bundled USGS 1995 library (noise-free; add noise with
    :func:`hysupp.physics.noise.add_awgn`).

    Returns a ``Scene`` with cube ``E A`` (224, 75, 75), true ``endmembers``/``abundances`` and
    names, the pruned ``library`` and ``library_index`` (its columns that are the endmembers).
    """
    from hysupp.datasets import usgs_library

    lib = usgs_library()
    names = list(lib.library_names or [])
    try:
        cols = [names.index(n) for n in endmember_names]
    except ValueError as exc:
        raise InputError(f"DC1 endmember not in the USGS library: {exc}") from None
    D = lib.library.astype(np.float64)
    E = D[:, cols]
    A = dc1_abundances(background=DC1_BACKGROUND if len(cols) == 5 else np.full(len(cols), 1 / len(cols)))
    keep = prune_library(D, DC1_MIN_ANGLE_DEG)
    keep = np.union1d(keep, cols)  # the true endmembers are always library atoms
    library_index = np.searchsorted(keep, cols)
    cube = (E @ A.reshape(len(cols), -1)).reshape(-1, *A.shape[1:])
    return Scene(
        cube=cube.astype(dtype), wavelengths=lib.wavelengths, name="dc1", layout="builtin:dc1",
        endmembers=E.astype(dtype), abundances=A.astype(dtype), endmember_names=list(endmember_names),
        library=D[:, keep].astype(dtype), library_names=[names[k] for k in keep],
        library_index=library_index,
        notes=["DC1-style scene generated from the bundled USGS 1995 library (Iordache et al. 2012 recipe)",
               f"library pruned to min angle {DC1_MIN_ANGLE_DEG} deg: {keep.size} atoms"])
