r"""The sensor table: every sensor declared once, with everything the physics knows about it.

A :class:`Sensor` entry holds a sensor's names (canonical key, full name, aliases), its bands with
their spectral responses (Gaussian approximations from published centres and widths, grouped
``ms``/``pan``/``swir``), the Nyquist gains of its modulation transfer function (one per MS band,
one for the PAN) and its nominal MS/PAN resolution ratio, each with the source of the numbers.
The two consumers read views of the same entries:

* :mod:`hysupp.physics.mtf` -- :data:`~hysupp.physics.mtf.SENSORS` /
  :func:`~hysupp.physics.mtf.get_sensor` (:class:`~hysupp.physics.mtf.SensorMTF`: the gains), for
  MTF-matched blurs, Wald's protocol and the sensor-aware pansharpening methods;
* :mod:`hysupp.physics.spectral` -- :data:`~hysupp.physics.spectral.SENSORS_SPECTRAL` /
  :func:`~hysupp.physics.spectral.get_sensor` (:class:`~hysupp.physics.spectral.SensorSpectral`:
  the bands), for :func:`~hysupp.physics.spectral.sensor_srf`.

A sensor may have only one of the two (GeoEye-1 has gains and no bands here; EnMAP neither, its
entry only names it and says why); the view that lacks it refuses the sensor with a message that
says so. Gains that are not the sensor's own (no published value was found, the generic default
stands in: Landsat-7/8/9, SPOT-7) are marked ``mtf_placeholder`` and the runs warn when they use
them.

Names
-----
:func:`find_sensor` matches the key, the full name, the aliases and ``srf_key`` with case, spaces,
``-``, ``_`` and every other non-alphanumeric character ignored (``"QB"``, ``"quickbird"``,
``"Quick-Bird"`` are one sensor). Two entries may not claim the same normalised name (checked
when the table is built).

Keys recorded in protocols
--------------------------
The MTF view records ``key`` (``"QB"``, ``"WV2"``: the pansharpening toolbox's names) in every
blur and pair protocol; SRFs record ``srf_key`` (``"quickbird"``, ``"worldview2"``), the keys the
spectral table used before the two tables were merged, so that protocols, checkpoints and run
records written before and after the merge name sensors the same way. A new sensor leaves
``srf_key`` unset (it is then ``key``).

Adding a sensor
---------------
Append one :class:`Sensor` to ``_TABLE`` below (and a line to the pinned-values test if you like):

.. code-block:: python

    Sensor(
        key="L9", name="Landsat-9 OLI-2", aliases=("Landsat-9", "landsat9", "OLI-2"),
        bands=(SpectralBand("B1", 443.0, 16.0, "ms", "coastal/aerosol"), ...,
               SpectralBand("B8", 590.0, 172.0, "pan", "panchromatic")),
        srf_source="where the centres and widths come from",
        ms_gnyq=(...one gain per "ms" band, in the same order...), pan_gnyq=...,
        ratio=2, mtf_source="where the gains come from"),

The MS gains are matched by position to the ``ms`` bands (``mtf_bands`` names them otherwise,
e.g. when the gains' source calls QuickBird's band ``"B"`` ``"Blue"``); a sensor whose gain is the
same for any number of bands sets ``uniform=True`` with one gain. :class:`Sensor` checks an entry
when it is built (band groups, unique names, one gain per band, gains in (0, 1)) and the table
checks that no two entries share a name, so a mistyped entry fails at import, naming the sensor.

Example
-------
>>> from hysupp.physics.sensors import find_sensor, lookup_sensor
>>> qb = lookup_sensor("quickbird")
>>> qb.key, qb.srf_key, qb.ms_gnyq, qb.pan_gnyq, [b.name for b in qb.group("ms")]
('QB', 'quickbird', (0.34, 0.32, 0.3, 0.22), 0.15, ['B', 'G', 'R', 'NIR'])
>>> lookup_sensor("WorldView-3").has_mtf, lookup_sensor("EnMAP").has_mtf, find_sensor("Landsat-42") is None
(True, False, True)
>>> l7 = lookup_sensor("Landsat-7 ETM+"); l7.ratio, l7.group("pan")[0].gsd, l7.mtf_placeholder
(2, 15.0, True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hysupp.errors import InputError, ParameterError

__all__ = [
    "SENSOR_TABLE",
    "Sensor",
    "SpectralBand",
    "band_from_edges",
    "find_sensor",
    "lookup_sensor",
    "normalise_sensor_name",
]

BAND_GROUPS = ("ms", "pan", "swir")


def normalise_sensor_name(name: str) -> str:
    """The form names are compared in: lower case, ``é`` read as ``e``, only ``[0-9a-z]`` kept.

    >>> normalise_sensor_name("WorldView-3"), normalise_sensor_name("Pléiades 1A")
    ('worldview3', 'pleiades1a')
    """
    return re.sub(r"[^0-9a-z]", "", str(name).lower().replace("é", "e"))


@dataclass(frozen=True)
class SpectralBand:
    """One band of a sensor: Gaussian approximation from its published centre and width (nm).

    ``group`` is ``"ms"`` (the standard multispectral set), ``"pan"`` (panchromatic) or
    ``"swir"`` (an optional extra set, WorldView-3's SWIR instrument). ``gsd`` is the ground
    sampling distance in metres where the table records it (Sentinel-2's 10/20/60 m bands).
    """

    name: str
    centre: float
    fwhm: float
    group: str = "ms"
    long_name: str = ""
    gsd: float | None = None


def band_from_edges(name: str, lo: float, hi: float, group: str = "ms", long_name: str = "",
                    gsd: float | None = None) -> SpectralBand:
    """A band given by its lower/upper band edges (nm): centre = midpoint, FWHM = width.

    >>> band_from_edges("Blue", 450.0, 510.0)
    SpectralBand(name='Blue', centre=480.0, fwhm=60.0, group='ms', long_name='', gsd=None)
    """
    return SpectralBand(name, (lo + hi) / 2.0, hi - lo, group, long_name, gsd)


@dataclass(frozen=True)
class Sensor:
    """One sensor of the table (module docstring).

    Attributes
    ----------
    key : str
        Canonical key (the MTF view's key, recorded in blur and pair protocols).
    name : str
        Full name.
    aliases : tuple of str
        Other names it is looked up by (compared with :func:`normalise_sensor_name`).
    bands : tuple of SpectralBand
        Bands in product order (groups ``ms``, ``pan``, ``swir``); empty when no spectral response
        is known.
    srf_source : str
        Where the band centres and widths come from.
    ms_gnyq : tuple of float
        MTF gains at the low-resolution Nyquist frequency, one per MS band (one value when
        ``uniform``); empty when no MTF is known.
    pan_gnyq : float or None
        Nyquist gain of the panchromatic channel.
    ratio : int or None
        Nominal MS/PAN (HS/PAN) resolution ratio.
    mtf_bands : tuple of str or None
        Names of the bands of ``ms_gnyq``; None: the names of the ``ms`` bands (the gains are
        matched to them by position).
    uniform : bool
        One gain for any number of bands (PRISMA, the generic sensor).
    mtf_source : str
        Where the gains come from.
    note : str
        Caveats (on the gains).
    srf_key : str or None
        Key of the spectral view (recorded as ``SpectralResponse.sensor``); None: ``key``.
    mtf_placeholder : bool
        The gains are not the sensor's own (no published value was found; the generic default is
        declared so the sensor can be named): the runs warn when they use them.
    """

    key: str
    name: str
    aliases: tuple[str, ...] = ()
    bands: tuple[SpectralBand, ...] = ()
    srf_source: str = ""
    ms_gnyq: tuple[float, ...] = ()
    pan_gnyq: float | None = None
    ratio: int | None = None
    mtf_bands: tuple[str, ...] | None = None
    uniform: bool = False
    mtf_source: str = ""
    note: str = ""
    srf_key: str | None = None
    mtf_placeholder: bool = False

    def __post_init__(self) -> None:
        where = f"sensor table entry {self.key!r}"
        names = [b.name.upper() for b in self.bands]
        if len(set(names)) != len(names):
            raise ParameterError(f"{where}: band names repeat: {[b.name for b in self.bands]}")
        for b in self.bands:
            if b.group not in BAND_GROUPS:
                raise ParameterError(f"{where}: band {b.name!r} has group {b.group!r}, expected one of "
                                     f"{', '.join(BAND_GROUPS)}")
            if not (b.centre > 0 and b.fwhm > 0):
                raise ParameterError(f"{where}: band {b.name!r} needs a positive centre and FWHM (nm)")
        if self.ms_gnyq:
            gains = tuple(self.ms_gnyq) + ((self.pan_gnyq,) if self.pan_gnyq is not None else ())
            if not all(0.0 < float(g) < 1.0 for g in gains):
                raise ParameterError(f"{where}: Nyquist gains must be in (0, 1), got {gains}")
            if self.pan_gnyq is None or self.ratio is None:
                raise ParameterError(f"{where}: a sensor with MS gains also declares pan_gnyq and ratio")
            if self.uniform:
                if len(self.ms_gnyq) != 1:
                    raise ParameterError(f"{where}: a uniform sensor has one MS gain, got {len(self.ms_gnyq)}")
            elif len(self.gain_band_names) != len(self.ms_gnyq):
                raise ParameterError(f"{where}: {len(self.ms_gnyq)} MS gains for {len(self.gain_band_names)} MS "
                                     f"bands {list(self.gain_band_names)}")
            if self.mtf_bands is not None and self.group("ms") and not self.uniform \
                    and len(self.mtf_bands) != len(self.group("ms")):
                raise ParameterError(f"{where}: mtf_bands has {len(self.mtf_bands)} names for "
                                     f"{len(self.group('ms'))} 'ms' bands (matched by position)")
        elif self.pan_gnyq is not None or self.uniform or self.mtf_bands:
            raise ParameterError(f"{where}: pan_gnyq/uniform/mtf_bands without MS gains (ms_gnyq)")

    # ------------------------------------------------------------------ views
    @property
    def has_mtf(self) -> bool:
        """Whether the table holds the sensor's Nyquist gains."""
        return bool(self.ms_gnyq)

    @property
    def has_srf(self) -> bool:
        """Whether the table holds the sensor's bands (centres and widths)."""
        return bool(self.bands)

    @property
    def spectral_key(self) -> str:
        """Key of the spectral view (``srf_key``, else ``key``)."""
        return self.srf_key or self.key

    @property
    def gain_band_names(self) -> tuple[str, ...]:
        """Names of the MS bands the gains refer to (``mtf_bands``, else the ``ms`` bands)."""
        if self.mtf_bands is not None:
            return tuple(self.mtf_bands)
        return tuple(b.name for b in self.group("ms"))

    @property
    def all_names(self) -> tuple[str, ...]:
        """Every name the sensor is found by: key, spectral key, full name, aliases."""
        return (self.key, self.spectral_key, self.name) + tuple(self.aliases)

    def group(self, group: str) -> tuple[SpectralBand, ...]:
        """The bands of one group (``ms``, ``pan`` or ``swir``), in product order."""
        return tuple(b for b in self.bands if b.group == group)


# --------------------------------------------------------------------------------------------
# where the numbers come from (values only; no code was taken)
# --------------------------------------------------------------------------------------------
# MTF gains
# [TB13]  Pansharpening Toolbox v1.3 (Vivone et al., TGRS 2015), MTF.m / MTF_PAN.m /
#         resize_images.m: QB, IKONOS, GeoEye1, WV2 MS and PAN gains; 'none' = 0.29 (MS) /
#         0.15 (PAN). Public copy read: github.com/liuyuim/Pansharpening-Evaluation,
#         "Toolbox/Pansharpening Tool ver 1.3/resize_images.m" @ 32ad0a4.
# [DLP]   DLPan-Toolbox (Deng et al., IEEE GRSM 2022), Matlab test toolbox, Tools/genMTF.m and
#         Tools/MTF_PAN.m: the same QB/IKONOS/GeoEye1/WV2 values and WV3 (MS and PAN = 0.14).
#         github.com/liangjiandeng/DLPan-Toolbox @ 3af93d2.
# [HSTB]  Later versions of the toolbox's MTF.m / MTF_PAN.m extended for hyperspectral
#         pansharpening (Loncan et al., GRSM 2015): 'Pleiades' MS 0.3 x 4 / PAN 0.15,
#         'HYP' (EO-1 Hyperion, 242 bands) MS per-band blocks / PAN 0.11 (ALI PAN),
#         'Ali_MS' 9 bands / 'Ali_PAN' 0.11 (marked "To check" in that source). Read from public
#         copies in the code index (the copies do not name their upstream repository).
# [HPTB]  Hyperspectral pansharpening toolbox (Ciotola, Vivone et al.),
#         github.com/matciotola/hyperspectral_pansharpening_toolbox, Utils/spectral_tools.py @
#         056c0cd: PRISMA HS 0.3 (all bands), PAN 0.2 (citing ASI's PRISMA mission status, 2021).
_SRC_TB = ("Vivone et al. 2015 Pansharpening Toolbox (MTF.m, MTF_PAN.m, resize_images.m); "
           "copies: liuyuim/Pansharpening-Evaluation@32ad0a4 (ver 1.3), "
           "liangjiandeng/DLPan-Toolbox@3af93d2 (Tools/genMTF.m, MTF_PAN.m)")
_SRC_HSTB = ("hyperspectral extension of the Pansharpening Toolbox MTF.m/MTF_PAN.m "
             "(Loncan et al., IEEE GRSM 2015), public copies")

_BGRN = ("Blue", "Green", "Red", "NIR")


def _hyperion_gains() -> tuple[float, ...]:
    blocks = ((21, 0.27), (20, 0.28), (29, 0.26), (60, 0.30), (112, 0.27))  # bands 1-21, 22-41, ...
    return tuple(g for n, g in blocks for _ in range(n))


# Spectral bands
# Sentinel-2A MSI, 13 bands: central wavelength and bandwidth (nm) of the Sentinel-2A spectral
# responses, ESA "Sentinel-2 Spectral Response Functions" (COPE-GSEG-EOPG-TN-15-0007, issue 3.0)
# as tabulated in ESA's Sentinel-2 MSI user guide (radiometric resolutions). The rounded design
# values of the Sentinel-2 User Handbook (ESA, 2015) are 443/20, 490/65, 560/35, 665/30, 705/15,
# 740/15, 783/20, 842/115, 865/20, 945/20, 1375/30, 1610/90, 2190/180; the S2A numbers used here
# are the measured band centres (B8's measured centre is ~833 nm, not the design 842 nm).
_SENTINEL2_BANDS = (
    SpectralBand("B1", 442.7, 21.0, "ms", "coastal aerosol", 60.0),
    SpectralBand("B2", 492.4, 66.0, "ms", "blue", 10.0),
    SpectralBand("B3", 559.8, 36.0, "ms", "green", 10.0),
    SpectralBand("B4", 664.6, 31.0, "ms", "red", 10.0),
    SpectralBand("B5", 704.1, 15.0, "ms", "red edge 1", 20.0),
    SpectralBand("B6", 740.5, 15.0, "ms", "red edge 2", 20.0),
    SpectralBand("B7", 782.8, 20.0, "ms", "red edge 3", 20.0),
    SpectralBand("B8", 832.8, 106.0, "ms", "NIR", 10.0),
    SpectralBand("B8A", 864.7, 21.0, "ms", "narrow NIR", 20.0),
    SpectralBand("B9", 945.1, 20.0, "ms", "water vapour", 60.0),
    SpectralBand("B10", 1373.5, 31.0, "ms", "SWIR cirrus", 60.0),
    SpectralBand("B11", 1613.7, 91.0, "ms", "SWIR 1", 20.0),
    SpectralBand("B12", 2202.4, 175.0, "ms", "SWIR 2", 20.0),
)

# Landsat-8 OLI, bands 1-7 and PAN 8: centre wavelength and FWHM (nm) of the pre-launch band-average
# relative spectral responses, Barsi, Lee, Kvaran, Markham & Pedelty, "The Spectral Response of the
# Landsat-8 Operational Land Imager", Remote Sensing 6(10):10232-10251, 2014 (consistent with the
# band edges in the USGS Landsat 8 Data Users Handbook: 435-451, 452-512, 533-590, 636-673,
# 851-879, 1566-1651, 2107-2294, PAN 503-676 nm). Band 9 (cirrus, 1373.4/20.4) is not included.
_LANDSAT8_BANDS = (
    SpectralBand("B1", 442.96, 15.98, "ms", "coastal/aerosol"),
    SpectralBand("B2", 482.04, 60.04, "ms", "blue"),
    SpectralBand("B3", 561.41, 57.33, "ms", "green"),
    SpectralBand("B4", 654.59, 37.47, "ms", "red"),
    SpectralBand("B5", 864.67, 28.25, "ms", "NIR"),
    SpectralBand("B6", 1608.86, 84.72, "ms", "SWIR 1"),
    SpectralBand("B7", 2200.73, 186.66, "ms", "SWIR 2"),
    SpectralBand("B8", 589.50, 172.40, "pan", "panchromatic"),
)

# WorldView-2: band edges (nm) from DigitalGlobe's WorldView-2 datasheet (as also listed in the
# International Charter / ESA mission page for WV-2's WV110 imager); centre = midpoint of the
# edges, FWHM = edge-to-edge width. MS bands in product order.
_WV_VNIR = (
    band_from_edges("Coastal", 400.0, 450.0, "ms", "coastal blue"),
    band_from_edges("Blue", 450.0, 510.0),
    band_from_edges("Green", 510.0, 580.0),
    band_from_edges("Yellow", 585.0, 625.0),
    band_from_edges("Red", 630.0, 690.0),
    band_from_edges("RedEdge", 705.0, 745.0, "ms", "red edge"),
    band_from_edges("NIR1", 770.0, 895.0),
    band_from_edges("NIR2", 860.0, 1040.0),
    band_from_edges("PAN", 450.0, 800.0, "pan", "panchromatic"),
)

# WorldView-3: DigitalGlobe WorldView-3 datasheet band edges. The 8 VNIR MS bands and PAN are the
# same as WorldView-2's; the optional SWIR instrument (3.7 m GSD) adds SWIR-1..8:
# 1195-1225, 1550-1590, 1640-1680, 1710-1750, 2145-2185, 2185-2225, 2235-2285, 2295-2365 nm.
_WV3_SWIR = (
    band_from_edges("SWIR1", 1195.0, 1225.0, "swir"),
    band_from_edges("SWIR2", 1550.0, 1590.0, "swir"),
    band_from_edges("SWIR3", 1640.0, 1680.0, "swir"),
    band_from_edges("SWIR4", 1710.0, 1750.0, "swir"),
    band_from_edges("SWIR5", 2145.0, 2185.0, "swir"),
    band_from_edges("SWIR6", 2185.0, 2225.0, "swir"),
    band_from_edges("SWIR7", 2235.0, 2285.0, "swir"),
    band_from_edges("SWIR8", 2295.0, 2365.0, "swir"),
)

# QuickBird: nominal bandpasses from DigitalGlobe's QuickBird datasheet (blue 450-520, green
# 520-600, red 630-690, NIR 760-900, PAN 450-900 nm); centre = midpoint, FWHM = width. (The
# QuickBird Imagery Products guide lists the wider full response ranges 430-545, 466-620, 590-710,
# 715-918 and PAN 405-1053 nm, which are not half-maximum widths.)
_QUICKBIRD_BANDS = (
    band_from_edges("B", 450.0, 520.0, "ms", "blue"),
    band_from_edges("G", 520.0, 600.0, "ms", "green"),
    band_from_edges("R", 630.0, 690.0, "ms", "red"),
    band_from_edges("NIR", 760.0, 900.0, "ms", "near infrared"),
    band_from_edges("PAN", 450.0, 900.0, "pan", "panchromatic"),
)

# IKONOS: 50 % band edges of Space Imaging's IKONOS relative spectral responses, as reported by
# Pagnutti et al., "Radiometric characterization of IKONOS multispectral imagery", Remote Sensing of
# Environment 88:53-68 (2003): blue 444.7-516.0, green 506.4-595.0, red 631.9-697.7,
# NIR 757.3-852.7, PAN 525.8-928.5 nm (agrees to 5 nm with the tabulated IKONOS responses
# distributed with HySure, which tests/test_physics_spectral.py checks).
_IKONOS_BANDS = (
    band_from_edges("B", 444.7, 516.0, "ms", "blue"),
    band_from_edges("G", 506.4, 595.0, "ms", "green"),
    band_from_edges("R", 631.9, 697.7, "ms", "red"),
    band_from_edges("NIR", 757.3, 852.7, "ms", "near infrared"),
    band_from_edges("PAN", 525.8, 928.5, "pan", "panchromatic"),
)

_SRC_WV = "DigitalGlobe WorldView-{} datasheet band edges (centre = midpoint, FWHM = width)"

# Landsat-7 ETM+: 50 % band edges (um) of the Landsat 7 Science Data Users Handbook (NASA GSFC),
# table "ETM+ spectral bands": 1 0.450-0.515, 2 0.525-0.605, 3 0.630-0.690, 4 0.775-0.900,
# 5 1.550-1.750, 7 2.080-2.350, PAN 8 0.520-0.900; MS 30 m, PAN 15 m. The thermal band 6 (60 m) is
# left out (no reflective-band fusion uses it).
_LANDSAT7_BANDS = (
    band_from_edges("B1", 450.0, 515.0, "ms", "blue", 30.0),
    band_from_edges("B2", 525.0, 605.0, "ms", "green", 30.0),
    band_from_edges("B3", 630.0, 690.0, "ms", "red", 30.0),
    band_from_edges("B4", 775.0, 900.0, "ms", "NIR", 30.0),
    band_from_edges("B5", 1550.0, 1750.0, "ms", "SWIR 1", 30.0),
    band_from_edges("B7", 2080.0, 2350.0, "ms", "SWIR 2", 30.0),
    band_from_edges("B8", 520.0, 900.0, "pan", "panchromatic", 15.0),
)

# Landsat-9 OLI-2: the OLI band specification edges (um) of the USGS Landsat 9 Data Users Handbook
# (the same specification as Landsat-8's OLI): 1 0.433-0.453, 2 0.450-0.515, 3 0.525-0.600,
# 4 0.630-0.680, 5 0.845-0.885, 6 1.560-1.660, 7 2.100-2.300, PAN 8 0.500-0.680; MS 30 m, PAN 15 m.
# (Landsat-8 keeps the measured band-average responses of Barsi et al. 2014 above; cirrus band 9
# is left out of both.)
_LANDSAT9_BANDS = (
    band_from_edges("B1", 433.0, 453.0, "ms", "coastal/aerosol", 30.0),
    band_from_edges("B2", 450.0, 515.0, "ms", "blue", 30.0),
    band_from_edges("B3", 525.0, 600.0, "ms", "green", 30.0),
    band_from_edges("B4", 630.0, 680.0, "ms", "red", 30.0),
    band_from_edges("B5", 845.0, 885.0, "ms", "NIR", 30.0),
    band_from_edges("B6", 1560.0, 1660.0, "ms", "SWIR 1", 30.0),
    band_from_edges("B7", 2100.0, 2300.0, "ms", "SWIR 2", 30.0),
    band_from_edges("B8", 500.0, 680.0, "pan", "panchromatic", 15.0),
)

# EO-1 ALI: band edges (um) of the USGS EO-1 Advanced Land Imager product description (also
# Hearn, Digenis, Lencioni, Mendenhall, Evans & Welsh, "EO-1 Advanced Land Imager overview and
# spatial performance", IGARSS 2001): MS-1p 0.433-0.453, MS-1 0.450-0.515, MS-2 0.525-0.605,
# MS-3 0.630-0.690, MS-4 0.775-0.805, MS-4p 0.845-0.890, MS-5p 1.200-1.300, MS-5 1.550-1.750,
# MS-7 2.080-2.350, PAN 0.480-0.690; MS 30 m, PAN 10 m (ratio 3).
_ALI_PAN = band_from_edges("PAN", 480.0, 690.0, "pan", "panchromatic", 10.0)
_ALI_BANDS = (
    band_from_edges("MS-1p", 433.0, 453.0, "ms", "", 30.0),
    band_from_edges("MS-1", 450.0, 515.0, "ms", "", 30.0),
    band_from_edges("MS-2", 525.0, 605.0, "ms", "", 30.0),
    band_from_edges("MS-3", 630.0, 690.0, "ms", "", 30.0),
    band_from_edges("MS-4", 775.0, 805.0, "ms", "", 30.0),
    band_from_edges("MS-4p", 845.0, 890.0, "ms", "", 30.0),
    band_from_edges("MS-5p", 1200.0, 1300.0, "ms", "", 30.0),
    band_from_edges("MS-5", 1550.0, 1750.0, "ms", "", 30.0),
    band_from_edges("MS-7", 2080.0, 2350.0, "ms", "", 30.0),
    _ALI_PAN,
)
_SRC_ALI = ("USGS EO-1 ALI product description band edges (Hearn et al., IGARSS 2001); centre = midpoint, "
            "FWHM = width")

# PRISMA (ASI): panchromatic camera 0.400-0.700 um at 5 m beside the 30 m hyperspectral imager
# (VNIR 400-1010 nm, 66 bands; SWIR 920-2505 nm, 173 bands; FWHM <= 12 nm). Loizzo et al.,
# "PRISMA: the Italian hyperspectral mission", IGARSS 2018. The HS band centres vary across the
# detector (smile) and come with each product (read them from the file's wavelengths).
_PRISMA_BANDS = (band_from_edges("PAN", 400.0, 700.0, "pan", "panchromatic", 5.0),)

# Sentinel-2 MTF gains (10 m: B2, B3, B4, B8; 20 m: B5, B6, B7, B8A, B11, B12; 60 m: B1, B9, B10),
# from the Sentinel-2 super-resolution toolbox of Ciotola, Vivone, Scarpa et al.,
# github.com/matciotola/Sentinel2-SR-Toolbox @ 2a450b7, Utils/spectral_tools.py gen_mtf
# ('S2-10', 'S2-20', 'S2-60'), matched to the bands in product order within each resolution
# group; its 'S2-10-PAN' gain (the mean of the 10 m gains, for a PAN synthesised from them) is the
# PAN gain here. The toolbox does not state where the values were measured.
_S2_GNYQ = {"B1": 0.3175, "B2": 0.275, "B3": 0.28, "B4": 0.25, "B5": 0.365, "B6": 0.33, "B7": 0.34,
            "B8": 0.24, "B8A": 0.32, "B9": 0.295, "B10": 0.30, "B11": 0.205, "B12": 0.235}
_SRC_S2_MTF = ("matciotola/Sentinel2-SR-Toolbox@2a450b7 Utils/spectral_tools.py gen_mtf ('S2-10', 'S2-20', "
               "'S2-60', 'S2-10-PAN'), per resolution group in product order")
_NO_MTF = ("no published Nyquist gains found (pansharpening toolboxes and their papers); the generic default "
           "('none': 0.29 MS, 0.15 PAN) is declared")

# --------------------------------------------------------------------------------------------
# the table (the order is the order of the views and of the lists in error messages)
# --------------------------------------------------------------------------------------------
_TABLE = (
    Sensor("QB", "QuickBird", ("QuickBird", "QB", "qb2", "quickbird2"), srf_key="quickbird",
           bands=_QUICKBIRD_BANDS,
           srf_source="DigitalGlobe QuickBird datasheet nominal bandpasses (centre = midpoint, FWHM = width)",
           ms_gnyq=(0.34, 0.32, 0.30, 0.22), pan_gnyq=0.15, ratio=4, mtf_bands=_BGRN, mtf_source=_SRC_TB),
    Sensor("IKONOS", "IKONOS", ("IKONOS", "ik", "ikonos2"), srf_key="ikonos",
           bands=_IKONOS_BANDS,
           srf_source="Space Imaging IKONOS RSR 50% band edges (Pagnutti et al., RSE 88:53, 2003)",
           ms_gnyq=(0.26, 0.28, 0.29, 0.28), pan_gnyq=0.17, ratio=4, mtf_bands=_BGRN, mtf_source=_SRC_TB),
    Sensor("GeoEye1", "GeoEye-1", ("GeoEye-1", "GeoEye1", "GE1", "GE-1"),
           ms_gnyq=(0.23, 0.23, 0.23, 0.23), pan_gnyq=0.16, ratio=4, mtf_bands=_BGRN, mtf_source=_SRC_TB),
    Sensor("WV2", "WorldView-2", ("WorldView-2", "WorldView2", "WV2", "WV-2", "wv02"), srf_key="worldview2",
           bands=_WV_VNIR, srf_source=_SRC_WV.format(2),
           ms_gnyq=(0.35,) * 7 + (0.27,), pan_gnyq=0.11, ratio=4, mtf_source=_SRC_TB),
    Sensor("WV3", "WorldView-3", ("WorldView-3", "WorldView3", "WV3", "WV-3", "wv03"), srf_key="worldview3",
           bands=_WV_VNIR + _WV3_SWIR, srf_source=_SRC_WV.format(3),
           ms_gnyq=(0.325, 0.355, 0.360, 0.350, 0.365, 0.360, 0.335, 0.315), pan_gnyq=0.14, ratio=4,
           mtf_source="DLPan-Toolbox Tools/genMTF.m and MTF_PAN.m (liangjiandeng/DLPan-Toolbox@3af93d2)",
           note="VNIR MS bands only; the toolbox's 'WV3_4bands' subset is bands=[1, 2, 4, 6]."),
    Sensor("Pleiades", "Pleiades 1A/1B", ("Pleiades", "Pleiades-1", "Pleiades1", "PHR", "Pleiades-1A",
                                          "Pleiades-1B"),
           ms_gnyq=(0.30, 0.30, 0.30, 0.30), pan_gnyq=0.15, ratio=4, mtf_bands=_BGRN, mtf_source=_SRC_HSTB),
    Sensor("SPOT7", "SPOT-7 (NAOMI)", ("SPOT-7", "SPOT7", "SPOT 7"), mtf_placeholder=True,
           ms_gnyq=(0.29, 0.29, 0.29, 0.29), pan_gnyq=0.15, ratio=4, mtf_bands=_BGRN,
           mtf_source="no published toolbox value found; the toolbox's generic default ('none') is used",
           note="PLACEHOLDER: generic default gains (0.29 MS, 0.15 PAN); replace with measured values or pass "
                "gnyq= explicitly."),
    Sensor("ALI", "EO-1 ALI", ("ALI", "EO-1 ALI", "EO1-ALI", "Ali_MS"),
           bands=_ALI_BANDS, srf_source=_SRC_ALI,
           ms_gnyq=(0.29, 0.30, 0.28, 0.29, 0.28, 0.29, 0.25, 0.25, 0.25), pan_gnyq=0.11, ratio=3,
           mtf_bands=("MS-1p", "MS-1", "MS-2", "MS-3", "MS-4", "MS-4p", "MS-5p", "MS-5", "MS-7"),
           mtf_source=_SRC_HSTB, note="the PAN gain 0.11 is marked 'To check' in the source."),
    Sensor("Hyperion", "EO-1 Hyperion", ("Hyperion", "HYP", "EO-1 Hyperion", "EO1-Hyperion"),
           bands=(_ALI_PAN,),
           srf_source=_SRC_ALI + " (the PAN is EO-1 ALI's, 10 m, ratio 3 to Hyperion's 30 m); Hyperion's 242 "
                                 "band centres and FWHM come with each product (read them from the file)",
           ms_gnyq=_hyperion_gains(), pan_gnyq=0.11, ratio=3, mtf_bands=tuple(f"B{i:03d}" for i in range(1, 243)),
           mtf_source=_SRC_HSTB,
           note="242 bands (1-21: 0.27, 22-41: 0.28, 42-70: 0.26, 71-130: 0.30, 131-242: 0.27); the PAN gain is "
                "the EO-1 ALI PAN (0.11) used with Hyperion in HS pansharpening; the toolbox's 'HYP_14_33' subset "
                "is bands=range(13, 33)."),
    Sensor("PRISMA", "PRISMA (ASI)", ("PRISMA",),
           bands=_PRISMA_BANDS,
           srf_source="Loizzo et al., 'PRISMA: the Italian hyperspectral mission', IGARSS 2018 (PAN 400-700 nm, "
                      "5 m; HS 30 m, band centres per product)",
           ms_gnyq=(0.30,), pan_gnyq=0.20, ratio=6, uniform=True,
           mtf_source="matciotola/hyperspectral_pansharpening_toolbox@056c0cd Utils/spectral_tools.py (PAN value "
                      "citing ASI's PRISMA mission status, 2021)",
           note="uniform HS gain for any number of bands (pass n_bands)."),
    Sensor("sentinel2", "Sentinel-2A MSI", ("s2", "s2a", "sentinel2a", "sentinel2msi", "msi"),
           bands=_SENTINEL2_BANDS,
           srf_source="ESA, Sentinel-2A spectral responses (COPE-GSEG-EOPG-TN-15-0007 v3.0): centre/bandwidth",
           ms_gnyq=tuple(_S2_GNYQ[b.name] for b in _SENTINEL2_BANDS), pan_gnyq=0.26125, ratio=2,
           mtf_source=_SRC_S2_MTF,
           note="ratio 2 for the 20 m bands on the 10 m grid, 6 for the 60 m bands (band gsd); the PAN gain is "
                "for a PAN synthesised from the 10 m bands (mean of their gains)."),
    Sensor("landsat8", "Landsat-8 OLI", ("l8", "oli", "landsat8oli", "landsatoli"),
           bands=_LANDSAT8_BANDS,
           srf_source="Barsi et al., Remote Sens. 6:10232 (2014), OLI band-average RSR centre/FWHM",
           ms_gnyq=(0.29,) * 7, pan_gnyq=0.15, ratio=2, mtf_source=_NO_MTF, mtf_placeholder=True,
           note="PLACEHOLDER gains (generic default); pass gnyq= / --gnyq with measured values. MS 30 m, PAN "
                "15 m."),
    Sensor("landsat9", "Landsat-9 OLI-2", ("l9", "oli2", "landsat9oli2", "Landsat-9", "LC09"),
           bands=_LANDSAT9_BANDS,
           srf_source="USGS Landsat 9 Data Users Handbook, OLI-2 band specification edges (centre = midpoint, "
                      "FWHM = width)",
           ms_gnyq=(0.29,) * 7, pan_gnyq=0.15, ratio=2, mtf_source=_NO_MTF, mtf_placeholder=True,
           note="PLACEHOLDER gains (generic default); pass gnyq= / --gnyq with measured values. MS 30 m, PAN "
                "15 m."),
    Sensor("landsat7", "Landsat-7 ETM+", ("l7", "etm", "etm+", "landsat7etm", "Landsat-7", "LE07"),
           bands=_LANDSAT7_BANDS,
           srf_source="Landsat 7 Science Data Users Handbook (NASA GSFC), ETM+ 50 % band edges (centre = midpoint, "
                      "FWHM = width)",
           ms_gnyq=(0.29,) * 6, pan_gnyq=0.15, ratio=2, mtf_source=_NO_MTF, mtf_placeholder=True,
           note="PLACEHOLDER gains (generic default); pass gnyq= / --gnyq with measured values. MS 30 m, PAN "
                "15 m; thermal band 6 not included."),
    Sensor("EnMAP", "EnMAP HSI (DLR)", ("EnMAP", "EnMAP-HSI", "enmaphsi"),
           srf_source="",
           note="no table data: 224 bands, VNIR 420-1000 nm (sampling 6.5 nm, FWHM 8.1 nm) and SWIR 900-2450 nm "
                "(sampling 10 nm, FWHM 12.5 nm), 30 m, no PAN (Guanter et al., Remote Sens. 7:8830, 2015); the "
                "band centres and FWHM come with each product (read them from the file), and no published MTF "
                "Nyquist gain was found. For HS-MS fusion with Sentinel-2's 10 m bands the ratio is 3."),
    Sensor("generic", "generic sensor (toolbox default)", ("generic", "none", "default"),
           ms_gnyq=(0.29,), pan_gnyq=0.15, ratio=4, uniform=True, mtf_source=_SRC_TB + " ('none' case)",
           note="uniform gain for any number of bands."),
)


def _build(table: tuple[Sensor, ...]) -> tuple[dict[str, Sensor], dict[str, str]]:
    by_key: dict[str, Sensor] = {}
    names: dict[str, str] = {}
    for s in table:
        if s.key in by_key:
            raise ParameterError(f"sensor table: key {s.key!r} is declared twice")
        by_key[s.key] = s
        for n in s.all_names:
            k = normalise_sensor_name(n)
            if names.get(k, s.key) != s.key:
                raise ParameterError(f"sensor table: the name {n!r} of {s.key!r} is already a name of "
                                     f"{names[k]!r}")
            names[k] = s.key
    return by_key, names


#: The sensor table: canonical key -> :class:`Sensor`, in table order.
SENSOR_TABLE: dict[str, Sensor]
SENSOR_TABLE, _NAMES = _build(_TABLE)


def find_sensor(name: str) -> Sensor | None:
    """The sensor called ``name`` (key, spectral key, full name or alias; module docstring), or None."""
    key = _NAMES.get(normalise_sensor_name(name))
    return None if key is None else SENSOR_TABLE[key]


def lookup_sensor(name: str) -> Sensor:
    """:func:`find_sensor`, raising :class:`~hysupp.errors.InputError` (listing the sensors) when
    ``name`` is unknown."""
    s = find_sensor(name)
    if s is None:
        known = ", ".join(f"{s.key} ({s.name})" for s in SENSOR_TABLE.values())
        raise InputError(f"unknown sensor {name!r}; known sensors: {known}")
    return s
