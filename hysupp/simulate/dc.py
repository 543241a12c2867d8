r"""The DC1 and DC2 simulated data cubes of SUnSAL-TV, SUnCNN and HySUPP, rebuilt exactly.

Both cubes are noise-free linear mixtures ``Y = D X`` of a 240-atom library ``D`` (``EE`` in the
published files) with abundance matrices ``X`` (``XT``, 240 rows, zero outside the true atoms),
after Iordache, Bioucas-Dias & Plaza (IEEE TGRS 2012):

Library (both cubes)
    The USGS 1995 library (224 AVIRIS bands sorted by wavelength, 498 atoms) pruned greedily to a
    minimum pairwise angle of 4.44° and ordered by increasing angle to the nearest atom
    (:func:`hysupp.libraries.prune_library` with ``order="min_angle"``). This reproduces
    ``DC1_EE.mat`` (SUnCNN's ``Data/DC1/EE.mat``, identical to its ``Data/DC2/EE.mat``) bit for
    bit: same 240 columns, same order. Columns 0 and 1 are the two closest atoms (Jarosite GDS99
    and GDS101); the demos take the true endmembers from column 1 on so that only one Jarosite is
    present.

DC1 (75 x 75 pixels, 5 endmembers: library columns 1..5)
    A 5 x 5 grid of 5 x 5-pixel squares on a background. Row ``r`` (0-based) of the grid holds
    mixtures of ``r + 1`` endmembers in equal proportions; in column ``c`` the mixture uses
    endmembers ``c, c+1, ..., c+r`` (cyclically), so row 0 holds the pure pixels. The background
    is the fixed mixture ``(0.1149, 0.0741, 0.2003, 0.2055, 0.4051)`` (it sums to 0.9999, as
    published). Fully deterministic: :func:`dc1_arrays` equals ``DC1_EE``, ``DC1_XT`` and
    ``DC1_Y_clean`` to machine precision.

DC2 (100 x 100 pixels, 9 endmembers: library columns 1..9)
    Piecewise-smooth abundances drawn once from a random-field generator and distributed as a
    file: SUnCNN's ``Data/DC2/XT.mat`` holds exactly the ``Xim`` array of the ``spatial2.mat``
    file of the SUnSAL-TV / MUA demos (Borsoi's MUA_SparseUnmixing repository). No published
    recipe or seed regenerates it, so hysupp does not pretend to: :func:`dc2_scene` reads the
    abundances from such a file (:func:`read_dc2_abundances`) and rebuilds the library and the
    cube exactly.

Example
-------
>>> from hysupp.simulate.dc import dc1_abundances, dc1_scene
>>> A = dc1_abundances()
>>> A.shape, float(A[:, 0, 0].sum()), float(A[:, 5, 5].sum())
((5, 75, 75), 0.9999, 1.0)
>>> s = dc1_scene()
>>> s.shape, s.endmembers.shape, s.library.shape, s.library_index.tolist()
((224, 75, 75), (224, 5), (224, 240), [1, 2, 3, 4, 5])
>>> s.endmember_names[0]
'Jarosite GDS101 Na,Sy 200'

References
----------
M.-D. Iordache, J. M. Bioucas-Dias, A. Plaza, "Total variation spatial regularization for sparse
hyperspectral unmixing", IEEE TGRS 50(11), 4484-4502, 2012. B. Rasti, A. Zouaoui, J. Mairal,
J. Chanussot, "Image processing and machine learning for hyperspectral unmixing: an overview and
the HySUPP Python package", IEEE TGRS 62, 2024. B. Rasti, B. Koirala, "SUnCNN: sparse unmixing
using unsupervised convolutional neural network", IEEE GRSL 19, 2022.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from hysupp.errors import InputError
from hysupp.io.shipped import usgs_library
from hysupp.libraries import copy_library, prune_library, take_atoms
from hysupp.scene import Scene

#: Minimum angle (degrees) of the DC1/DC2 library (Iordache et al. 2012; SUnCNN; HySUPP).
DC_MIN_ANGLE_DEG = 4.44
DC1_MIN_ANGLE_DEG = DC_MIN_ANGLE_DEG  # kept for callers of the first version

#: True endmembers of DC1 (HySUPP's ``reference_endmembers.txt``), library columns 1..5.
DC1_ENDMEMBERS = ("Jarosite GDS101 Na,Sy 200", "Anorthite HS349.3B", "Calcite WS272",
                  "Alunite GDS83 Na63", "Howlite GDS155")
#: True endmembers of DC2, library columns 1..9.
DC2_ENDMEMBERS = DC1_ENDMEMBERS + ("Corrensite CorWa-1", "Fassaite HS118.3B",
                                   "Adularia GDS57 Orthoclase", "Andradite NMNH113829")
DC1_BACKGROUND = (0.1149, 0.0741, 0.2003, 0.2055, 0.4051)
DC1_LIBRARY_INDEX = (1, 2, 3, 4, 5)
DC2_LIBRARY_INDEX = tuple(range(1, 10))
DC2_SHAPE = (100, 100)


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

    Returns
    -------
    ndarray, shape (p, size, size), float64

    Raises
    ------
    InputError
        Background not on the simplex (within 1e-3), or a grid that does not fit the image.
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


@lru_cache(maxsize=1)
def _dc_library_cached() -> Scene:
    lib = usgs_library()
    keep = prune_library(lib.library, DC_MIN_ANGLE_DEG, order="min_angle")
    out = take_atoms(lib, keep, note=(
        f"pruned to a minimum pairwise angle of {DC_MIN_ANGLE_DEG} deg ({keep.size} atoms, greedy in "
        f"library order) and ordered by increasing angle to the nearest atom (Iordache et al. 2011/2012; "
        f"the DC1/DC2 library of SUnCNN/HySUPP)"))
    out.name = "USGS_1995_Library_pruned_4.44"
    return out


def dc_library() -> Scene:
    """The 240-atom DC1/DC2 library (``EE``) as a library Scene (a fresh copy).

    The bundled USGS 1995 library sorted by wavelength, pruned to 4.44° and ordered by angle
    (:func:`hysupp.libraries.prune_library` with ``order="min_angle"``; also
    ``hysupp.datasets.named_library("usgs1995-pruned")``); ``extras["atom_index"]`` holds the
    columns of the 498-atom library it was taken from.

    >>> lib = dc_library()
    >>> lib.library.shape, lib.library_names[1]
    ((224, 240), 'Jarosite GDS101 Na,Sy 200')
    """
    return copy_library(_dc_library_cached())


def _columns(lib: Scene, names: Sequence[str]) -> list[int]:
    lib_names = list(lib.library_names or [])
    cols = []
    for n in names:
        if n not in lib_names:
            where = ("it is one of the USGS 1995 atoms removed by the 4.44 deg pruning"
                     if n in (usgs_library().library_names or []) else "it is not a USGS 1995 signature name")
            raise InputError(f"endmember {n!r} is not an atom of the 240-atom DC library ({where})")
        cols.append(lib_names.index(n))
    return cols


def _library_note(lib: Scene) -> str:
    return (f"library: USGS 1995 pruned to {DC_MIN_ANGLE_DEG} deg and ordered by angle "
            f"({lib.library.shape[1]} atoms, identical to DC1_EE.mat)")


def _mix(E: np.ndarray, A: np.ndarray) -> np.ndarray:
    p, h, w = A.shape
    return (E @ A.reshape(p, h * w)).reshape(E.shape[0], h, w)


def _scene(name: str, lib: Scene, cols: list[int], A: np.ndarray, dtype: Any, notes: list[str]) -> Scene:
    D = lib.library
    E = D[:, cols]
    cube = _mix(E, A)
    return Scene(
        cube=cube.astype(dtype, copy=False), wavelengths=lib.wavelengths, fwhm=lib.fwhm, name=name,
        layout=f"builtin:{name}", endmembers=E.astype(dtype), abundances=A.astype(dtype, copy=False),
        endmember_names=[lib.library_names[c] for c in cols], library=D.astype(dtype),
        library_names=list(lib.library_names), library_index=np.asarray(cols, dtype=np.int64),
        notes=notes, extras={"min_angle_deg": DC_MIN_ANGLE_DEG, "usgs_atom_index": lib.extras["atom_index"]})


def dc1_scene(endmember_names: Sequence[str] = DC1_ENDMEMBERS, *, dtype: Any = np.float32) -> Scene:
    """The DC1 scene (noise-free; add noise with :mod:`hysupp.physics.noise`).

    Parameters
    ----------
    endmember_names : sequence of str
        At most 5 atoms of the DC library; the default is the published DC1 (library columns
        1..5). With other names the background is the equal mixture unless 5 are given.
    dtype : numpy dtype
        Of every array (``np.float64`` gives the published values to machine precision).

    Returns
    -------
    Scene
        ``cube`` (224, 75, 75) ``= E A``, ``endmembers`` E (224, p), ``abundances`` A (p, 75, 75),
        ``endmember_names``, the 240-atom ``library`` and ``library_names``, ``library_index``
        (the library columns that are the endmembers), ``wavelengths``/``fwhm`` (nm).

    Raises
    ------
    InputError
        A name that is not an atom of the DC library, or more than 5 endmembers.
    """
    lib = dc_library()
    cols = _columns(lib, endmember_names)
    p = len(cols)
    bg = DC1_BACKGROUND if p == 5 else np.full(p, 1.0 / max(p, 1))
    A = dc1_abundances(background=bg)
    notes = ["DC1 of Iordache et al. (2012) / SUnCNN / HySUPP rebuilt from the bundled USGS 1995 library",
             _library_note(lib)]
    if tuple(endmember_names) != DC1_ENDMEMBERS:
        notes.append(f"custom endmembers (library columns {cols}); background "
                     f"{'as published' if p == 5 else 'equal mixture'}")
    return _scene("dc1", lib, cols, A, dtype, notes)


def _expand(A: np.ndarray, cols: Sequence[int], n_atoms: int) -> np.ndarray:
    XT = np.zeros((n_atoms,) + A.shape[1:], dtype=np.float64)
    XT[list(cols)] = A
    return XT


def _published_layout(scene: Scene) -> dict[str, np.ndarray]:
    EE = np.asarray(scene.library, dtype=np.float64)
    XT = _expand(np.asarray(scene.abundances, dtype=np.float64), scene.library_index, EE.shape[1])
    Y = np.asarray(scene.cube, dtype=np.float64).transpose(1, 2, 0)
    return {"EE": EE, "XT": XT, "Y_clean": np.ascontiguousarray(Y)}


def dc1_arrays() -> dict[str, np.ndarray]:
    """DC1 in the layout of the published files (SUnCNN ``Data/DC1``), float64.

    Returns
    -------
    dict
        ``"EE"`` library (224, 240); ``"XT"`` library abundances (240, 75, 75), zero except rows
        1..5; ``"Y_clean"`` the cube as (75, 75, 224) (rows, columns, bands), ``Y = EE XT``.

    >>> a = dc1_arrays()
    >>> a["EE"].shape, a["XT"].shape, a["Y_clean"].shape
    ((224, 240), (240, 75, 75), (75, 75, 224))
    """
    return _published_layout(dc1_scene(dtype=np.float64))


def read_dc2_abundances(path: str | os.PathLike) -> np.ndarray:
    """Read the DC2 abundance maps ``(9, 100, 100)`` (float64) from a published file.

    Accepted layouts (``.mat`` v5 or v7.3):

    - ``XT`` (240, 100, 100): SUnCNN's ``Data/DC2/XT.mat`` (``../shared/data/dc2/DC2_XT.mat``);
      rows 1..9 are the abundances, every other row must be zero.
    - ``Xim`` (100, 100, 9): ``spatial2.mat`` of the SUnSAL-TV / MUA demos.
    - ``X`` (9, 10000): the same in MATLAB column-major pixel order.

    Raises
    ------
    InputError
        Missing file, no known variable, wrong shape, non-zero rows outside the 9 true atoms, or
        abundances that are negative or do not sum to one (tolerance 1e-9).
    """
    from hysupp.io.matlab import load_mat_variables

    variables, _, _ = load_mat_variables(path)
    label = os.fspath(path)
    if "XT" in variables:
        XT = np.asarray(variables["XT"], dtype=np.float64)
        if XT.shape != (240,) + DC2_SHAPE:
            raise InputError(f"{label!r}: XT has shape {XT.shape}, expected (240, 100, 100) for DC2")
        rows = list(DC2_LIBRARY_INDEX)
        others = np.delete(XT, rows, axis=0)
        if np.any(others != 0):
            bad = [int(r) for r in np.flatnonzero(np.abs(XT).reshape(240, -1).max(axis=1)) if r not in rows]
            raise InputError(f"{label!r}: XT has non-zero rows {bad[:10]} outside the 9 DC2 atoms (rows 1..9)")
        A = XT[rows]
    elif "Xim" in variables:
        Xim = np.asarray(variables["Xim"], dtype=np.float64)
        if Xim.shape != DC2_SHAPE + (9,):
            raise InputError(f"{label!r}: Xim has shape {Xim.shape}, expected (100, 100, 9) for DC2")
        A = Xim.transpose(2, 0, 1)
    elif "X" in variables:
        X = np.asarray(variables["X"], dtype=np.float64)
        if X.shape != (9, DC2_SHAPE[0] * DC2_SHAPE[1]):
            raise InputError(f"{label!r}: X has shape {X.shape}, expected (9, 10000) for DC2")
        A = X.reshape((9,) + DC2_SHAPE, order="F")
    else:
        raise InputError(f"{label!r} holds no DC2 abundances: expected a variable XT (240 x 100 x 100), "
                         f"Xim (100 x 100 x 9) or X (9 x 10000); found {', '.join(variables) or 'none'}")
    if A.min() < 0 or np.abs(A.sum(axis=0) - 1).max() > 1e-9:
        raise InputError(f"{label!r}: DC2 abundances must be non-negative and sum to one per pixel "
                         f"(min {A.min():.3g}, max |sum - 1| {np.abs(A.sum(axis=0) - 1).max():.3g})")
    return np.ascontiguousarray(A)


def dc2_scene(path: str | os.PathLike | None = None, *, dtype: Any = np.float32) -> Scene:
    """The DC2 scene: the library and cube rebuilt exactly, the abundances read from ``path``.

    DC2's abundance maps are one stored draw of a random generator (module docstring), so they
    come from a file: ``DC2_XT.mat`` / SUnCNN ``Data/DC2/XT.mat`` or ``spatial2.mat``
    (:func:`read_dc2_abundances`). The cube is ``E A`` with the 9 library columns 1..9.

    Parameters
    ----------
    path : path-like
        The abundance file (required; ``None`` raises an error that says where to find it).
    dtype : numpy dtype

    Returns
    -------
    Scene
        ``cube`` (224, 100, 100), ``endmembers`` (224, 9), ``abundances`` (9, 100, 100), names, the
        240-atom ``library``, ``library_index`` ``[1, ..., 9]``.
    """
    if path is None:
        raise InputError("DC2's abundances are a stored random draw that no recipe regenerates: pass the "
                         "file that holds them, e.g. dc2_scene('../shared/data/dc2/DC2_XT.mat') "
                         "(SUnCNN Data/DC2/XT.mat) or spatial2.mat from the SUnSAL-TV/MUA demos")
    A = read_dc2_abundances(path)
    lib = dc_library()
    cols = _columns(lib, DC2_ENDMEMBERS)  # == DC2_LIBRARY_INDEX (tested)
    notes = [(f"DC2 of Iordache et al. (2012) / SUnCNN / HySUPP: abundances read from {os.fspath(path)!r}, "
              f"library and cube rebuilt from the bundled USGS 1995 library"),
             _library_note(lib)]
    return _scene("dc2", lib, cols, A, dtype, notes)


def dc2_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """DC2 in the published layout (``EE`` (224, 240), ``XT`` (240, 100, 100), ``Y_clean``
    (100, 100, 224)), float64, with the abundances read from ``path``."""
    return _published_layout(dc2_scene(path, dtype=np.float64))
