"""The one sensor table (hysupp.physics.sensors) and its two views.

The values below were dumped from the two tables that existed before the merge (``mtf.SENSORS``,
keyed "QB", ..., and ``spectral.SENSORS_SPECTRAL``, keyed "quickbird", ...): every entry, key and
alias of both must keep resolving to the same values.
"""

from __future__ import annotations

import numpy as np
import pytest

from hysupp.errors import InputError, ParameterError
from hysupp.physics import mtf, spectral
from hysupp.physics.sensors import (SENSOR_TABLE, Sensor, SpectralBand, band_from_edges, find_sensor, lookup_sensor,
                                    normalise_sensor_name)

HYPERION_BANDS = tuple(f"B{i:03d}" for i in range(1, 243))
HYPERION = (0.27,) * 21 + (0.28,) * 20 + (0.26,) * 29 + (0.30,) * 60 + (0.27,) * 112

_SRC_TB = ("Vivone et al. 2015 Pansharpening Toolbox (MTF.m, MTF_PAN.m, resize_images.m); copies: "
           "liuyuim/Pansharpening-Evaluation@32ad0a4 (ver 1.3), liangjiandeng/DLPan-Toolbox@3af93d2 "
           "(Tools/genMTF.m, MTF_PAN.m)")
_SRC_HSTB = ("hyperspectral extension of the Pansharpening Toolbox MTF.m/MTF_PAN.m (Loncan et al., IEEE GRSM "
             "2015), public copies")

_BGRN = ("Blue", "Green", "Red", "NIR")
_WV = ("Coastal", "Blue", "Green", "Yellow", "Red", "RedEdge", "NIR1", "NIR2")
_ALI = ("MS-1p", "MS-1", "MS-2", "MS-3", "MS-4", "MS-4p", "MS-5p", "MS-5", "MS-7")

