"""Spectra as CSV: first column wavelength (nm) or band index, then one column per spectrum.

The header row is ``wavelength_nm`` (or ``band``, 1-based, when no wavelengths are known) followed
by the spectrum names. Reading accepts ``wavelength``/``wavelength_nm``/``wl`` (values below 100 are
taken as micrometres and converted, noted), ``wavelength_um`` and ``band``. A two-column table
``wavelength,fwhm`` (a sensor's band table, e.g. EnMAP's SRF file) reads as band centres and widths.

Example
-------
>>> import numpy as np, tempfile, os
>>> from hysupp.io.spectra_csv import save_spectra_csv, read_spectra_csv
>>> path = os.path.join(tempfile.mkdtemp(), "e.csv")
>>> save_spectra_csv(path, np.eye(3), ["a", "b", "c"], wavelengths=[400, 500, 600])
>>> open(path).readline().strip()
'wavelength_nm,a,b,c'
>>> read_spectra_csv(path)[0].library_names
['a', 'b', 'c']
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from hysupp.errors import InputError
from hysupp.io._common import FileInfo, stem_name
from hysupp.io.atomic import atomic_output
from hysupp.scene import Scene

__all__ = ["save_spectra_csv", "read_spectra_csv", "spectra_csv_text"]


def _fmt(dtype: np.dtype) -> str:
    return "%.9g" if dtype == np.float32 else "%.17g"


def spectra_csv_text(spectra: np.ndarray, names: Sequence[str], wavelengths: Sequence[float] | None = None) -> str:
    """The CSV text :func:`save_spectra_csv` writes."""
    S = np.asarray(spectra)
    if S.ndim == 1:
        S = S[:, None]
    if S.ndim != 2:
        raise InputError(f"spectra must be 2-D (bands, k), got shape {S.shape}")
    L, k = S.shape
    names = [str(n) for n in names]
    if len(names) != k:
        raise InputError(f"{len(names)} names for {k} spectra (columns of a ({L}, {k}) array)")
    if wavelengths is not None:
        wl = np.asarray(wavelengths, dtype=np.float64).ravel()
        if wl.size != L:
            raise InputError(f"{wl.size} wavelengths for {L} bands")
        first, col = "wavelength_nm", [repr(float(x)) for x in wl]
    else:
        first, col = "band", [str(i + 1) for i in range(L)]
    fmt = _fmt(S.dtype) if np.issubdtype(S.dtype, np.floating) else "%d"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([first, *names])
    for i in range(L):
        w.writerow([col[i], *(fmt % v for v in S[i])])
    return buf.getvalue()


def save_spectra_csv(path: str | os.PathLike, spectra: np.ndarray, names: Sequence[str],
                     wavelengths: Sequence[float] | None = None, overwrite: bool = False) -> None:
    """Write spectra ``(L, k)`` as CSV (atomically): wavelength/band column, one column per spectrum.

    Parameters
    ----------
    path : path-like
    spectra : ndarray, shape (L, k)
    names : sequence of str, length k
        Column headers.
    wavelengths : sequence of float, optional
        Band centres in nm; without them the first column is the 1-based band number.
    overwrite : bool
        Replace an existing file.
    """
    text = spectra_csv_text(spectra, names, wavelengths)
    with atomic_output(path, overwrite) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            fh.write(text)


def read_spectra_csv(path: str | os.PathLike, key: str | None = None) -> tuple[Scene, FileInfo]:
    """Read a spectra CSV (layout ``"spectra-csv"``) or a ``wavelength,fwhm`` table (``"band-table"``)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"file not found: {str(p)!r}")
    if key is not None:
        raise InputError(f"{str(p)!r}: key= selects a variable in .mat/.npz files, not a CSV column")
    with open(p, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    if len(rows) < 2:
        raise InputError(f"{str(p)!r}: expected a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    width = len(header)
    if width < 2:
        raise InputError(f"{str(p)!r}: expected at least two columns (wavelength or band, then spectra)")
    values = np.empty((len(rows) - 1, width), dtype=np.float64)
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise InputError(f"{str(p)!r} line {i}: {len(row)} fields, the header has {width}")
        for j, cell in enumerate(row):
            try:
                values[i - 2, j] = float(cell)
            except ValueError:
                raise InputError(f"{str(p)!r} line {i}, column {header[j]!r}: {cell!r} is not a number; "
                                 f"a spectra CSV holds numbers below its header") from None
    info = FileInfo(format="csv", variables=[{"name": h, "shape": [values.shape[0]], "dtype": "float64"}
                                             for h in header])
    first = header[0].lower()
    notes: list[str] = []
    wl = None
    if first in ("wavelength_um", "wavelength (um)", "wavelength_micrometers"):
        wl = values[:, 0] * 1000.0
        notes.append(f"first column {header[0]!r} converted from micrometres to nm")
    elif first.startswith("wavelength") or first in ("wl", "lambda", "nm"):
        wl = values[:, 0]
        if first in ("wavelength", "wl", "lambda") and np.nanmax(wl) < 100:
            wl = wl * 1000.0
            notes.append(f"first column {header[0]!r}: values below 100 read as micrometres, converted to nm")
    elif first != "band":
        notes.append(f"first column {header[0]!r} is neither a wavelength nor 'band': read as band labels, "
                     f"not wavelengths")
    if wl is not None and width == 2 and header[1].lower() == "fwhm":
        notes.insert(0, "band table: wavelength and fwhm per band")
        return Scene(cube=None, wavelengths=wl, fwhm=values[:, 1], name=stem_name(p), layout="band-table",
                     notes=notes), info
    notes.insert(0, f"spectra CSV: {values.shape[0]} bands x {width - 1} spectra")
    return Scene(cube=None, library=values[:, 1:], library_names=header[1:], wavelengths=wl, name=stem_name(p),
                 layout="spectra-csv", notes=notes), info
