r"""Fusion pairs (DESIGN §2): reduced-resolution MS+PAN pairs and HS+MS pairs with their protocol.

A fusion method needs a *low* spatial resolution image (MS for pansharpening, HS for HS-MS fusion),
a *high* spatial resolution image (PAN, or MS) and, to be scored, the *reference* it should
recover. Three simulators build such a :class:`~hysupp.pair.FusionPair` (the data model,
:mod:`hysupp.pair`) from physics operators (:mod:`hysupp.physics`), and every operator's
``to_dict()`` goes into ``pair.protocol``, a JSON value that travels with the data (and into every
file written by :func:`hysupp.io.pair.save_fusion_pair`).

Wald's reduced-resolution protocol (:func:`wald_pansharpening_pair`)
--------------------------------------------------------------------
Real MS and PAN images have no higher-resolution reference. Wald, Ranchin & Mangolini (1997)
degrade both by the resolution ratio :math:`r` and use the original MS as the reference
("synthesis property" checked at the lower scale). Following the pansharpening toolbox of Vivone
et al. (2015) (``resize_images.m``), with :math:`\mathbf M` the MS image ``(L, h, w)`` and
:math:`\mathbf P` the PAN ``(1, r h, r w)``:

.. math::
    \mathbf M_{\downarrow} = \mathcal D_{r,\phi}\big(\mathbf h^{\mathrm{MS}}_{l} * \mathbf M_l\big)_{l},
    \qquad
    \mathbf P_{\downarrow} = \mathcal D_{r,\phi}\big(\mathbf h^{\mathrm{PAN}} * \mathbf P\big),
    \qquad \text{reference} = \mathbf M ,

where :math:`\mathbf h_l` are the MTF-matched Gaussian filters of the sensor (one per MS band,
Nyquist gains of :data:`hysupp.physics.mtf.SENSORS`, :func:`hysupp.physics.mtf.mtf_blur`) and
:math:`\mathcal D_{r,\phi}` keeps pixel :math:`i r + \phi` (``phase="center"``,
:math:`\phi = \lfloor r/2 \rfloor`, is MATLAB's ``imresize(.., 1/r, 'nearest')`` used by the
toolbox). The low input is :math:`\mathbf M_\downarrow` ``(L, h/r, w/r)``, the high input is
:math:`\mathbf P_\downarrow` ``(1, h, w)``, at the size of the reference.

PAN degradation (``pan_degradation``). The toolbox's own reduced-resolution protocol
(``resize_images.m``: version 1.3 with ``flag_PAN_MTF = 0``, and the later toolbox of Vivone et al.
2021) resizes the PAN with ``imresize(P, 1/r)`` -- bicubic with antialiasing,
:class:`~hysupp.physics.sampling.ImresizeBicubic` -- not with its MTF filter. That is the default
here, ``pan_degradation="bicubic"``, because it is the protocol behind the published tables
(Vivone et al. 2015, 2021) and the one every toolbox number is computed with: with the PAN MTF
instead, Q2n moves by up to 0.03 on the WV2 pair and method rankings change.
``pan_degradation="mtf"`` filters the PAN with the sensor's PAN MTF and decimates it like the MS
(the physically consistent Wald degradation of Aiazzi et al. 2006). With ``design="toolbox"`` and
``mtf_gain="toolbox"`` (the toolbox's un-normalised kernels, DC gain about 0.999) the pair equals
the toolbox's to rounding (``benchmarks/parity_pansharpening.py``).

From a high-resolution cube (:func:`synthesize_pansharpening_pair`)
-------------------------------------------------------------------
With a hyperspectral (or any) cube :math:`\mathbf X` ``(L, H, W)`` and a sensor's spectral
responses :math:`\mathbf R_{\mathrm{MS}}` ``(M, L)`` and :math:`\mathbf r_{\mathrm{PAN}}`
``(1, L)`` (:func:`hysupp.physics.spectral.sensor_srf`, rows of unit area):

.. math::
    \text{reference} = \mathbf R_{\mathrm{MS}}\mathbf X, \qquad
    \text{low} = \mathcal D_{r,\phi}\big(\mathbf h^{\mathrm{MS}} * \mathbf R_{\mathrm{MS}}\mathbf X\big)
    + \mathbf n_{\mathrm{MS}}, \qquad
    \text{high} = \mathbf r_{\mathrm{PAN}}\mathbf X + \mathbf n_{\mathrm{PAN}} .

HS-MS pairs (:func:`hs_ms_pair`)
--------------------------------
The "standard simulation" of Yokoya, Grohnfeldt & Chanussot (2017): the MS image is the
reference degraded in the spectral domain with the SRFs of an MS sensor, the HS image is the
reference blurred with an isotropic Gaussian PSF whose FWHM equals the resolution ratio, then
decimated; noise is added to both:

.. math::
    \text{low} = \mathcal D_{r,\phi}\big(\mathbf g_{\mathrm{FWHM}=r} * \mathbf X\big) + \mathbf n_{\mathrm{HS}},
    \qquad \text{high} = \mathbf R\,\mathbf X + \mathbf n_{\mathrm{MS}},
    \qquad \text{reference} = \mathbf X .

Noise: ``noise="band"`` (default) gives *each band* the requested SNR,
:math:`\sigma_b^2 = \operatorname{mean}(Y_b^2) / 10^{\mathrm{SNR}/10}`
(:func:`hysupp.physics.noise.add_band_noise`); ``noise="global"`` uses one :math:`\sigma` for all
bands from the global mean power (HySUPP's definition, :func:`hysupp.physics.noise.add_awgn`).
Both give the requested SNR over the whole image. The two noise draws come from independent
streams ``numpy.random.SeedSequence(seed).spawn(2)`` (low first, high second), so setting one
SNR to ``None`` does not change the other image's noise.

Defaults and where they come from
---------------------------------
* Gaussian PSF with FWHM = ratio (HS-MS): Yokoya et al. (2017), "Standard simulation" (p. 38 of
  the magazine: "an isotropic Gaussian PSF with an FWHM of the Gaussian function equal to the
  resolution ratio between the GSDs").
* SNR 35 dB (HS) and 40 dB (MS): the values this project adopts for Yokoya et al.'s standard
  simulation; the paragraph of the paper that states its noise levels could not be consulted while
  writing this module, so check them against the paper before quoting them as the paper's.
* MS sensor ``"IKONOS"`` for HS-MS pairs: Yokoya et al. use WV-2, WV-3, QuickBird and Sentinel-2
  SRFs on wide-range sensors; for a VNIR-only cube such as ROSIS Pavia (430-860 nm) the IKONOS
  B, G, R, NIR bands are the built-in set whose responses the grid covers (>= 90 %; WV-2's
  Coastal/NIR bands and QuickBird's NIR are cut at 860 nm). HySure's Pavia experiment also uses
  IKONOS responses.
* MTF gains, 41-tap filters, ``replicate`` borders and the ``center`` decimation phase: the
  pansharpening toolbox (Vivone et al. 2015), see :mod:`hysupp.physics.mtf`. ``design="exact"``
  (default) tunes each kernel so its measured Nyquist gain equals the table's value;
  ``design="toolbox"`` reproduces the toolbox's slightly wider kernels.

Crops and georeferencing
------------------------
The reference is cropped to a multiple of the ratio (``crop="topleft"``, or ``"center"``); the
window is recorded in ``protocol["crop"]``. When the source has a :class:`~hysupp.scene.Georef`,
the reference keeps it (origin moved to the crop) and a decimated image gets the transform scaled
by the ratio, with its origin placed so that low-resolution pixel centres fall on the centres of
the high-resolution pixels they sampled (phase :math:`\phi`: offset :math:`\phi + 1/2 - r/2`
high-resolution pixels; block-mean decimation and bicubic resizing: no offset).

Files
-----
Pairs are written and read by :mod:`hysupp.io.pair` (:func:`~hysupp.io.pair.save_fusion_pair`:
``.npz``, ``.mat``, PanCollection ``.h5``, with the protocol embedded;
:func:`~hysupp.io.pair.load_fusion_pair`); ``hysupp.simulate`` re-exports both.

References
----------
L. Wald, T. Ranchin, M. Mangolini, "Fusion of satellite images of different spatial resolutions:
assessing the quality of resulting images", Photogramm. Eng. Remote Sens. 63(6):691-699, 1997.
G. Vivone, L. Alparone, J. Chanussot, M. Dalla Mura, A. Garzelli, G. Licciardi, R. Restaino,
L. Wald, "A critical comparison among pansharpening algorithms", IEEE TGRS 53(5):2565-2586, 2015,
doi:10.1109/TGRS.2014.2361734.
N. Yokoya, C. Grohnfeldt, J. Chanussot, "Hyperspectral and multispectral data fusion: a
comparative review of the recent literature", IEEE Geosci. Remote Sens. Mag. 5(2):29-56, 2017,
doi:10.1109/MGRS.2016.2637824.
B. Aiazzi, L. Alparone, S. Baronti, A. Garzelli, M. Selva, "MTF-tailored multiscale fusion of
high-resolution MS and Pan imagery", Photogramm. Eng. Remote Sens. 72(5):591-596, 2006.
X. Deng, C. Wu, L.-J. Deng, et al., "Machine learning in pansharpening: a benchmark, from shallow
to deep networks", IEEE Geosci. Remote Sens. Mag. 10(3):279-315, 2022 (PanCollection layout).

Example
-------
>>> import numpy as np
>>> from hysupp import Scene
>>> from hysupp.simulate.fusion import hs_ms_pair, wald_pansharpening_pair
>>> rng = np.random.default_rng(0)
>>> pair = wald_pansharpening_pair(rng.random((4, 16, 16)), rng.random((64, 64)), 4, "QuickBird")
>>> pair.reference.shape, pair.low.shape, pair.high.shape, pair.protocol["mtf"]["ms_gnyq"]
((4, 16, 16), (4, 4, 4), (1, 16, 16), [0.34, 0.32, 0.3, 0.22])
>>> wl = np.linspace(430.0, 860.0, 60)
>>> hs = Scene(cube=rng.random((60, 18, 17)), wavelengths=wl)
>>> p2 = hs_ms_pair(hs, 4, seed=1)
>>> p2.low.shape, p2.high.shape, p2.protocol["crop"]["rows"], p2.protocol["crop"]["cols"]
((60, 4, 4), (4, 16, 16), [0, 16], [0, 16])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hysupp.errors import HysuppError, InputError
from hysupp.methods.params import Param
from hysupp.pair import FusionPair, attach_protocol, check_ratio
from hysupp.physics.operator import is_torch
from hysupp.physics.sampling import ImresizeBicubic
from hysupp.scene import Georef, Scene
from hysupp.simulate.recipes import Recipe, register_recipe

__all__ = [
    "full_resolution_pair",
    "hs_ms_pair",
    "synthesize_pansharpening_pair",
    "wald_pansharpening_pair",
]

REF_WALD = ("L. Wald, T. Ranchin, M. Mangolini, 'Fusion of satellite images of different spatial resolutions: "
            "assessing the quality of resulting images', PE&RS 63(6):691-699, 1997")
REF_VIVONE = ("G. Vivone et al., 'A critical comparison among pansharpening algorithms', IEEE TGRS "
              "53(5):2565-2586, 2015, doi:10.1109/TGRS.2014.2361734 (toolbox resize_images.m)")
REF_YOKOYA = ("N. Yokoya, C. Grohnfeldt, J. Chanussot, 'Hyperspectral and multispectral data fusion: a "
              "comparative review of the recent literature', IEEE GRSM 5(2):29-56, 2017, "
              "doi:10.1109/MGRS.2016.2637824")
REF_AIAZZI = ("B. Aiazzi, L. Alparone, S. Baronti, A. Garzelli, M. Selva, 'MTF-tailored multiscale fusion of "
              "high-resolution MS and Pan imagery', PE&RS 72(5):591-596, 2006")

_CROPS = ("topleft", "center")
_NOISE = ("band", "global")
_PAN_DEGRADATIONS = ("bicubic", "mtf")
_MTF_GAINS = ("unit", "toolbox")


# =============================================================================================
# validation helpers
# =============================================================================================
def _parse_phase(phase: Any) -> Any:
    """Recipe strings like '2' become integers; names are kept."""
    if isinstance(phase, str):
        t = phase.strip()
        if t.lstrip("+-").isdigit():
            return int(t)
        return t
    return phase


def _as_cube(x: Any, what: str) -> tuple[np.ndarray, Scene | None]:
    """A finite 3-D array (and the Scene it came from)."""
    scene = x if isinstance(x, Scene) else None
    arr = scene.require_cube() if scene is not None else x
    if is_torch(arr):
        raise InputError(f"{what}: pass a numpy array or a Scene, not a torch tensor")
    arr = np.asarray(arr)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) \
            or np.iscomplexobj(arr):
        raise InputError(f"{what} must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != 3:
        raise InputError(f"{what} must be a cube (bands, rows, cols), got shape {arr.shape}")
    bad = ~np.isfinite(arr) if np.issubdtype(arr.dtype, np.floating) else None
    if bad is not None and bad.any():
        raise InputError(f"{what} has {int(bad.sum())} non-finite values; fusion pairs need a complete "
                         f"image: crop it to a valid window first")
    if scene is not None and scene.mask is not None and not scene.mask.all():
        raise InputError(f"{what} has {int((~scene.mask).sum())} invalid pixels (mask); fusion pairs need a "
                         f"complete image: crop it to a valid window first")
    return arr, scene


def _as_pan(pan: Any) -> tuple[np.ndarray, Scene | None]:
    scene = pan if isinstance(pan, Scene) else None
    arr = np.asarray(scene.require_cube() if scene is not None else pan)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] != 1:
        shape = np.shape(pan if scene is None else arr)
        raise InputError(f"PAN must be one band, (H, W) or (1, H, W), got shape {shape}")
    arr, _ = _as_cube(arr, "PAN")
    if scene is not None and scene.mask is not None and not scene.mask.all():
        raise InputError(f"PAN has {int((~scene.mask).sum())} invalid pixels (mask); crop to a valid window first")
    return arr, scene


def _out_dtype(dtype: Any, like: np.ndarray) -> np.dtype:
    if dtype is None:
        return like.dtype if np.issubdtype(like.dtype, np.floating) else np.dtype(np.float32)
    dt = np.dtype(dtype)
    if not np.issubdtype(dt, np.floating):
        raise InputError(f"dtype must be a floating type (float32 or float64), got {dt}")
    return dt


def _crop_window(h: int, w: int, ratio: int, anchor: str, what: str) -> tuple[int, int, int, int]:
    if anchor not in _CROPS:
        raise InputError(f"crop must be one of {', '.join(_CROPS)}, got {anchor!r}")
    hc, wc = (h // ratio) * ratio, (w // ratio) * ratio
    if hc == 0 or wc == 0:
        raise InputError(f"{what} of {h} x {w} pixels is smaller than the ratio {ratio}")
    if anchor == "topleft":
        return 0, 0, hc, wc
    return (h - hc) // 2, (w - wc) // 2, hc, wc


def _crop_record(r0: int, c0: int, hc: int, wc: int, h: int, w: int, anchor: str, ratio: int) -> dict[str, Any]:
    return {"anchor": anchor, "rows": [r0, r0 + hc], "cols": [c0, c0 + wc], "source_shape": [h, w],
            "cropped": (hc, wc) != (h, w), "multiple_of": ratio}


def _affine(g: Georef | None, scale: float, offset: float) -> Georef | None:
    """Georef of a grid whose pixel (i, j) spans ``scale`` source pixels starting at source pixel
    ``(i * scale + offset, j * scale + offset)``."""
    if g is None or g.transform is None:
        return g
    a, b, c, d, e, f = (float(v) for v in g.transform[:6])
    return Georef(crs=g.crs, transform=(a * scale, b * scale, c + a * offset + b * offset,
                                        d * scale, e * scale, f + d * offset + e * offset), nodata=g.nodata)


def _shift(g: Georef | None, row0: int, col0: int) -> Georef | None:
    if g is None or g.transform is None or (row0 == 0 and col0 == 0):
        return g
    a, b, c, d, e, f = (float(v) for v in g.transform[:6])
    return Georef(crs=g.crs, transform=(a, b, c + a * col0 + b * row0, d, e, f + d * col0 + e * row0),
                  nodata=g.nodata)


def _decimation_offset(phase: Any, ratio: int) -> float:
    """Where (in source pixels) a decimated pixel's footprint starts, so its centre is the sample's."""
    if isinstance(phase, (int, np.integer)):
        return phase + 0.5 - ratio / 2.0
    return 0.0


def _version() -> str:
    from hysupp import __version__

    return __version__


def _jsonable(d: Any) -> Any:
    from hysupp.records import to_jsonable

    return to_jsonable(d)


def _scene(cube: np.ndarray, dt: np.dtype, name: str, role: str, *, wavelengths: Any = None, fwhm: Any = None,
           georef: Georef | None = None, notes: Sequence[str] = (), extras: dict | None = None) -> Scene:
    ex = {"fusion_role": role}
    if extras:
        ex.update(extras)
    return Scene(cube=np.ascontiguousarray(cube.astype(dt, copy=False)), wavelengths=wavelengths, fwhm=fwhm,
                 georef=georef, name=f"{name}-{role}", layout=f"fusion:{role}", notes=list(notes), extras=ex)


def _noise_model(kind: str, snr: float | None) -> Any:
    from hysupp.physics.noise import NoiseModel

    if snr is None:
        return None
    if kind not in _NOISE:
        raise InputError(f"noise must be one of {', '.join(_NOISE)}, got {kind!r}")
    return NoiseModel("band" if kind == "band" else "awgn", float(snr))


def _apply_noise(Y: np.ndarray, model: Any, seq: np.random.SeedSequence) -> np.ndarray:
    if model is None:
        return Y
    return np.asarray(model.apply(Y, seed=np.random.default_rng(seq)))


# =============================================================================================
# pansharpening: Wald's reduced-resolution protocol
# =============================================================================================
def _mtf_entry(sensor: Any, what: str) -> Any:
    from hysupp.physics.mtf import get_sensor

    try:
        return get_sensor(sensor)
    except InputError as exc:
        raise InputError(f"{what}: no MTF gains for sensor {sensor!r} ({exc}); pass gnyq= (and gnyq_pan=) or "
                         f"a sensor of that table (e.g. 'generic' for the toolbox default gains)") from None


def wald_pansharpening_pair(ms: Scene | np.ndarray, pan: Scene | np.ndarray | None = None,
                            ratio: int | None = None, sensor: str | None = None, *,
                            phase: int | str = "center", mode: str = "replicate", design: str = "exact",
                            taps: int = 41, pan_degradation: str = "bicubic", mtf_gain: str = "unit",
                            gnyq: Any = None, gnyq_pan: float | None = None,
                            bands: Sequence[int | str] | None = None, crop: str = "topleft",
                            dtype: Any = None, pan_filter: str | None = None) -> FusionPair:
    r"""Wald's reduced-resolution MS+PAN pair (Vivone et al. 2015, ``resize_images.m``).

    .. math::
        \text{low} = \mathcal D_{r,\phi}(\mathbf h^{\mathrm{MS}}_l * \mathbf M_l)_l,\qquad
        \text{high} = \mathrm{imresize}(\mathbf P, 1/r)\ \text{(default) or }
        \mathcal D_{r,\phi}(\mathbf h^{\mathrm{PAN}} * \mathbf P),\qquad
        \text{reference} = \mathbf M

    Any integer ratio >= 2 (the MTF kernels are designed for the ratio, the decimation keeps pixel
    ``i r + r // 2``).

    Parameters
    ----------
    ms : Scene or ndarray, shape (L, h, w)
        The MS image. A Scene read from an MS+PAN file (layout ``pansharpening-pair``) also
        supplies ``pan``, ``ratio`` and ``sensor`` from ``extras`` when they are not given.
    pan : Scene or ndarray, shape (H, W) or (1, H, W), optional
        The PAN image, exactly ``ratio`` times the MS size (before the crop).
    ratio : int, optional
        Resolution ratio (integer >= 2).
    sensor : str, optional
        A sensor of :data:`hysupp.physics.mtf.SENSORS` ("WV2", "QB", "IKONOS", ...): its MS and PAN
        Nyquist gains. Only recorded when ``gnyq`` and ``gnyq_pan`` are both given.
    phase : int or str
        Decimation phase (:class:`~hysupp.physics.sampling.Decimation`); ``"center"`` is the
        toolbox's ``imresize(.., 'nearest')``.
    mode : str
        Border mode of the MTF filters (``replicate`` as the toolbox's ``imfilter``).
    design : {"exact", "toolbox"}
        MTF kernel construction (:func:`hysupp.physics.mtf.mtf_kernel`).
    taps : int
        MTF kernel size (41).
    pan_degradation : {"bicubic", "mtf"}
        PAN degradation: ``imresize(P, 1/r)`` (:class:`~hysupp.physics.sampling.ImresizeBicubic`,
        the toolbox's protocol, default: see the module notes for why), or the sensor's PAN MTF +
        decimation at ``phase``.
    mtf_gain : {"unit", "toolbox"}
        ``unit``: MTF kernels of sum 1; ``toolbox``: scaled to the DC gain of the toolbox's
        un-normalised ``genMTF.m`` kernels (:func:`hysupp.physics.mtf.toolbox_dc_gain`, about
        0.999; with ``design="toolbox"`` the toolbox's filtered values exactly).
    pan_filter : optional
        Former name of ``pan_degradation`` (accepted, deprecated).
    gnyq, gnyq_pan : optional
        Explicit MS gains (one or one per band) and PAN gain instead of the sensor's.
    bands : sequence, optional
        Subset of the sensor's MS bands matching the MS image's bands (names or indices).
    crop : {"topleft", "center"}
        Where the MS is cropped to a multiple of ``ratio`` (the PAN accordingly).
    dtype : optional
        Output float dtype; default the MS dtype (float32 for integer data).

    Returns
    -------
    FusionPair
        ``kind="pansharpening"``; reference ``(L, h', w')``, low ``(L, h'/r, w'/r)``, high
        ``(1, h', w')`` with ``h' = r floor(h / r)``.

    Raises
    ------
    InputError
        Non-integer ratio, MS/PAN size mismatch, no PAN, unknown sensor, band-count mismatch.

    Examples
    --------
    >>> import numpy as np
    >>> ms, pan = np.ones((8, 12, 12)), np.ones((48, 48))
    >>> pair = wald_pansharpening_pair(ms, pan, 4, "WV2")
    >>> pair.low.shape, pair.high.shape, pair.protocol["pan_degradation"]
    ((8, 3, 3), (1, 12, 12), 'bicubic')
    >>> wald_pansharpening_pair(ms, pan, 4, "WV2", pan_degradation="mtf").protocol["mtf"]["pan_gnyq"]
    0.11
    >>> bool(np.allclose(pair.low.cube, 1.0))        # filters have unit DC gain
    True
    >>> wald_pansharpening_pair(ms, np.ones((40, 48)), 4, "WV2")   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hysupp.errors.InputError: MS/PAN size mismatch: the PAN is 40 x 48 pixels, ratio 4 x the MS (12 x 12) is 48 x 48
    """
    from hysupp.physics.mtf import mtf_blur, toolbox_dc_gain
    from hysupp.physics.sampling import Decimation

    M, ms_scene = _as_cube(ms, "MS")
    extras = ms_scene.extras if ms_scene is not None else {}
    if pan is None:
        pan = extras.get("pan")
        if pan is None:
            raise InputError("no PAN image: pass pan=, or an MS Scene read from an MS+PAN file "
                             "(extras['pan'])")
    P, pan_scene = _as_pan(pan)
    if ratio is None:
        ratio = extras.get("ratio")
        if ratio is None:
            raise InputError("give ratio= (the MS Scene has no extras['ratio'])")
    r = check_ratio(ratio)
    if sensor is None:
        sensor = extras.get("sensor")
    if sensor is None and (gnyq is None or gnyq_pan is None):
        raise InputError("give sensor= (a sensor of hysupp.physics.mtf.SENSORS) or explicit gains gnyq= and "
                         "gnyq_pan=")
    if pan_filter is not None:
        import warnings

        warnings.warn("wald_pansharpening_pair(pan_filter=) is now pan_degradation=", DeprecationWarning,
                      stacklevel=2)
        pan_degradation = pan_filter
    if pan_degradation not in _PAN_DEGRADATIONS:
        raise InputError(f"pan_degradation must be one of {', '.join(_PAN_DEGRADATIONS)}, got {pan_degradation!r}")
    if mtf_gain not in _MTF_GAINS:
        raise InputError(f"mtf_gain must be one of {', '.join(_MTF_GAINS)}, got {mtf_gain!r}")
    L, h, w = M.shape
    H, W = P.shape[1:]
    if (H, W) != (h * r, w * r):
        raise InputError(f"MS/PAN size mismatch: the PAN is {H} x {W} pixels, ratio {r} x the MS ({h} x {w}) is "
                         f"{h * r} x {w * r}")
    entry = _mtf_entry(sensor, "Wald pair") if sensor is not None and (gnyq is None or gnyq_pan is None) else None
    sensor_key = entry.key if entry is not None else sensor
    dt = _out_dtype(dtype, M)
    r0, c0, hc, wc = _crop_window(h, w, r, crop, "the MS image")
    Mc = np.asarray(M[:, r0:r0 + hc, c0:c0 + wc], dtype=np.float64)
    Pc = np.asarray(P[:, r0 * r:(r0 + hc) * r, c0 * r:(c0 + wc) * r], dtype=np.float64)
    phase = _parse_phase(phase)
    dec = Decimation(r, phase)
    try:
        ms_blur = mtf_blur(entry, r, gnyq=gnyq, n_bands=L, bands=bands,
                           taps=taps, mode=mode, design=design)
    except InputError as exc:
        raise InputError(f"Wald pair, MS filters: {exc}") from None
    low = dec.forward(ms_blur.forward(Mc))
    if mtf_gain == "toolbox":
        dc = np.array([toolbox_dc_gain(float(g), r, taps) for g in np.ravel(ms_blur.to_dict()["gnyq"])])
        low = low * (dc[:, None, None] if dc.size > 1 else dc[0])
    pan_gain = float(gnyq_pan) if gnyq_pan is not None else float(entry.pan_gnyq)
    if pan_degradation == "mtf":
        pan_blur = mtf_blur(entry, r, gnyq=pan_gain, pan=True, taps=taps,
                            mode=mode, design=design)
        high = dec.forward(pan_blur.forward(Pc))
        if mtf_gain == "toolbox":
            high = high * toolbox_dc_gain(pan_gain, r, taps)
        pan_ops = {"pan_blur": pan_blur.to_dict(), "pan_decimation": dec.to_dict()}
        pan_chain = ["pan_blur", "pan_decimation"]
        pan_off = _decimation_offset(dec.phase, r)
    else:
        rs = ImresizeBicubic(r)
        high = rs.forward(Pc)
        pan_ops = {"pan_resize": rs.to_dict()}
        pan_chain = ["pan_resize"]
        pan_off = 0.0
    name = ms_scene.name if ms_scene is not None else "wald"
    ms_g = _shift(ms_scene.georef if ms_scene is not None else None, r0, c0)
    if pan_scene is not None and pan_scene.georef is not None:
        pan_g = _affine(_shift(pan_scene.georef, r0 * r, c0 * r), r, pan_off)
    else:
        pan_g = _affine(_affine(ms_g, 1.0 / r, 0.0), r, pan_off)
    off = _decimation_offset(dec.phase, r)
    wl = ms_scene.wavelengths if ms_scene is not None else None
    fw = ms_scene.fwhm if ms_scene is not None else None
    crop_rec = _crop_record(r0, c0, hc, wc, h, w, crop, r)
    crop_rec["pan_rows"], crop_rec["pan_cols"] = [r0 * r, (r0 + hc) * r], [c0 * r, (c0 + wc) * r]
    protocol = {
        "protocol": "wald-reduced-resolution", "kind": "pansharpening", "ratio": r, "phase": dec.phase,
        "sensor": sensor_key,
        "pan_degradation": pan_degradation,
        "mtf": {"ms_gnyq": ms_blur.to_dict()["gnyq"], "pan_gnyq": pan_gain if pan_degradation == "mtf" else None,
                "design": design, "taps": taps, "gain": mtf_gain,
                "mode": mode, "pan_filter": pan_degradation},
        "operators": {"ms_blur": ms_blur.to_dict(), "ms_decimation": dec.to_dict(), **pan_ops},
        "chains": {"low": ["ms_blur", "ms_decimation"], "high": pan_chain, "reference": []},
        "noise": {"low": None, "high": None}, "seed": None,
        "source": {"name": name, "layout": ms_scene.layout if ms_scene is not None else "arrays",
                   "ms_shape": list(M.shape), "pan_shape": [1, H, W]},
        "crop": crop_rec,
        "shapes": {"reference": [L, hc, wc], "low": [L, hc // r, wc // r], "high": [1, hc, wc]},
        "dtype": str(dt),
        "description": "reference = original MS; low = MS blurred with its per-band MTF and decimated; "
                       "high = PAN degraded to the MS resolution",
        "references": [REF_WALD, REF_VIVONE, REF_AIAZZI],
        "hysupp": _version(),
    }
    protocol = _jsonable(protocol)
    ref = _scene(Mc, dt, name, "reference", wavelengths=wl, fwhm=fw, georef=ms_g,
                 notes=[(f"original MS (reference of Wald's protocol), crop rows {crop_rec['rows']} cols "
                         f"{crop_rec['cols']}")])
    lo = _scene(low, dt, name, "low", wavelengths=wl, fwhm=fw, georef=_affine(ms_g, r, off),
                notes=[f"MS degraded by its MTF ({sensor_key}) and decimated by {r} (phase {dec.phase})"])
    hi = _scene(high, dt, name, "high", georef=pan_g,
                notes=[f"PAN degraded to the MS resolution ({pan_degradation})"])
    return attach_protocol(FusionPair(ref, lo, hi, r, protocol, "pansharpening"))


def full_resolution_pair(ms: Scene | np.ndarray, pan: Scene | np.ndarray | None = None,
                         ratio: int | None = None, sensor: str | None = None, *,
                         dtype: Any = None) -> FusionPair:
    """A real MS+PAN pair at its native resolution (no reference), for full-resolution metrics.

    ``pan``, ``ratio`` and ``sensor`` default to an MS Scene's ``extras`` (as
    :func:`wald_pansharpening_pair`); the PAN must be ``ratio`` times the MS size.

    >>> import numpy as np
    >>> p = full_resolution_pair(np.ones((4, 5, 5)), np.ones((20, 20)), 4, "QB")
    >>> p.full_resolution, p.high.shape, p.protocol["protocol"]
    (True, (1, 20, 20), 'full-resolution')
    """
    M, ms_scene = _as_cube(ms, "MS")
    extras = ms_scene.extras if ms_scene is not None else {}
    if pan is None:
        pan = extras.get("pan")
        if pan is None:
            raise InputError("no PAN image: pass pan=, or an MS Scene read from an MS+PAN file (extras['pan'])")
    P, pan_scene = _as_pan(pan)
    r = check_ratio(ratio if ratio is not None else extras.get("ratio"))
    sensor = sensor if sensor is not None else extras.get("sensor")
    L, h, w = M.shape
    H, W = P.shape[1:]
    if (H, W) != (h * r, w * r):
        raise InputError(f"MS/PAN size mismatch: the PAN is {H} x {W} pixels, ratio {r} x the MS ({h} x {w}) is "
                         f"{h * r} x {w * r}")
    dt = _out_dtype(dtype, M)
    name = ms_scene.name if ms_scene is not None else "pair"
    protocol = _jsonable({
        "protocol": "full-resolution", "kind": "pansharpening", "ratio": r, "phase": None, "sensor": sensor,
        "operators": {}, "chains": {"low": [], "high": []}, "noise": {"low": None, "high": None}, "seed": None,
        "source": {"name": name, "layout": ms_scene.layout if ms_scene is not None else "arrays"},
        "crop": None, "shapes": {"reference": None, "low": [L, h, w], "high": [1, H, W]}, "dtype": str(dt),
        "references": [REF_VIVONE], "hysupp": _version()})
    lo = _scene(M, dt, name, "low", wavelengths=ms_scene.wavelengths if ms_scene else None,
                fwhm=ms_scene.fwhm if ms_scene else None, georef=ms_scene.georef if ms_scene else None)
    hi = _scene(P, dt, name, "high", georef=pan_scene.georef if pan_scene is not None else None)
    return attach_protocol(FusionPair(None, lo, hi, r, protocol, "pansharpening"))


# =============================================================================================
# pairs simulated from a high-resolution cube
# =============================================================================================
def _hr_scene(hr: Any, wavelengths: Any, what: str) -> tuple[np.ndarray, Scene | None, np.ndarray]:
    X, scene = _as_cube(hr, what)
    wl = wavelengths if wavelengths is not None else (scene.wavelengths if scene is not None else None)
    if wl is None:
        raise InputError(f"{what} has no wavelengths: spectral responses need the band centres (nm); pass a "
                         f"Scene with wavelengths or wavelengths=")
    wl = np.asarray(wl, dtype=np.float64).ravel()
    if wl.size != X.shape[0]:
        raise InputError(f"{what}: {wl.size} wavelengths for {X.shape[0]} bands")
    return X, scene, wl


def _select_bands(sensor: str, wl: np.ndarray, bands: Any, min_coverage: float, target_fwhm: Any,
                  what: str) -> list[str] | None:
    """None (the sensor's MS set), the covered MS bands ("covered") or explicit names."""
    from hysupp.physics.spectral import get_sensor, sensor_srf

    if bands is None:
        return None
    if isinstance(bands, str):
        if bands.strip().lower() == "covered":
            spec = get_sensor(sensor)
            ok = []
            for b in spec.group("ms"):
                try:
                    sensor_srf(sensor, wl, bands=[b.name], target_fwhm=target_fwhm, min_coverage=min_coverage)
                except InputError:
                    continue
                ok.append(b.name)
            if not ok:
                raise InputError(f"{what}: no MS band of {spec.name} is covered by the wavelength grid "
                                 f"({wl.min():.1f}-{wl.max():.1f} nm) at min_coverage={min_coverage}")
            return ok
        bands = [b.strip() for b in bands.split(",") if b.strip()]
    out = [str(b) for b in bands]
    if not out:
        raise InputError(f"{what}: bands is empty")
    return out


def _srf(sensor: Any, wl: np.ndarray, *, bands: Any, pan: bool, target_fwhm: Any, min_coverage: float,
         what: str, wl_known: bool = True) -> Any:
    from hysupp.physics.spectral import SpectralResponse, sensor_srf

    if isinstance(sensor, SpectralResponse):
        if sensor.n_bands_in != wl.size:
            raise InputError(f"{what}: the SRF has {sensor.n_bands_in} columns, the cube {wl.size} bands")
        return sensor
    if not isinstance(sensor, str):
        R = np.asarray(sensor, dtype=np.float64)
        if R.ndim != 2 or R.shape[1] != wl.size:
            raise InputError(f"{what}: an explicit SRF must be (M, L) with L = {wl.size} bands, got shape {R.shape}")
        if not np.isfinite(R).all() or (R < 0).any():
            raise InputError(f"{what}: an explicit SRF must be finite and non-negative")
        return SpectralResponse(R, wl if wl_known else None, meta={"construction": "explicit matrix"})
    sel = _select_bands(sensor, wl, bands, min_coverage, target_fwhm, what)
    try:
        return sensor_srf(sensor, wl, pan=pan, bands=None if pan else sel, target_fwhm=target_fwhm,
                          min_coverage=min_coverage)
    except InputError as exc:
        hint = "" if pan else " (bands='covered' selects the covered ones)"
        raise InputError(f"{what}: {exc}{hint}") from None


def _ms_gains(entry: Any, spectral_sensor: Any, names: Sequence[str], what: str) -> list[float]:
    """Per-band MTF gains of the chosen MS bands (matched by position in the sensor's MS set)."""
    if entry.uniform:
        return [float(entry.ms_gnyq[0])] * len(names)
    ms_names = [b.name.upper() for b in spectral_sensor.group("ms")]
    if len(ms_names) != len(entry.ms_gnyq):
        raise InputError(f"{what}: the MTF table's {entry.name} has {len(entry.ms_gnyq)} MS gains, the spectral "
                         f"table's {spectral_sensor.name} {len(ms_names)} MS bands; pass gnyq= explicitly")
    return [float(entry.ms_gnyq[ms_names.index(n.upper())]) for n in names]


def synthesize_pansharpening_pair(hr_cube: Scene | np.ndarray, sensor: str = "WV2", ratio: int = 4, *,
                                  wavelengths: Any = None, bands: Any = None, min_coverage: float = 0.9,
                                  phase: int | str = "center", mode: str = "replicate", design: str = "exact",
                                  taps: int = 41, mtf_sensor: str | None = None, gnyq: Any = None,
                                  snr_ms: float | None = None, snr_pan: float | None = None,
                                  noise: str = "band", seed: int = 0, crop: str = "topleft",
                                  dtype: Any = None) -> FusionPair:
    r"""An MS+PAN pair simulated from a high-resolution (hyperspectral) cube.

    .. math::
        \text{reference} = \mathbf R_{\mathrm{MS}}\mathbf X,\qquad
        \text{low} = \mathcal D_{r,\phi}(\mathbf h^{\mathrm{MS}} * \mathbf R_{\mathrm{MS}}\mathbf X)
        + \mathbf n_{\mathrm{MS}},\qquad
        \text{high} = \mathbf r_{\mathrm{PAN}}\mathbf X + \mathbf n_{\mathrm{PAN}}

    Parameters
    ----------
    hr_cube : Scene or ndarray, shape (L, H, W)
        The high-resolution cube with wavelengths (nm; ``wavelengths=`` for an array). Its
        ``fwhm``, when known, gives band-integrated SRF weights.
    sensor : str
        A sensor of :data:`hysupp.physics.spectral.SENSORS_SPECTRAL` with a PAN band ("WV2",
        "QuickBird", "IKONOS", "Landsat-8", "WV3").
    ratio : int
        Resolution ratio (integer >= 2).
    bands : None, "covered", comma-separated str or sequence of str
        MS bands: all of the sensor's MS set (None), those the grid covers ("covered"), or names.
    min_coverage : float
        Minimum fraction of each response inside the cube's spectral range
        (:func:`hysupp.physics.spectral.sensor_srf`).
    phase, mode, design, taps
        Decimation phase and MTF filter options (see :func:`wald_pansharpening_pair`).
    mtf_sensor : str, optional
        Sensor of the MTF table for the Nyquist gains (default: ``sensor``).
    gnyq : float or sequence, optional
        Explicit MS gains instead of the table's.
    snr_ms, snr_pan : float, optional
        SNR (dB) of the noise added to the low MS and to the PAN; None = noise-free (default).
    noise : {"band", "global"}
        Per-band SNR or one global SNR (module notes).
    seed : int
        Seed of the two noise streams.
    crop : {"topleft", "center"}
        Crop to a multiple of ``ratio``.
    dtype : optional
        Output float dtype (default: the cube's).

    Returns
    -------
    FusionPair
        ``kind="pansharpening"``; reference ``(M, H', W')`` (noise-free HR MS), low
        ``(M, H'/r, W'/r)``, high ``(1, H', W')``.

    Raises
    ------
    InputError
        Sensor without PAN, wavelengths not covering a band, non-integer ratio, missing wavelengths.

    Examples
    --------
    >>> import numpy as np
    >>> wl = np.arange(400.0, 1051.0, 10.0)
    >>> X = np.random.default_rng(0).random((wl.size, 16, 16))
    >>> pair = synthesize_pansharpening_pair(X, "WV2", 4, wavelengths=wl)
    >>> pair.reference.shape, pair.low.shape, pair.high.shape
    ((8, 16, 16), (8, 4, 4), (1, 16, 16))
    >>> synthesize_pansharpening_pair(X, "sentinel2", 4, wavelengths=wl)   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hysupp.errors.InputError: Sentinel-2A MSI has no panchromatic band; pansharpening pairs need one ...
    """
    from hysupp.physics.mtf import mtf_blur
    from hysupp.physics.sampling import Decimation
    from hysupp.physics.spectral import SENSORS_SPECTRAL
    from hysupp.physics.spectral import get_sensor as get_spectral

    r = check_ratio(ratio)
    X, scene, wl = _hr_scene(hr_cube, wavelengths, "the high-resolution cube")
    spec = get_spectral(sensor)
    if not spec.group("pan"):
        with_pan = [s.name for s in SENSORS_SPECTRAL.values() if s.group("pan")]
        raise InputError(f"{spec.name} has no panchromatic band; pansharpening pairs need one (sensors with a PAN "
                         f"band: {', '.join(with_pan)}); for an MS-only sensor make an HS-MS pair (hs_ms_pair)")
    target_fwhm = scene.fwhm if scene is not None else None
    what = f"pansharpening pair from {spec.name}"
    srf_ms = _srf(spec.key, wl, bands=bands, pan=False, target_fwhm=target_fwhm, min_coverage=min_coverage,
                  what=f"{what} (MS bands)")
    srf_pan = _srf(spec.key, wl, bands=None, pan=True, target_fwhm=target_fwhm, min_coverage=min_coverage,
                   what=f"{what} (PAN band)")
    if gnyq is None:
        entry = _mtf_entry(mtf_sensor or spec.key, what)
        g = _ms_gains(entry, spec, srf_ms.band_names, what)
        mtf_key = entry.key
    else:
        entry, g, mtf_key = None, gnyq, mtf_sensor
    _, h, w = X.shape
    dt = _out_dtype(dtype, X)
    r0, c0, hc, wc = _crop_window(h, w, r, crop, "the high-resolution cube")
    Xc = np.asarray(X[:, r0:r0 + hc, c0:c0 + wc], dtype=np.float64)
    phase = _parse_phase(phase)
    dec = Decimation(r, phase)
    ms_blur = mtf_blur(mtf_key if entry is not None else None, r, gnyq=g, n_bands=srf_ms.n_bands_out, taps=taps,
                       mode=mode, design=design)
    ms_hr = srf_ms.forward(Xc)
    ms_lr_clean = dec.forward(ms_blur.forward(ms_hr))
    pan_hr_clean = srf_pan.forward(Xc)
    seq_low, seq_high = np.random.SeedSequence(seed).spawn(2)
    nm_low, nm_high = _noise_model(noise, snr_ms), _noise_model(noise, snr_pan)
    ms_lr = _apply_noise(ms_lr_clean, nm_low, seq_low)
    pan_hr = _apply_noise(pan_hr_clean, nm_high, seq_high)
    name = scene.name if scene is not None else "hr"
    g_ref = _shift(scene.georef if scene is not None else None, r0, c0)
    crop_rec = _crop_record(r0, c0, hc, wc, h, w, crop, r)
    protocol = _jsonable({
        "protocol": "pansharpening-from-hr-cube", "kind": "pansharpening", "ratio": r, "phase": dec.phase,
        "sensor": spec.key, "ms_bands": list(srf_ms.band_names),
        "mtf": {"sensor": mtf_key, "ms_gnyq": ms_blur.to_dict()["gnyq"], "pan_gnyq": None, "design": design,
                "taps": taps, "mode": mode},
        "operators": {"ms_srf": srf_ms.to_dict(), "pan_srf": srf_pan.to_dict(), "ms_blur": ms_blur.to_dict(),
                      "ms_decimation": dec.to_dict()},
        "chains": {"reference": ["ms_srf"], "low": ["ms_srf", "ms_blur", "ms_decimation", "noise.low"],
                   "high": ["pan_srf", "noise.high"]},
        "noise": {"low": None if nm_low is None else nm_low.to_dict(),
                  "high": None if nm_high is None else nm_high.to_dict(), "definition": noise},
        "snr": {"low": snr_ms, "high": snr_pan},
        "seed": seed, "seed_streams": "numpy.random.SeedSequence(seed).spawn(2): [low, high]",
        "source": {"name": name, "layout": scene.layout if scene is not None else "arrays",
                   "shape": list(X.shape), "wavelength_range_nm": [float(wl.min()), float(wl.max())]},
        "crop": crop_rec,
        "shapes": {"reference": [srf_ms.n_bands_out, hc, wc], "low": list(ms_lr.shape), "high": list(pan_hr.shape)},
        "dtype": str(dt),
        "description": "reference = sensor MS SRF applied to the HR cube; low = reference blurred with the MS "
                       "MTF, decimated, plus noise; high = sensor PAN SRF applied to the HR cube, plus noise",
        "references": [REF_WALD, REF_VIVONE, REF_AIAZZI],
        "hysupp": _version()})
    ms_wl, ms_fw = srf_ms.target_centres, srf_ms.target_fwhm
    ref = _scene(ms_hr, dt, name, "reference", wavelengths=ms_wl, fwhm=ms_fw, georef=g_ref,
                 extras={"band_names": list(srf_ms.band_names)},
                 notes=[f"HR MS: {spec.name} SRF applied to the HR cube"])
    lo = _scene(ms_lr, dt, name, "low", wavelengths=ms_wl, fwhm=ms_fw,
                georef=_affine(g_ref, r, _decimation_offset(dec.phase, r)),
                extras={"band_names": list(srf_ms.band_names)},
                notes=[f"LR MS: MTF blur, decimation by {r}, noise {snr_ms} dB"])
    hi = _scene(pan_hr, dt, name, "high", wavelengths=srf_pan.target_centres, fwhm=srf_pan.target_fwhm,
                georef=g_ref, extras={"band_names": ["PAN"]}, notes=[f"PAN: {spec.name} PAN SRF, noise {snr_pan} dB"])
    return attach_protocol(FusionPair(ref, lo, hi, r, protocol, "pansharpening"))


def hs_ms_pair(hr_hs: Scene | np.ndarray, ratio: int = 4, *, psf_fwhm: float | None = None,
               msi_sensor: Any = "IKONOS", msi_bands: Any = None, min_coverage: float = 0.9,
               snr_hs: float | None = 35.0, snr_ms: float | None = 40.0, noise: str = "band",
               phase: int | str = "center", mode: str = "replicate", psf_size: int | None = None,
               seed: int = 0, crop: str = "topleft", wavelengths: Any = None, dtype: Any = None) -> FusionPair:
    r"""An HS+MS pair by Yokoya et al.'s (2017) standard simulation.

    .. math::
        \text{low} = \mathcal D_{r,\phi}(\mathbf g * \mathbf X) + \mathbf n_{\mathrm{HS}},\qquad
        \text{high} = \mathbf R\mathbf X + \mathbf n_{\mathrm{MS}},\qquad
        \text{reference} = \mathbf X,

    with :math:`\mathbf g` an isotropic Gaussian PSF of FWHM ``psf_fwhm`` (default the ratio)
    and :math:`\mathbf R` the MS sensor's SRF on the cube's wavelengths.

    Parameters
    ----------
    hr_hs : Scene or ndarray, shape (L, H, W)
        The high-resolution HS cube (reference); wavelengths in nm (``wavelengths=`` for an array)
        unless ``msi_sensor`` is an explicit matrix.
    ratio : int
        Resolution ratio (integer >= 2); 4 by default.
    psf_fwhm : float, optional
        FWHM of the Gaussian PSF in HR pixels; default ``ratio`` (Yokoya et al. 2017).
    msi_sensor : str, SpectralResponse or array_like (M, L)
        A built-in sensor (:func:`hysupp.physics.spectral.sensor_srf`; default "IKONOS", whose
        B, G, R, NIR bands lie within a VNIR grid such as ROSIS Pavia's), an operator or a matrix.
    msi_bands : None, "covered", comma-separated str or sequence of str
        Bands of a built-in sensor (all MS bands by default).
    min_coverage : float
        See :func:`hysupp.physics.spectral.sensor_srf`.
    snr_hs, snr_ms : float or None
        SNR in dB of the HS and MS noise (35 and 40 by default, module notes); None = noise-free.
    noise : {"band", "global"}
        Each band at the SNR (default) or one global SNR (HySUPP's definition).
    phase : int or str
        Decimation phase (``"center"``: pixel ``ratio // 2`` of each block).
    mode : str
        Border mode of the PSF (``replicate``).
    psf_size : int, optional
        Odd PSF support; default ``2 ceil(4 sigma) + 1``.
    seed : int
        Seed of the noise streams (low: HS, high: MS).
    crop : {"topleft", "center"}
        Crop to a multiple of ``ratio``.
    dtype : optional
        Output float dtype (default: the cube's).

    Returns
    -------
    FusionPair
        ``kind="hs-ms"``; reference ``(L, H', W')``, low (HS) ``(L, H'/r, W'/r)``, high (MS)
        ``(M, H', W')``.

    Examples
    --------
    >>> import numpy as np
    >>> wl = np.linspace(430.0, 860.0, 40)
    >>> X = np.random.default_rng(0).random((40, 12, 12))
    >>> p = hs_ms_pair(X, 4, wavelengths=wl, snr_hs=None, snr_ms=None)
    >>> R = np.asarray(p.protocol["operators"]["ms_srf"]["R"])
    >>> bool(np.allclose(p.high.cube, np.einsum("ml,lhw->mhw", R, X)))
    True
    >>> p.protocol["psf"]["fwhm"], p.protocol["operators"]["hs_psf"]["op"]
    (4.0, 'blur')
    """
    from hysupp.physics.blur import Blur
    from hysupp.physics.sampling import Decimation

    r = check_ratio(ratio)
    explicit = not isinstance(msi_sensor, str)
    if explicit and wavelengths is None and not (isinstance(hr_hs, Scene) and hr_hs.wavelengths is not None):
        X, scene = _as_cube(hr_hs, "the HS cube")
        wl = np.arange(X.shape[0], dtype=np.float64)
        wl_known = False
    else:
        X, scene, wl = _hr_scene(hr_hs, wavelengths, "the HS cube")
        wl_known = True
    what = "HS-MS pair"
    target_fwhm = scene.fwhm if scene is not None else None
    srf = _srf(msi_sensor, wl, bands=msi_bands, pan=False, target_fwhm=target_fwhm, min_coverage=min_coverage,
               what=f"{what} (MS sensor)", wl_known=wl_known)
    fwhm = float(r if psf_fwhm is None else psf_fwhm)
    if not math.isfinite(fwhm) or fwhm <= 0:
        raise InputError(f"psf_fwhm must be > 0 (pixels), got {psf_fwhm!r}")
    L, h, w = X.shape
    dt = _out_dtype(dtype, X)
    r0, c0, hc, wc = _crop_window(h, w, r, crop, "the HS cube")
    Xc = np.asarray(X[:, r0:r0 + hc, c0:c0 + wc], dtype=np.float64)
    phase = _parse_phase(phase)
    dec = Decimation(r, phase)
    psf = Blur.gaussian(fwhm=fwhm, size=psf_size, mode=mode)
    hs_clean = dec.forward(psf.forward(Xc))
    ms_clean = srf.forward(Xc)
    seq_low, seq_high = np.random.SeedSequence(seed).spawn(2)
    nm_low, nm_high = _noise_model(noise, snr_hs), _noise_model(noise, snr_ms)
    hs = _apply_noise(hs_clean, nm_low, seq_low)
    ms = _apply_noise(ms_clean, nm_high, seq_high)
    name = scene.name if scene is not None else "hs"
    g_ref = _shift(scene.georef if scene is not None else None, r0, c0)
    crop_rec = _crop_record(r0, c0, hc, wc, h, w, crop, r)
    sensor_name = msi_sensor if isinstance(msi_sensor, str) else (getattr(srf, "sensor", None) or "explicit SRF")
    protocol = _jsonable({
        "protocol": "hs-ms-standard-simulation", "kind": "hs-ms", "ratio": r, "phase": dec.phase,
        "sensor": srf.sensor if srf.sensor is not None else sensor_name, "ms_bands": list(srf.band_names),
        "psf": {"shape": "gaussian", "fwhm": fwhm, "fwhm_default": "ratio (Yokoya et al. 2017)", "mode": mode},
        "operators": {"hs_psf": psf.to_dict(), "hs_decimation": dec.to_dict(), "ms_srf": srf.to_dict()},
        "chains": {"reference": [], "low": ["hs_psf", "hs_decimation", "noise.low"],
                   "high": ["ms_srf", "noise.high"]},
        "noise": {"low": None if nm_low is None else nm_low.to_dict(),
                  "high": None if nm_high is None else nm_high.to_dict(), "definition": noise},
        "snr": {"low": snr_hs, "high": snr_ms},
        "seed": seed, "seed_streams": "numpy.random.SeedSequence(seed).spawn(2): [low, high]",
        "source": {"name": name, "layout": scene.layout if scene is not None else "arrays", "shape": list(X.shape),
                   "wavelength_range_nm": [float(wl.min()), float(wl.max())] if wl_known else None},
        "crop": crop_rec,
        "shapes": {"reference": [L, hc, wc], "low": list(hs.shape), "high": list(ms.shape)},
        "dtype": str(dt),
        "description": "reference = HR HS cube; low = reference blurred by a Gaussian PSF, decimated, plus noise; "
                       "high = MS SRF applied to the reference, plus noise",
        "references": [REF_YOKOYA],
        "hysupp": _version()})
    wl_out = wl if wl_known else None
    fw_out = scene.fwhm if scene is not None else None
    ref = _scene(Xc, dt, name, "reference", wavelengths=wl_out, fwhm=fw_out, georef=g_ref,
                 notes=[f"HR HS reference, crop rows {crop_rec['rows']} cols {crop_rec['cols']}"])
    lo = _scene(hs, dt, name, "low", wavelengths=wl_out, fwhm=fw_out,
                georef=_affine(g_ref, r, _decimation_offset(dec.phase, r)),
                notes=[f"LR HS: Gaussian PSF (FWHM {fwhm:g} px), decimation by {r}, noise {snr_hs} dB"])
    hi = _scene(ms, dt, name, "high", wavelengths=srf.target_centres, fwhm=srf.target_fwhm, georef=g_ref,
                extras={"band_names": list(srf.band_names)},
                notes=[f"HR MS: {sensor_name} SRF, noise {snr_ms} dB"])
    return attach_protocol(FusionPair(ref, lo, hi, r, protocol, "hs-ms"))


# =============================================================================================
# recipes
# =============================================================================================
_DTYPE = Param("dtype", str, "float32", "dtype of the arrays", choices=("float32", "float64"))
_PHASE = Param("phase", str, "center", "decimation phase: 'center' (pixel ratio//2, imresize 'nearest'), 'first', "
               "'center-1', 'mean' or an integer in [0, ratio)")
_MODE = Param("mode", str, "replicate", "border mode of the spatial filters",
              choices=("replicate", "circular", "reflect", "symmetric", "zero"))
_CROP = Param("crop", str, "topleft", "where the image is cropped to a multiple of the ratio", choices=_CROPS)
_SCALE = Param("scale", float, None, "multiply the data by this on reading (e.g. 1/2047 for 11-bit DN)",
               optional=True)
_DESIGN = Param("design", str, "exact", "MTF kernel design: 'exact' (measured Nyquist gain = table value) or "
                "'toolbox' (genMTF.m construction)", choices=("exact", "toolbox"))
_NOISE_P = Param("noise", str, "band", "noise definition: 'band' (each band at the SNR) or 'global' (one sigma from "
                 "the global power, HySUPP)", choices=_NOISE)


def _read(recipe: Recipe, path: str | None, what: str) -> tuple[Scene, dict[str, Any]]:
    from hysupp.io import load
    from hysupp.records import file_sha256

    if path is None:
        raise InputError(f"{recipe.name}: pass data=PATH ({what})")
    p = Path(path)
    try:
        scene = load(p, scale=recipe.scale, dtype=np.float64)
    except HysuppError as exc:
        raise InputError(f"{recipe.name}: cannot read data={str(p)!r}: {exc}") from None
    info = {"file": str(p), "sha256": file_sha256(p) if p.is_file() else None, "scale": recipe.scale,
            "reader_notes": list(scene.notes)}
    return scene, info


def _finish(recipe: Recipe, pair: FusionPair, info: dict[str, Any]) -> FusionPair:
    pair.protocol.setdefault("source", {}).update(_jsonable(info))
    pair.protocol["recipe"] = recipe.protocol()
    return attach_protocol(pair)


@register_recipe
class WaldPansharpeningRecipe(Recipe):
    """Reduced-resolution (Wald) MS+PAN pair from a real MS+PAN file, with the sensor's MTF."""

    name = "wald-pansharpening"
    kind = "fusion"
    params = (
        Param("data", str, None, "MS+PAN file (e.g. the toolbox's imgWV2.mat: I_MS, I_PAN, ratio, sensor)",
              optional=True),
        Param("sensor", str, None, "sensor of the MTF table (default: the file's 'sensor')", optional=True),
        Param("ratio", int, None, "resolution ratio (default: the file's 'ratio')", low=2, optional=True),
        _PHASE, _MODE, _DESIGN,
        Param("pan_degradation", str, "bicubic", "PAN degradation: 'bicubic' (imresize, the toolbox's protocol) "
              "or 'mtf' (PAN MTF + decimation)", choices=_PAN_DEGRADATIONS),
        Param("mtf_gain", str, "unit", "MTF kernels of sum 1 ('unit') or the toolbox's DC gain ('toolbox')",
              choices=_MTF_GAINS),
        _CROP, _SCALE, _DTYPE,
    )
    reference = f"{REF_WALD}; {REF_VIVONE}"

    def generate(self) -> FusionPair:
        scene, info = _read(self, self.data, "an MS+PAN file such as the pansharpening toolbox's imgWV2.mat")
        pair = wald_pansharpening_pair(scene, None, self.ratio, self.sensor, phase=self.phase, mode=self.mode,
                                       design=self.design, pan_degradation=self.pan_degradation,
                                       mtf_gain=self.mtf_gain, crop=self.crop,
                                       dtype=self.dtype)
        return _finish(self, pair, info)


@register_recipe
class PansharpeningFromHSRecipe(Recipe):
    """MS+PAN pair simulated from a hyperspectral cube with a sensor's SRFs and MTF."""

    name = "pansharpening-from-hs"
    kind = "fusion"
    params = (
        Param("data", str, None, "hyperspectral cube file (with wavelengths)", optional=True),
        Param("sensor", str, "WV2", "sensor with a PAN band (WV2, WV3, QuickBird, IKONOS, Landsat-8)"),
        Param("ratio", int, 4, "resolution ratio", low=2),
        Param("bands", str, None, "MS bands: comma-separated names, 'covered' (those the grid covers) or all",
              optional=True),
        Param("min_coverage", float, 0.9, "minimum fraction of each SRF inside the cube's range", low=0.0, high=1.0),
        Param("mtf_sensor", str, None, "sensor of the MTF table for the gains (default: sensor)", optional=True),
        _PHASE, _MODE, _DESIGN,
        Param("snr_ms", float, None, "SNR (dB) of the LR MS noise; None = noise-free", optional=True),
        Param("snr_pan", float, None, "SNR (dB) of the PAN noise; None = noise-free", optional=True),
        _NOISE_P,
        Param("seed", int, 0, "seed of the noise streams"),
        _CROP, _SCALE, _DTYPE,
    )
    reference = f"{REF_WALD}; {REF_VIVONE}"

    def generate(self) -> FusionPair:
        scene, info = _read(self, self.data, "a hyperspectral cube with wavelengths")
        pair = synthesize_pansharpening_pair(scene, self.sensor, self.ratio, bands=self.bands,
                                             min_coverage=self.min_coverage, phase=self.phase, mode=self.mode,
                                             design=self.design, mtf_sensor=self.mtf_sensor, snr_ms=self.snr_ms,
                                             snr_pan=self.snr_pan, noise=self.noise, seed=self.seed,
                                             crop=self.crop, dtype=self.dtype)
        return _finish(self, pair, info)


@register_recipe
class HSMSRecipe(Recipe):
    """HS+MS pair by Yokoya et al.'s (2017) standard simulation (Gaussian PSF, sensor SRF, noise)."""

    name = "hs-ms"
    kind = "fusion"
    params = (
        Param("data", str, None, "hyperspectral cube file (with wavelengths)", optional=True),
        Param("ratio", int, 4, "resolution ratio", low=2),
        Param("psf_fwhm", float, None, "FWHM (HR pixels) of the Gaussian PSF; None = ratio (Yokoya et al. 2017)",
              low=0.0, optional=True),
        Param("msi_sensor", str, "IKONOS", "MS sensor of the SRF table (IKONOS's B, G, R, NIR fit a 430-860 nm "
              "cube such as ROSIS Pavia)"),
        Param("msi_bands", str, None, "MS bands: comma-separated names, 'covered' or all", optional=True),
        Param("min_coverage", float, 0.9, "minimum fraction of each SRF inside the cube's range", low=0.0, high=1.0),
        Param("snr_hs", float, 35.0, "SNR (dB) of the HS noise; None = noise-free", optional=True),
        Param("snr_ms", float, 40.0, "SNR (dB) of the MS noise; None = noise-free", optional=True),
        _NOISE_P, _PHASE, _MODE,
        Param("seed", int, 0, "seed of the noise streams"),
        _CROP, _SCALE, _DTYPE,
    )
    reference = REF_YOKOYA

    def generate(self) -> FusionPair:
        scene, info = _read(self, self.data, "a hyperspectral cube with wavelengths")
        pair = hs_ms_pair(scene, self.ratio, psf_fwhm=self.psf_fwhm, msi_sensor=self.msi_sensor,
                          msi_bands=self.msi_bands, min_coverage=self.min_coverage, snr_hs=self.snr_hs,
                          snr_ms=self.snr_ms, noise=self.noise, phase=self.phase, mode=self.mode,
                          seed=self.seed, crop=self.crop, dtype=self.dtype)
        return _finish(self, pair, info)