# key: (name, ms_bands, ms_gnyq, pan_gnyq, ratio, uniform, aliases)
OLD_MTF = {
    "QB": ("QuickBird", _BGRN, (0.34, 0.32, 0.3, 0.22), 0.15, 4, False, ("QuickBird", "QB")),
    "IKONOS": ("IKONOS", _BGRN, (0.26, 0.28, 0.29, 0.28), 0.17, 4, False, ("IKONOS",)),
    "GeoEye1": ("GeoEye-1", _BGRN, (0.23, 0.23, 0.23, 0.23), 0.16, 4, False, ("GeoEye-1", "GeoEye1", "GE1", "GE-1")),
    "WV2": ("WorldView-2", _WV, (0.35, 0.35, 0.35, 0.35, 0.35, 0.35, 0.35, 0.27), 0.11, 4, False,
            ("WorldView-2", "WorldView2", "WV2", "WV-2")),
    "WV3": ("WorldView-3", _WV, (0.325, 0.355, 0.36, 0.35, 0.365, 0.36, 0.335, 0.315), 0.14, 4, False,
            ("WorldView-3", "WorldView3", "WV3", "WV-3")),
    "Pleiades": ("Pleiades 1A/1B", _BGRN, (0.3, 0.3, 0.3, 0.3), 0.15, 4, False,
                 ("Pleiades", "Pleiades-1", "Pleiades1", "PHR", "Pleiades-1A", "Pleiades-1B")),
    "SPOT7": ("SPOT-7 (NAOMI)", _BGRN, (0.29, 0.29, 0.29, 0.29), 0.15, 4, False, ("SPOT-7", "SPOT7", "SPOT 7")),
    "ALI": ("EO-1 ALI", _ALI, (0.29, 0.3, 0.28, 0.29, 0.28, 0.29, 0.25, 0.25, 0.25), 0.11, 3, False,
            ("ALI", "EO-1 ALI", "EO1-ALI", "Ali_MS")),
    "Hyperion": ("EO-1 Hyperion", HYPERION_BANDS, HYPERION, 0.11, 3, False,
                 ("Hyperion", "HYP", "EO-1 Hyperion", "EO1-Hyperion")),
    "PRISMA": ("PRISMA (ASI)", (), (0.3,), 0.2, 6, True, ("PRISMA",)),
    "generic": ("generic sensor (toolbox default)", (), (0.29,), 0.15, 4, True, ("generic", "none", "default")),
}
# key: (source, note)
OLD_MTF_TEXT = {
    "QB": (_SRC_TB, ""),
    "IKONOS": (_SRC_TB, ""),
    "GeoEye1": (_SRC_TB, ""),
    "WV2": (_SRC_TB, ""),
    "WV3": ("DLPan-Toolbox Tools/genMTF.m and MTF_PAN.m (liangjiandeng/DLPan-Toolbox@3af93d2)",
            "VNIR MS bands only; the toolbox's 'WV3_4bands' subset is bands=[1, 2, 4, 6]."),
    "Pleiades": (_SRC_HSTB, ""),
    "SPOT7": ("no published toolbox value found; the toolbox's generic default ('none') is used",
              "PLACEHOLDER: generic default gains (0.29 MS, 0.15 PAN); replace with measured values or pass "
              "gnyq= explicitly."),
    "ALI": (_SRC_HSTB, "the PAN gain 0.11 is marked 'To check' in the source."),
    "Hyperion": (_SRC_HSTB,
                 "242 bands (1-21: 0.27, 22-41: 0.28, 42-70: 0.26, 71-130: 0.30, 131-242: 0.27); the PAN gain is "
                 "the EO-1 ALI PAN (0.11) used with Hyperion in HS pansharpening; the toolbox's 'HYP_14_33' "
                 "subset is bands=range(13, 33)."),
    "PRISMA": ("matciotola/hyperspectral_pansharpening_toolbox@056c0cd Utils/spectral_tools.py (PAN value citing "
               "ASI's PRISMA mission status, 2021)",
               "uniform HS gain for any number of bands (pass n_bands)."),
    "generic": (_SRC_TB + " ('none' case)", "uniform gain for any number of bands."),
}
# key: (name, aliases, source, bands (name, centre, fwhm, group, long_name))
OLD_SRF = {
    'sentinel2': ('Sentinel-2A MSI', ('s2', 's2a', 'sentinel2a', 'sentinel2msi', 'msi'),
        'ESA, Sentinel-2A spectral responses (COPE-GSEG-EOPG-TN-15-0007 v3.0): centre/bandwidth', (
            ('B1', 442.7, 21.0, 'ms', 'coastal aerosol'),
            ('B2', 492.4, 66.0, 'ms', 'blue'),
            ('B3', 559.8, 36.0, 'ms', 'green'),
            ('B4', 664.6, 31.0, 'ms', 'red'),
            ('B5', 704.1, 15.0, 'ms', 'red edge 1'),
            ('B6', 740.5, 15.0, 'ms', 'red edge 2'),
            ('B7', 782.8, 20.0, 'ms', 'red edge 3'),
            ('B8', 832.8, 106.0, 'ms', 'NIR'),
            ('B8A', 864.7, 21.0, 'ms', 'narrow NIR'),
            ('B9', 945.1, 20.0, 'ms', 'water vapour'),
            ('B10', 1373.5, 31.0, 'ms', 'SWIR cirrus'),
            ('B11', 1613.7, 91.0, 'ms', 'SWIR 1'),
            ('B12', 2202.4, 175.0, 'ms', 'SWIR 2'),
        )),
    'landsat8': ('Landsat-8 OLI', ('l8', 'oli', 'landsat8oli', 'landsatoli'),
        'Barsi et al., Remote Sens. 6:10232 (2014), OLI band-average RSR centre/FWHM', (
            ('B1', 442.96, 15.98, 'ms', 'coastal/aerosol'),
            ('B2', 482.04, 60.04, 'ms', 'blue'),
            ('B3', 561.41, 57.33, 'ms', 'green'),
            ('B4', 654.59, 37.47, 'ms', 'red'),
            ('B5', 864.67, 28.25, 'ms', 'NIR'),
            ('B6', 1608.86, 84.72, 'ms', 'SWIR 1'),
            ('B7', 2200.73, 186.66, 'ms', 'SWIR 2'),
            ('B8', 589.5, 172.4, 'pan', 'panchromatic'),
        )),
    'worldview2': ('WorldView-2', ('wv2', 'wv02', 'worldview-2'),
        'DigitalGlobe WorldView-2 datasheet band edges (centre = midpoint, FWHM = width)', (
            ('Coastal', 425.0, 50.0, 'ms', 'coastal blue'),
            ('Blue', 480.0, 60.0, 'ms', ''),
            ('Green', 545.0, 70.0, 'ms', ''),
            ('Yellow', 605.0, 40.0, 'ms', ''),
            ('Red', 660.0, 60.0, 'ms', ''),
            ('RedEdge', 725.0, 40.0, 'ms', 'red edge'),
            ('NIR1', 832.5, 125.0, 'ms', ''),
            ('NIR2', 950.0, 180.0, 'ms', ''),
            ('PAN', 625.0, 350.0, 'pan', 'panchromatic'),
        )),
    'worldview3': ('WorldView-3', ('wv3', 'wv03', 'worldview-3'),
        'DigitalGlobe WorldView-3 datasheet band edges (centre = midpoint, FWHM = width)', (
            ('Coastal', 425.0, 50.0, 'ms', 'coastal blue'),
            ('Blue', 480.0, 60.0, 'ms', ''),
            ('Green', 545.0, 70.0, 'ms', ''),
            ('Yellow', 605.0, 40.0, 'ms', ''),
            ('Red', 660.0, 60.0, 'ms', ''),
            ('RedEdge', 725.0, 40.0, 'ms', 'red edge'),
            ('NIR1', 832.5, 125.0, 'ms', ''),
            ('NIR2', 950.0, 180.0, 'ms', ''),
            ('PAN', 625.0, 350.0, 'pan', 'panchromatic'),
            ('SWIR1', 1210.0, 30.0, 'swir', ''),
            ('SWIR2', 1570.0, 40.0, 'swir', ''),
            ('SWIR3', 1660.0, 40.0, 'swir', ''),
            ('SWIR4', 1730.0, 40.0, 'swir', ''),
            ('SWIR5', 2165.0, 40.0, 'swir', ''),
            ('SWIR6', 2205.0, 40.0, 'swir', ''),
            ('SWIR7', 2260.0, 50.0, 'swir', ''),
            ('SWIR8', 2330.0, 70.0, 'swir', ''),
        )),
    'quickbird': ('QuickBird', ('qb', 'qb2', 'quickbird2'),
        'DigitalGlobe QuickBird datasheet nominal bandpasses (centre = midpoint, FWHM = width)', (
            ('B', 485.0, 70.0, 'ms', 'blue'),
            ('G', 560.0, 80.0, 'ms', 'green'),
            ('R', 660.0, 60.0, 'ms', 'red'),
            ('NIR', 830.0, 140.0, 'ms', 'near infrared'),
            ('PAN', 675.0, 450.0, 'pan', 'panchromatic'),
        )),
    'ikonos': ('IKONOS', ('ik', 'ikonos2'),
        'Space Imaging IKONOS RSR 50% band edges (Pagnutti et al., RSE 88:53, 2003)', (
            ('B', 480.35, 71.30000000000001, 'ms', 'blue'),
            ('G', 550.7, 88.60000000000002, 'ms', 'green'),
            ('R', 664.8, 65.80000000000007, 'ms', 'red'),
            ('NIR', 805.0, 95.40000000000009, 'ms', 'near infrared'),
            ('PAN', 727.15, 402.70000000000005, 'pan', 'panchromatic'),
        )),
}

