r"""The user's physics of a fusion run, resolved once: sensor and MTF gains, SRF, PSF.

:func:`hysupp.fuse` and ``hysupp fuse`` take the physics of a real pair from the user; this module
turns what was given into what the methods, the protocols and the metrics use, and into the run
record's ``physics`` section.

MTF gains (pansharpening: :func:`resolve_gains`)
    The Nyquist gains of the MS bands and of the PAN feed the sensor-aware methods (MTF-GLP...,
    BDSD, ...), the reduced-resolution (Wald) degradation of the MS, and the full-resolution
    indices that filter with the MTF (Khan's :math:`D_\lambda`, HQNR, reprojection). In order of
    precedence: ``gnyq`` (one value, or one per MS band) and ``gnyq_pan``; a ``psf`` (its gain at
    the MS Nyquist frequency, :func:`psf_nyquist_gain`); the ``sensor`` of the table
    (:mod:`hysupp.physics.sensors`); else the toolbox's generic gains (0.29 MS, 0.15 PAN). Every
    assumption is a :class:`~hysupp.errors.SensorWarning` and a note in the record: no sensor,
    stand-in gains of the table (``mtf_placeholder``), a sensor whose band count differs from the
    image's (its gains cannot be matched to the bands: the generic MS gains are used; pass
    ``gnyq`` with the gains of your bands).

PSF (:func:`parse_psf`)
    ``"gaussian:FWHM"`` (or a number): an isotropic Gaussian, FWHM in high-resolution pixels; a
    2-D kernel (array, ``.npy``, ``.csv``/``.txt``, ``.mat``/``.npz`` with one 2-D variable or
    ``psf``/``kernel``), odd sizes, non-negative, normalised to unit sum. HS-MS methods receive it
    as is; pansharpening methods receive its Nyquist gain.

SRF (:func:`read_srf`)
    The ``(C, L)`` response of the high-resolution bands (MS or PAN) on the HS bands: an array, a
    text table (:func:`hysupp.physics.spectral.read_srf_text`: tabulated curves or Gaussian
    centres/FWHM), a ``.mat``/``.npz``/``.npy`` (:func:`hysupp.physics.spectral.srf_spec_from_variables`).
    Tabulated and Gaussian forms are put on the HS wavelengths (they need them); a matrix is used
    as it is.

HS-MS responses (:func:`resolve_responses`)
    A given SRF/PSF is used; what is missing is estimated from the pair
    (:func:`hysupp.fusion.hsms.responses.estimate_srf_psf`) with the HS wavelengths and the MS
    band centres/widths (:func:`ms_band_centres`: the user's SRF, the MS file's band wavelengths,
    or the sensor's bands), so that the estimate is band-limited and its peaks are checked; with
    both given the fit of the user's physics to the data is still diagnosed. The estimate, its
    diagnostic and any :class:`~hysupp.errors.ImplausibleEstimateWarning` go into the record.

Example
-------
>>> g = resolve_gains(None, 4, ratio=3)
>>> g.source, g.ms, g.pan, g.warnings[0][:38]
('generic', (0.29, 0.29, 0.29, 0.29), 0.15, 'no sensor given: the generic MTF gains')
>>> resolve_gains("QB", 4, ratio=4).source, resolve_gains("QB", 4, ratio=4, gnyq=[0.3]).ms
('sensor', (0.3, 0.3, 0.3, 0.3))
>>> parse_psf("gaussian:2.5")[0], round(psf_nyquist_gain(3.0, 3), 4)
(2.5, 0.4107)
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import InputError, SensorWarning

__all__ = ["Gains", "ResolvedResponses", "consistency_metrics", "ms_band_centres",
           "parse_gnyq", "parse_psf", "psf_nyquist_gain", "read_srf", "resolve_gains", "resolve_responses"]

#: the toolbox's generic gains ('none' case of genMTF.m / MTF_PAN.m)
GENERIC = "generic"
_PSF_SPEC = re.compile(r"^\s*(?:gauss(?:ian)?|fwhm)\s*[:=]\s*([0-9.eE+-]+)\s*$", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------- gains
def parse_gnyq(gnyq: Any) -> np.ndarray | None:
    """MTF Nyquist gains from a number, a sequence or a ``"0.3,0.28"`` string; each in (0, 1)."""
    if gnyq is None:
        return None
    if isinstance(gnyq, str):
        try:
            values = [float(v) for v in re.split(r"[,\s]+", gnyq.strip()) if v]
        except ValueError:
            raise InputError(f"gnyq (--gnyq) must be a number or comma-separated numbers, got {gnyq!r}") from None
    else:
        values = np.atleast_1d(np.asarray(gnyq, dtype=np.float64)).ravel().tolist()
    g = np.asarray(values, dtype=np.float64)
    if g.size == 0 or not np.all((g > 0) & (g < 1)):
        raise InputError(f"gnyq (--gnyq): MTF Nyquist gains must be in (0, 1), got {g.tolist()}")
    return g


def psf_nyquist_gain(psf: Any, ratio: int) -> float:
    r"""The MTF of a PSF at the low-resolution Nyquist frequency :math:`1/(2r)` cycles per
    high-resolution pixel: :math:`\exp(-\pi^2\sigma^2 / (2 r^2))` for a Gaussian of FWHM
    :math:`2\sqrt{2\ln 2}\,\sigma` (a number), or the mean over the two axes of the modulus of the
    Fourier transform of the kernel's marginals (a 2-D kernel).

    >>> round(psf_nyquist_gain(4.0, 4), 4)             # FWHM = ratio
    0.4107
    """
    r = int(ratio)
    if np.ndim(psf) == 0:
        sigma = float(psf) / (2.0 * math.sqrt(2.0 * math.log(2.0)))
        return float(math.exp(-(math.pi * sigma / r) ** 2 / 2.0))
    k = np.asarray(psf, dtype=np.float64)
    k = k / k.sum()
    nu = 1.0 / (2 * r)
    gains = []
    for marginal in (k.sum(axis=1), k.sum(axis=0)):
        x = np.arange(marginal.size) - (marginal.size - 1) / 2.0
        gains.append(abs(np.sum(marginal * np.exp(-2j * np.pi * nu * x))))
    return float(np.mean(gains))


@dataclass
class Gains:
    """The MTF Nyquist gains of a pansharpening run: ``ms`` (one per MS band), ``pan``, where they
    come from (``source``: ``"sensor"``, ``"user"``, ``"psf"`` or ``"generic"``), the table
    ``sensor`` named (its key, or None), ``notes`` and the ``warnings`` to issue when the gains are
    used (:meth:`warn`)."""

    ms: tuple[float, ...]
    pan: float
    source: str
    sensor: str | None
    ratio: int | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    warned: bool = False

    @property
    def from_table(self) -> bool:
        """The sensor's own table gains, unchanged (the methods then get the sensor's key)."""
        return self.source == "sensor"

    def warn(self) -> None:
        """Issue the :class:`~hysupp.errors.SensorWarning` s (once)."""
        if not self.warned:
            for msg in self.warnings:
                warnings.warn(msg, SensorWarning, stacklevel=3)
            self.warned = True

    def method_sensor(self) -> Any:
        """What a pansharpening method's ``sensor=`` receives: the table key, or a
        :class:`~hysupp.physics.mtf.SensorMTF` holding these gains."""
        from hysupp.physics.mtf import SensorMTF

        if self.from_table:
            return self.sensor
        name = {"user": "user gains (gnyq)", "psf": "gains of the given PSF", GENERIC: "generic gains"}[self.source]
        return SensorMTF(key=self.source if self.source != GENERIC else GENERIC, name=name, ms_bands=(),
                         ms_gnyq=tuple(self.ms), pan_gnyq=float(self.pan), ratio=int(self.ratio or 4),
                         source=f"hysupp fuse ({self.source})")

    def pair_kwargs(self) -> dict[str, Any]:
        """Keywords of :func:`hysupp.simulate.wald_pansharpening_pair` (sensor or explicit gains)."""
        if self.from_table:
            return {"sensor": self.sensor}
        return {"sensor": self.sensor, "gnyq": list(self.ms), "gnyq_pan": float(self.pan)}

    def metric_kwargs(self) -> dict[str, Any]:
        """Keywords of :func:`hysupp.metrics.fusion.evaluate_fusion` for the MTF-based indices."""
        if self.from_table:
            return {"sensor": self.sensor}
        return {"sensor": None, "gnyq": np.asarray(self.ms)}

    def record(self) -> dict[str, Any]:
        return {"source": self.source, "sensor": self.sensor, "ms_gnyq": list(self.ms), "pan_gnyq": self.pan,
                "notes": list(self.notes)}


def _gain_list(entry: Any) -> str:
    return ", ".join(f"{n} {g:g}" for n, g in zip(entry.gain_band_names, entry.ms_gnyq))


def resolve_gains(sensor: str | None, n_bands: int, *, ratio: int | None = None, gnyq: Any = None,
                  gnyq_pan: float | None = None, psf: Any = None, band_names: Any = None) -> Gains:
    """The gains of a pansharpening run on ``n_bands`` MS bands (module docstring for the order).
    ``band_names`` (the MS file's, e.g. GeoTIFF band descriptions) select the sensor's gains of
    those bands when the counts differ (a Sentinel-2 20 m subset, Hyperion without its bad bands)."""
    from hysupp.physics.mtf import get_sensor
    from hysupp.physics.sensors import lookup_sensor

    generic = get_sensor(GENERIC)
    entry = lookup_sensor(sensor) if sensor is not None else None
    key = entry.key if entry is not None else None
    table = get_sensor(entry.key) if entry is not None and entry.has_mtf else None
    notes: list[str] = []
    problems: list[str] = []
    g = parse_gnyq(gnyq)
    if gnyq_pan is not None and not 0 < float(gnyq_pan) < 1:
        raise InputError(f"gnyq_pan (--gnyq-pan) must be in (0, 1), got {gnyq_pan}")
    pan = float(gnyq_pan) if gnyq_pan is not None else None
    if g is not None:
        if g.size not in (1, n_bands):
            raise InputError(f"gnyq (--gnyq) has {g.size} values for {n_bands} MS bands: give one value or one per "
                             f"band")
        ms = np.full(n_bands, g[0]) if g.size == 1 else g
        source = "user"
        notes.append(f"MS gains given (gnyq = {g.tolist()})")
    elif psf is not None:
        if ratio is None:
            raise InputError("the MTF gain of a PSF needs the ratio")
        ms = np.full(n_bands, psf_nyquist_gain(psf, ratio))
        source = "psf"
        notes.append(f"MS gains from the given PSF: {ms[0]:.4g} at the MS Nyquist frequency")
    elif table is not None and (table.uniform or len(table.ms_gnyq) == n_bands or
                                _named_subset(table, band_names, n_bands)):
        if table.uniform or len(table.ms_gnyq) == n_bands:
            ms = np.asarray(table.gains(n_bands=n_bands), dtype=np.float64)
            source = "sensor" if pan is None else "user"
        else:
            ms = np.asarray(table.gains(bands=_named_subset(table, band_names, n_bands)), dtype=np.float64)
            source = "user"                 # a subset of the table's gains: passed as explicit gains
            notes.append(f"MS gains of {entry.name}'s bands {list(band_names)} (matched by the MS file's band names)")
        if entry.mtf_placeholder:
            problems.append(f"sensor {entry.name}: the table has no published MTF gains for it ({entry.mtf_source}); "
                            f"the generic stand-in gains are used. Pass gnyq=/--gnyq (and gnyq_pan=/--gnyq-pan) "
                            f"with measured values")
    else:
        ms = np.full(n_bands, float(generic.ms_gnyq[0]))
        source = GENERIC
        if table is not None:
            problems.append(f"sensor {entry.name} has {len(table.ms_gnyq)} MS gains ({_gain_list(entry)}) but the MS "
                            f"image has {n_bands} bands, so they cannot be matched to its bands: the generic MS gain "
                            f"{generic.ms_gnyq[0]:g} is used. Pass gnyq=/--gnyq with {n_bands} values (for a subset "
                            f"of its bands, their gains in order)")
        elif entry is not None:
            problems.append(f"sensor {entry.name} has no MTF gains in the sensor table ({entry.note or 'none known'}); "
                            f"the generic gains ({generic.ms_gnyq[0]:g} MS, {generic.pan_gnyq:g} PAN) are used. Pass "
                            f"gnyq=/--gnyq and gnyq_pan=/--gnyq-pan")
        else:
            problems.append(f"no sensor given: the generic MTF gains of the pansharpening toolbox "
                            f"({generic.ms_gnyq[0]:g} MS, {generic.pan_gnyq:g} PAN) are used for the sensor-aware "
                            f"methods, the reduced-resolution degradation and the full-resolution MTF indices (HQNR). "
                            f"Pass sensor=/--sensor, or gnyq=/--gnyq and gnyq_pan=/--gnyq-pan")
    if pan is None:
        pan = float(table.pan_gnyq) if table is not None else float(generic.pan_gnyq)
        if table is None and source in ("user", "psf"):
            notes.append(f"PAN gain: the generic {pan:g} (give gnyq_pan=/--gnyq-pan)")
    else:
        notes.append(f"PAN gain given (gnyq_pan = {pan:g})")
    return Gains(ms=tuple(float(v) for v in ms), pan=float(pan), source=source, sensor=key,
                 ratio=ratio if ratio is not None else (table.ratio if table is not None else None), notes=notes,
                 warnings=problems)


def _named_subset(table: Any, band_names: Any, n_bands: int) -> list[str] | None:
    """The MS file's band names when each is one of the sensor's gain bands (case-insensitive)."""
    if band_names is None or table.uniform or len(band_names) != n_bands:
        return None
    known = {b.lower() for b in table.ms_bands}
    names = [str(b) for b in band_names]
    return names if all(b.lower() in known for b in names) else None


# ---------------------------------------------------------------------------------------------- PSF
def _read_kernel_file(path: str) -> np.ndarray:
    suffix = Path(path).suffix.lower()
    if not os.path.isfile(path):
        raise InputError(f"PSF file {path!r} not found (give 'gaussian:FWHM' for a Gaussian PSF)")
    if suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if suffix in (".mat", ".npz"):
        if suffix == ".mat":
            from hysupp.io.matlab import load_mat_variables

            variables = load_mat_variables(path)[0]
        else:
            with np.load(path, allow_pickle=False) as z:
                variables = {k: z[k] for k in z.files}
        arrays = {k: np.asarray(v) for k, v in variables.items() if np.ndim(v) == 2 and not str(k).startswith("__")}
        for name in ("psf", "kernel", "h", "PSF"):
            if name in arrays:
                return arrays[name]
        if len(arrays) != 1:
            raise InputError(f"PSF file {path!r}: name the kernel 'psf' or keep one 2-D variable (found "
                             f"{sorted(arrays)})")
        return next(iter(arrays.values()))
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        delimiter = "," if "," in text else None
        return np.loadtxt(path, delimiter=delimiter, comments="#", ndmin=2)
    except (OSError, ValueError) as exc:
        raise InputError(f"PSF file {path!r}: expected a 2-D table of numbers ({exc})") from None


def parse_psf(psf: Any) -> tuple[Any, dict[str, Any] | None]:
    """``(psf, record)``: a Gaussian FWHM (float, high-resolution pixels) or a normalised odd 2-D
    kernel, from a number, ``"gaussian:FWHM"``, an array or a kernel file (module docstring);
    ``(None, None)`` for None."""
    if psf is None:
        return None, None
    from hysupp.physics.blur import Blur

    if isinstance(psf, Blur):
        return psf, {"kind": "blur", "operator": psf.to_dict()}
    spec = psf
    path = None
    if isinstance(psf, (str, os.PathLike)):
        text = os.fspath(psf)
        m = _PSF_SPEC.match(text)
        if m or re.fullmatch(r"\s*[0-9.eE+-]+\s*", text):
            try:
                spec = float(m.group(1) if m else text)
            except ValueError:
                raise InputError(f"psf: bad FWHM in {text!r}") from None
        else:
            path = text
            spec = _read_kernel_file(text)
    if np.ndim(spec) == 0:
        fwhm = float(spec)
        if not (np.isfinite(fwhm) and fwhm > 0):
            raise InputError(f"psf: the Gaussian FWHM must be > 0 (high-resolution pixels), got {fwhm}")
        return fwhm, {"kind": "gaussian", "fwhm": fwhm, "unit": "high-resolution pixels"}
    k = np.asarray(spec, dtype=np.float64)
    where = f"PSF file {path!r}" if path else "psf"
    if k.ndim != 2 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
        raise InputError(f"{where}: a kernel must be a 2-D array of odd sizes (centred on a pixel), got shape "
                         f"{k.shape}")
    if not np.isfinite(k).all() or (k < 0).any() or not k.sum() > 0:
        raise InputError(f"{where}: the kernel must be finite and non-negative with a positive sum")
    rec: dict[str, Any] = {"kind": "kernel", "shape": list(k.shape), "sum": float(k.sum())}
    if path:
        from hysupp.records import file_sha256

        rec.update(path=path, sha256=file_sha256(path))
    if abs(k.sum() - 1.0) > 1e-6:
        rec["note"] = f"normalised to unit sum (its sum was {k.sum():.6g})"
    return k / k.sum(), rec


# ---------------------------------------------------------------------------------------------- SRF
def read_srf(srf: Any, key: str | None = None) -> tuple[Any, dict[str, Any] | None]:
    """``(SRFSpec, record)`` from an :class:`~hysupp.physics.spectral.SRFSpec`, an array or a file
    (module docstring); ``(None, None)`` for None."""
    from hysupp.physics.spectral import SRFSpec, read_srf_text, srf_spec_from_variables

    if srf is None:
        return None, None
    if isinstance(srf, SRFSpec):
        return srf, {"given": "SRFSpec"}
    if isinstance(srf, (str, os.PathLike)):
        path = os.fspath(srf)
        if not os.path.isfile(path):
            raise InputError(f"SRF file {path!r} not found")
        suffix = Path(path).suffix.lower()
        if suffix in (".csv", ".txt", ".tsv", ".dat"):
            spec = read_srf_text(path)
        elif suffix == ".mat":
            from hysupp.io.matlab import load_mat_variables

            spec = srf_spec_from_variables(load_mat_variables(path)[0], path, key=key)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                spec = srf_spec_from_variables({k: z[k] for k in z.files}, path, key=key)
        elif suffix == ".npy":
            spec = srf_spec_from_variables({"srf": np.load(path, allow_pickle=False)}, path)
        else:
            raise InputError(f"SRF file {path!r}: expected .csv/.txt (a table), .mat, .npz or .npy")
        from hysupp.records import file_sha256

        return spec, {"path": path, "sha256": file_sha256(path)}
    arr = np.asarray(srf, dtype=np.float64)
    if arr.ndim != 2:
        raise InputError(f"srf must be a (MS bands, HS bands) matrix, got an array of shape {arr.shape}")
    return SRFSpec("matrix", (), matrix=arr, source="array"), {"given": "array"}


def ms_band_centres(spec: Any, high: Any, sensor: str | None) -> tuple[Any, Any, str | None]:
    """``(centres, fwhm, where)`` of the high-resolution bands in nm, for the SRF/PSF estimator:
    from the user's SRF, the MS file's band wavelengths and widths, or the sensor's bands (its PAN
    for a one-band image; its MS bands when the counts or the band names match); ``(None, None,
    None)`` when unknown."""
    n = high.n_bands
    if spec is not None:
        c, f = spec.band_centres()
        if c is not None and len(c) == n:
            return c, f, "the given SRF"
    if high.wavelengths is not None and high.fwhm is not None and len(high.wavelengths) == n:
        return np.asarray(high.wavelengths, float), np.asarray(high.fwhm, float), "the MS file's band wavelengths"
    if sensor is not None:
        from hysupp.physics.sensors import lookup_sensor

        entry = lookup_sensor(sensor)
        pan, ms = entry.group("pan"), entry.group("ms")
        chosen = None
        if n == 1 and pan:
            chosen = pan
        elif len(ms) == n:
            chosen = ms
        else:
            names = [str(x).upper() for x in (high.extras.get("band_names") or [])]
            by = {b.name.upper(): b for b in entry.bands}
            if len(names) == n and all(x in by for x in names):
                chosen = tuple(by[x] for x in names)
        if chosen:
            return (np.array([b.centre for b in chosen]), np.array([b.fwhm for b in chosen]),
                    f"the bands of {entry.name} in the sensor table")
    return None, None, None


@dataclass
class ResolvedResponses:
    """The SRF ``(C, L)`` and PSF an HS-MS method runs with and the ``record`` of where they
    come from (given, the pair's protocol, estimated) with the estimator's diagnostic."""

    srf: np.ndarray | None
    psf: Any
    record: dict[str, Any]


def resolve_responses(hs: np.ndarray, ms: np.ndarray, ratio: int, *, srf: np.ndarray | None, psf: Any,
                      srf_from: str | None, psf_from: str | None, hs_wavelengths: Any = None,
                      ms_centres: Any = None, ms_fwhm: Any = None, centres_from: str | None = None,
                      diagnose: bool = True) -> ResolvedResponses:
    """Estimate what is missing (module docstring); with both given and ``diagnose``, the fit of the
    given responses to the data is diagnosed (:func:`~hysupp.fusion.hsms.responses.estimate_srf_psf`
    with both held fixed). Warnings of the estimator are issued as it issues them."""
    from hysupp.fusion.hsms.responses import estimate_srf_psf

    record: dict[str, Any] = {"srf": srf_from or "estimated from the pair", "psf": psf_from or "estimated from the pair"}
    if srf is not None and psf is not None and not diagnose:
        return ResolvedResponses(srf, psf, record)
    wl = None if hs_wavelengths is None else np.asarray(hs_wavelengths, dtype=np.float64)
    use_centres = wl is not None and ms_centres is not None and ms_fwhm is not None
    est = estimate_srf_psf(hs, ms, ratio, srf=srf, psf=psf, hs_wavelengths=wl,
                           ms_centres=ms_centres if use_centres else None, ms_fwhm=ms_fwhm if use_centres else None)
    info = est.to_info()
    if srf is not None:
        info.pop("srf")
    if psf is not None:
        info.pop("psf")
    record["estimate"] = info
    record["band_limits"] = (f"MS band centres/FWHM from {centres_from}" if use_centres else
                             "none (HS wavelengths or MS band centres unknown): the SRF rows may use every HS band")
    return ResolvedResponses(est.srf if srf is None else srf, est.psf if psf is None else psf, record)


def consistency_metrics(fused: np.ndarray, hs: np.ndarray, ms: np.ndarray, ratio: int, srf: np.ndarray,
                        psf: Any) -> dict[str, Any]:
    """Full-resolution consistency of an HS-MS fusion with the physics it ran with: the fused
    image through the SRF against the MS (``spectral_*``) and through the PSF and the decimation
    against the HS (``spatial_*``): RMSE, PSNR, SAM, ERGAS. A method can satisfy both without
    being right (they score agreement with the model, not with the unseen truth)."""
    from hysupp.fusion.hsms.common import degrade
    from hysupp.metrics.fusion import ergas, psnr, rmse, sam

    out: dict[str, Any] = {"protocol": "fr", "consistency": True}
    spectral = np.einsum("cl,lhw->chw", np.asarray(srf, dtype=np.float64), np.asarray(fused, dtype=np.float64))
    spatial = degrade(fused, ratio, psf)
    for name, ref, est in (("spectral", ms, spectral), ("spatial", hs, spatial)):
        out[f"{name}_rmse"] = rmse(ref, est)
        out[f"{name}_psnr_db"] = psnr(ref, est)
        out[f"{name}_sam_deg"] = sam(ref, est) if ref.shape[0] > 1 else None
        out[f"{name}_ergas"] = ergas(ref, est, ratio=ratio)
    out["conventions"] = {"spectral": "SRF @ fused vs the MS", "spatial": "decimate(PSF * fused) vs the HS "
                          "(phase ratio // 2)", "ratio": ratio}
    return out