# ------------------------------------------------------------------------------------------ old values
def _names(names):
    return {normalise_sensor_name(n) for n in names}


@pytest.mark.parametrize("key", sorted(OLD_MTF))
def test_mtf_view_keeps_every_old_entry(key):
    name, ms_bands, gains, pan, ratio, uniform, aliases = OLD_MTF[key]
    source, note = OLD_MTF_TEXT[key]
    s = mtf.SENSORS[key]
    assert (s.key, s.name, s.ms_bands, s.ms_gnyq, s.pan_gnyq, s.ratio, s.uniform) == \
        (key, name, ms_bands, gains, pan, ratio, uniform)
    assert (s.source, s.note) == (source, note)
    for alias in (key, name) + aliases:                  # every old name finds the same entry
        assert mtf.get_sensor(alias) == s
        assert mtf.get_sensor(alias.upper()) == s and mtf.get_sensor(alias.lower()) == s
    assert _names(aliases) <= _names(s.aliases)


def test_mtf_view_order_and_keys():
    # the old entries keep their order (new sensors are inserted before the generic default)
    assert list(mtf.SENSORS) == mtf.list_sensors()
    assert [k for k in mtf.SENSORS if k in OLD_MTF] == list(OLD_MTF) and list(mtf.SENSORS)[-1] == "generic"


@pytest.mark.parametrize("key", sorted(OLD_SRF))
def test_spectral_view_keeps_every_old_entry(key):
    name, aliases, source, bands = OLD_SRF[key]
    s = spectral.SENSORS_SPECTRAL[key]
    assert (s.key, s.name, s.source) == (key, name, source)
    assert [(b.name, b.centre, b.fwhm, b.group, b.long_name) for b in s.bands] == list(bands)
    for alias in (key,) + aliases:
        assert spectral.get_sensor(alias) == s
        assert spectral.get_sensor(alias.upper()).key == key
    assert _names(aliases) <= _names(s.aliases)                 # the aliases listed in messages
    assert set(OLD_SRF) <= set(spectral.SENSORS_SPECTRAL)


def test_one_entry_per_sensor_with_both_views():
    # the four sensors both old tables held are one entry each, found by either old key
    for mtf_key, srf_key in [("QB", "quickbird"), ("IKONOS", "ikonos"), ("WV2", "worldview2"),
                             ("WV3", "worldview3")]:
        entry = lookup_sensor(mtf_key)
        assert entry is lookup_sensor(srf_key) and entry.key == mtf_key and entry.spectral_key == srf_key
        assert mtf.get_sensor(srf_key).key == mtf_key
        assert spectral.get_sensor(mtf_key).key == srf_key
        # the gains are matched by position to the spectral MS bands
        assert len(entry.group("ms")) == len(entry.ms_gnyq)
    assert set(SENSOR_TABLE) == set(OLD_MTF) | {"sentinel2", "landsat8"} | set(NEW_SENSORS)


# ------------------------------------------------------------------------------------------ lookups
def test_names_are_normalised():
    assert normalise_sensor_name(" Quick_Bird-2 ") == "quickbird2"
    assert find_sensor("Quick Bird") is find_sensor("QUICKBIRD") is SENSOR_TABLE["QB"]
    assert find_sensor("Pléiades-1A") is SENSOR_TABLE["Pleiades"]
    assert find_sensor("Sentinel-2A MSI") is SENSOR_TABLE["sentinel2"]      # the full name too
    assert find_sensor("Landsat-42") is None


def test_views_refuse_a_sensor_without_their_data():
    with pytest.raises(InputError, match=r"'EnMAP' \(EnMAP HSI \(DLR\)\) has no MTF gains.*QB \(QuickBird\)"):
        mtf.get_sensor("EnMAP")
    with pytest.raises(InputError, match=r"'GE1' \(GeoEye-1\) has no spectral bands.*quickbird \("):
        spectral.get_sensor("GE1")
    with pytest.raises(InputError, match="EO-1 Hyperion has no multispectral bands in the sensor table"):
        spectral.sensor_srf("HYP", np.arange(400.0, 1000.0, 10.0))
    with pytest.raises(InputError, match=r"unknown sensor 'Landsat-42'; known sensors: QB \(QuickBird\), IKONOS"):
        lookup_sensor("Landsat-42")
    with pytest.raises(InputError, match=r"unknown sensor 'Landsat-42'; known sensors: QB \(QuickBird\), IKONOS"):
        mtf.get_sensor("Landsat-42")


# ------------------------------------------------------------------------------------------ adding one
def test_a_new_sensor_is_one_entry():
    bands = (SpectralBand("B1", 480.0, 60.0), band_from_edges("B2", 530.0, 590.0),
             band_from_edges("P", 500.0, 680.0, "pan"))
    s = Sensor("X1", "Example-1", ("x-1",), bands=bands, srf_source="test", ms_gnyq=(0.3, 0.28),
               pan_gnyq=0.15, ratio=2, mtf_source="test")
    assert s.has_mtf and s.has_srf and s.gain_band_names == ("B1", "B2") and s.spectral_key == "X1"
    assert mtf.SensorMTF.from_sensor(s).gains(bands=["b2"]).tolist() == [0.28]
    assert spectral.SensorSpectral.from_sensor(s).group("pan")[0].centre == 590.0


@pytest.mark.parametrize("kwargs, match", [
    ({"ms_gnyq": (0.3,), "pan_gnyq": 0.15, "ratio": 2}, "1 MS gains for 2 MS bands"),
    ({"ms_gnyq": (0.3, 1.2), "pan_gnyq": 0.15, "ratio": 2}, r"must be in \(0, 1\)"),
    ({"ms_gnyq": (0.3, 0.3)}, "also declares pan_gnyq and ratio"),
    ({"pan_gnyq": 0.15}, "without MS gains"),
    ({"ms_gnyq": (0.3, 0.3), "pan_gnyq": 0.15, "ratio": 2, "mtf_bands": ("a", "b", "c")}, "3 MS gains|2 MS gains"),
])
def test_a_mistyped_entry_fails_naming_the_sensor(kwargs, match):
    bands = (SpectralBand("B1", 480.0, 60.0), SpectralBand("B2", 560.0, 60.0))
    with pytest.raises(ParameterError, match=rf"sensor table entry 'X1'.*({match})"):
        Sensor("X1", "Example-1", bands=bands, **kwargs)
    with pytest.raises(ParameterError, match="band names repeat"):
        Sensor("X2", "Example-2", bands=bands + (SpectralBand("b1", 700.0, 20.0),))
    with pytest.raises(ParameterError, match="group 'nir'"):
        Sensor("X3", "Example-3", bands=(SpectralBand("B1", 480.0, 60.0, "nir"),))


def test_two_entries_may_not_share_a_name():
    from hysupp.physics.sensors import _build

    a = Sensor("A", "Sensor A", ("alpha",))
    with pytest.raises(ParameterError, match="'ALPHA' of 'B' is already a name of 'A'"):
        _build((a, Sensor("B", "Sensor B", ("ALPHA",))))
    with pytest.raises(ParameterError, match="declared twice"):
        _build((a, Sensor("A", "Other")))


# ------------------------------------------------------------------------------------------ issue 19 presets
# key: (aliases to find it by, ms band names, MS gains (None: no MTF), PAN gain, ratio, placeholder gains,
#       PAN band (centre, fwhm, gsd) or None)
NEW_SENSORS = {
    "landsat7": (("Landsat-7", "ETM+", "L7", "landsat 7 etm+"), ("B1", "B2", "B3", "B4", "B5", "B7"),
                 (0.29,) * 6, 0.15, 2, True, (710.0, 380.0, 15.0)),
    "landsat9": (("Landsat-9", "OLI-2", "l9", "LC09"), tuple(f"B{i}" for i in range(1, 8)), (0.29,) * 7, 0.15, 2,
                 True, (590.0, 180.0, 15.0)),
    "EnMAP": (("enmap", "EnMAP-HSI"), (), None, None, None, False, None),
}


@pytest.mark.parametrize("key", sorted(NEW_SENSORS))
def test_new_presets(key):
    aliases, ms, gains, pan_gain, ratio, placeholder, pan = NEW_SENSORS[key]
    s = SENSOR_TABLE[key]
    for alias in aliases:                                          # case, spaces, '-', '+' ignored
        assert lookup_sensor(alias) is s and lookup_sensor(alias.upper()) is s and lookup_sensor(alias.lower()) is s
    assert tuple(b.name for b in s.group("ms")) == ms
    assert (s.ms_gnyq or None) == gains and s.pan_gnyq == pan_gain and s.ratio == ratio
    assert s.mtf_placeholder is placeholder
    if placeholder:
        assert "no published" in s.mtf_source and "PLACEHOLDER" in s.note
    if pan is not None:
        (p,) = s.group("pan")
        assert (p.centre, p.fwhm, p.gsd) == pan
    assert s.srf_source or s.note


def test_sentinel2_gains_and_resolutions():
    s2 = SENSOR_TABLE["sentinel2"]
    gains = dict(zip(s2.gain_band_names, s2.ms_gnyq))
    assert [gains[b] for b in ("B2", "B3", "B4", "B8")] == [0.275, 0.28, 0.25, 0.24]              # S2-10
    assert [gains[b] for b in ("B5", "B6", "B7", "B8A", "B11", "B12")] == [0.365, 0.33, 0.34, 0.32, 0.205, 0.235]
    assert [gains[b] for b in ("B1", "B9", "B10")] == [0.3175, 0.295, 0.30]                       # S2-60
    assert s2.pan_gnyq == pytest.approx(np.mean([0.275, 0.28, 0.25, 0.24]))
    gsd = {b.name: b.gsd for b in s2.bands}
    assert sorted(b for b, g in gsd.items() if g == 10.0) == ["B2", "B3", "B4", "B8"]
    assert {g for g in gsd.values()} == {10.0, 20.0, 60.0} and s2.ratio == 2
    assert mtf.get_sensor("S2").gains(bands=["B5", "b6"]).tolist() == [0.365, 0.33]
    assert not s2.mtf_placeholder


def test_eo1_and_prisma_bands():
    ali, hyp, prisma = SENSOR_TABLE["ALI"], SENSOR_TABLE["Hyperion"], SENSOR_TABLE["PRISMA"]
    assert [b.name for b in ali.group("ms")] == list(_ALI) == list(ali.gain_band_names)
    assert (ali.group("pan")[0].centre, ali.group("pan")[0].fwhm, ali.group("pan")[0].gsd) == (585.0, 210.0, 10.0)
    assert hyp.group("pan") == ali.group("pan") and hyp.ratio == ali.ratio == 3     # Hyperion + ALI PAN
    assert not hyp.group("ms") and len(hyp.ms_gnyq) == 242
    assert (prisma.group("pan")[0].centre, prisma.group("pan")[0].fwhm, prisma.ratio) == (550.0, 300.0, 6)
    wl = np.arange(250.0, 2500.0, 10.0)                # the broad PANs' Gaussian tails reach below 400 nm
    assert spectral.sensor_srf("hyperion", wl, pan=True).band_names == ["PAN"]
    assert spectral.sensor_srf("ali", wl).n_bands_out == 9
    assert spectral.sensor_srf("prisma", wl, pan=True).target_centres[0] == 550.0
    assert SENSOR_TABLE["SPOT7"].mtf_placeholder and not SENSOR_TABLE["WV2"].mtf_placeholder
