"""Every real file in ../shared/data loads, and orientation checks against known facts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from hysupp.io import describe, format_description, load
from hysupp.io.matlab import read_usgs_splib

SHARED = Path(os.environ.get("HYSUPP_SHARED_DATA",
                             Path(__file__).resolve().parents[1].parent / "shared" / "data"))

# file (relative to the shared data folder) -> expected layout
EXPECTED = {
    "aviris_salton_sea/salton_sea_roi.mat": "cube",
    "cuprite/Rcuprite50x90x188.mat": "cube",
    "cuprite/USGS_lib_DesertVanish_Montmorillonite_Alunite_188b.mat": "library",
    "cuprite/groundTruth_Cuprite_nEnd12.mat": "endmembers",
    "dc1/DC1_EE.mat": "library",
    "dc1/DC1_XT.mat": "abundances",
    "dc1/DC1_Y_clean.mat": "cube",
    "dc2/DC2_XT.mat": "abundances",
    "pansharpening_wv2/imgWV2.mat": "pansharpening-pair",
    "pavia_university/reg_pavia_dataset.mat": "cube",
    "samson/end3.mat": "zhu-truth",
    "samson/samson_1.mat": "zhu",
    "srf/R_avirSentin2.mat": "srf",  # a spectral response (10 x 173), not a library (issue 18)
    "srf/ikonos_spec_resp.mat": "spectral-table",
    "usgs/USGS_1995_Library.mat": "usgs-splib",
    "wavelengths/AVIRIS_wavelengths.mat": "wavelengths",
    "enmap_potsdam/enmap_potsdam_tile_128_0.tif": "geotiff",
    "enmap_potsdam/enmap_potsdam_tile_96_96.tif": "geotiff",
    "enmap_potsdam/label_enmap_potsdam_tile_128_0.tif": "geotiff",
    "enmap_potsdam/enmap_potsdam_srf.csv": "band-table",
    "envi_gamsberg/cubus_gamsberg_subset": "envi",
    "envi_gamsberg/cubus_gamsberg_subset.hdr": "envi",
    "envi_gamsberg/gamsberg_field_library": "envi-library",
    "envi_gamsberg/gamsberg_field_library.hdr": "envi-library",
    "envi_library_berlin/library_berlin.sli": "envi-library",
    "envi_library_berlin/library_berlin.hdr": "envi-library",
}


@pytest.fixture(scope="module")
def data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED} (set HYSUPP_SHARED_DATA)")
    return SHARED


def test_every_data_file_is_covered(data: Path) -> None:
    listed = {data / f for f in EXPECTED}
    for ext in ("*.mat", "*.tif", "*.sli", "*.hdr"):
        for f in data.rglob(ext):
            data_file = f.with_suffix("") if f.suffix == ".hdr" else f
            assert f in listed or data_file in listed, f"{f} has no expected layout in this test"


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_file_loads_and_describe_names_layout(data: Path, rel: str) -> None:
    path = data / rel
    scene = load(path)
    assert scene.layout == EXPECTED[rel]
    assert scene.notes, "every scene says what the reader did"
    for arr in (scene.cube, scene.library, scene.endmembers, scene.abundances):
        if arr is not None:
            assert arr.dtype == np.float32
    d = describe(path)
    json.dumps(d)  # JSON-serialisable
    assert d["layout"] == EXPECTED[rel]
    assert d["file"] == str(path)
    text = format_description(d)
    assert EXPECTED[rel] in text
    if path.suffix == ".mat":
        assert d["format"] == "mat-v5"
        assert {v["name"] for v in d["variables"]}
        assert all({"name", "shape", "dtype"} <= set(v) for v in d["variables"])


def test_dc1_cube_equals_library_times_abundances(data: Path) -> None:
    Y = load(data / "dc1/DC1_Y_clean.mat", dtype=np.float64)
    EE = load(data / "dc1/DC1_EE.mat", dtype=np.float64)
    XT = load(data / "dc1/DC1_XT.mat", dtype=np.float64)
    assert Y.shape == (224, 75, 75)
    assert EE.library.shape == (224, 240)
    assert XT.abundances.shape == (240, 75, 75)
    recon = (EE.library @ XT.abundances.reshape(240, -1)).reshape(224, 75, 75)  # row-major pixels
    assert np.allclose(Y.cube, recon, atol=1e-12)
    assert not np.allclose(Y.cube, recon.transpose(0, 2, 1), atol=1e-3)  # orientation is not symmetric


def test_dc2_abundances_sum_to_one(data: Path) -> None:
    XT = load(data / "dc2/DC2_XT.mat")
    assert XT.abundances.shape == (240, 100, 100)
    assert np.allclose(XT.abundances.sum(0), 1, atol=2e-3)
    assert XT.cube is None


def _coherence(maps: np.ndarray) -> float:
    """Mean absolute neighbour difference relative to the mean absolute difference of random pairs."""
    near = np.abs(np.diff(maps, axis=-1)).mean() + np.abs(np.diff(maps, axis=-2)).mean()
    rng = np.random.default_rng(0)
    flat = maps.reshape(maps.shape[0], -1)
    perm = rng.permutation(flat.shape[1])
    far = 2 * np.abs(flat - flat[:, perm]).mean()
    return near / far


def test_samson_truth_orientation(data: Path) -> None:
    s = load(data / "samson/samson_1.mat", truth=data / "samson/end3.mat", dtype=np.float64)
    assert s.layout == "zhu"
    assert s.shape == (156, 95, 95)
    assert s.abundances.shape == (3, 95, 95)
    assert s.endmember_names == ["1-rock", "2-Tree", "3-water"]
    # the truth maps are spatially coherent in our ordering
    assert _coherence(s.abundances) < 0.3
    # M @ A, reshaped the same way, matches the image pixel by pixel (spectral correlation)
    recon = (s.endmembers @ s.abundances.reshape(3, -1)).reshape(s.shape)
    Y, R = s.pixels(), recon.reshape(156, -1)
    Yc, Rc = Y - Y.mean(0), R - R.mean(0)
    corr = (Yc * Rc).sum(0) / np.sqrt((Yc ** 2).sum(0) * (Rc ** 2).sum(0))
    assert np.median(corr) > 0.99
    # a one-pixel misregistration of the truth breaks that agreement
    shifted = np.roll(R, 1, axis=1)
    Sc = shifted - shifted.mean(0)
    corr_shift = (Yc * Sc).sum(0) / np.sqrt((Yc ** 2).sum(0) * (Sc ** 2).sum(0))
    assert np.mean(corr) > np.mean(corr_shift)
    # the image itself is coherent with the column-major reading; row-major of V would not be (N is square,
    # so check the raw matrix instead): our cube's pixel (r, c) is V[:, r + c * nRow]
    import scipy.io

    V = scipy.io.loadmat(data / "samson/samson_1.mat")["V"]
    assert np.allclose(s.cube[:, 3, 7], V[:, 3 + 7 * 95])


def test_cuprite_truth_band_selection(data: Path) -> None:
    s = load(data / "cuprite/Rcuprite50x90x188.mat", truth=data / "cuprite/groundTruth_Cuprite_nEnd12.mat",
             scale=1e-4)
    assert s.shape == (188, 50, 90)
    assert s.endmembers.shape == (188, 12)
    assert s.wavelengths is not None and s.wavelengths.size == 188
    assert 350 < s.wavelengths.min() < 450 and 2400 < s.wavelengths.max() < 2600
    assert any("band selection" in n for n in s.notes)
    assert float(s.cube.max()) < 1.0  # reflectance after scale=1e-4
    # the image's mean spectrum follows the mineral spectra (same bands, same order)
    mean = s.pixels().mean(1)
    corr = [np.corrcoef(mean, s.endmembers[:, k])[0, 1] for k in range(12)]
    assert max(corr) > 0.8


def test_cuprite_integer_note(data: Path) -> None:
    s = load(data / "cuprite/Rcuprite50x90x188.mat")
    assert s.cube.dtype == np.float32
    assert float(s.cube.max()) == 8153.0  # values kept
    assert any("integer data kept as stored; pass scale=1e-4 for reflectance" in n for n in s.notes)


def test_usgs_splib(data: Path) -> None:
    s = read_usgs_splib(data / "usgs/USGS_1995_Library.mat")
    assert s.layout == "usgs-splib"
    # 0-based columns 0..2 are wavelength, resolution and channel number; 498 signatures follow
    # (MATLAB's datalib(:, 4:end)), named by rows 3.. of 'names'
    assert s.library.shape == (224, 498)
    assert len(s.library_names) == 498
    assert s.library_names[0] == "Acmite NMNH133746"
    assert np.all(np.diff(s.wavelengths) > 0)
    assert 350 < s.wavelengths[0] < 400 and 2400 < s.wavelengths[-1] < 2600
    assert np.isfinite(s.library).all()
    # DC1's EE is this library sorted by wavelength and pruned: every EE column is a library column,
    # and EE columns 1..5 are the DC1 endmembers of HySUPP's reference_endmembers.txt, in order
    EE = load(data / "dc1/DC1_EE.mat", dtype=np.float64).library
    lib = s.library.astype(np.float64)
    dist = np.stack([np.abs(lib - EE[:, [j]]).max(0) for j in range(EE.shape[1])])
    assert dist.min(1).max() < 1e-6
    cols = dist.argmin(1)
    assert 0 in cols  # the first signature (Acmite) is an EE atom: it is not a metadata column
    names = [s.library_names[c] for c in cols[1:6]]
    assert names == ["Jarosite GDS101 Na,Sy 200", "Anorthite HS349.3B", "Calcite WS272", "Alunite GDS83 Na63",
                     "Howlite GDS155"]


def test_salton_bad_bands_and_georef(data: Path) -> None:
    s = load(data / "aviris_salton_sea/salton_sea_roi.mat")
    assert s.shape == (204, 51, 56)
    assert np.isfinite(s.cube).all()
    assert s.fwhm is not None and s.fwhm.size == 204 and 5 < s.fwhm.mean() < 15
    assert s.wavelengths.min() > 300
    assert s.georef is not None and s.georef.crs == "EPSG:32611"
    assert s.extras["kept_bands"].size == 204
    assert any("dropped 20 bad bands" in n for n in s.notes)


def test_pavia_picks_band_matching_cube(data: Path) -> None:
    s = load(data / "pavia_university/reg_pavia_dataset.mat")
    assert s.shape == (103, 80, 50)
    assert s.wavelengths[0] == pytest.approx(430.0)
    rgb = load(data / "pavia_university/reg_pavia_dataset.mat", key="rgb1")
    assert rgb.shape == (3, 500, 340)


def test_wv2_pair(data: Path) -> None:
    s = load(data / "pansharpening_wv2/imgWV2.mat")
    assert s.shape == (8, 320, 320)
    assert s.extras["pan"].shape == (1, 1280, 1280)
    assert s.extras["ratio"] == 4 and s.extras["sensor"] == "WV2" and s.extras["bit_depth"] == 11
    pan = load(data / "pansharpening_wv2/imgWV2.mat", key="I_PAN")
    assert pan.shape == (1, 1280, 1280)
    np.testing.assert_array_equal(pan.cube, s.extras["pan"])


def test_enmap_geotiff(data: Path) -> None:
    s = load(data / "enmap_potsdam/enmap_potsdam_tile_128_0.tif")
    assert s.shape == (218, 32, 32)
    assert s.georef.crs == "EPSG:32633"
    assert s.georef.transform == (30.0, 0.0, 366015.0, 0.0, -30.0, 5809965.0)
    assert s.georef.nodata == -32768.0
    assert s.wavelengths.size == 218 and s.wavelengths[0] == pytest.approx(418.24)
    assert s.fwhm.size == 218
    assert len(s.extras["band_names"]) == 218
    label = load(data / "enmap_potsdam/label_enmap_potsdam_tile_128_0.tif")
    assert label.shape == (1, 32, 32)
    assert set(np.unique(label.cube)) <= {0, 1, 2, 3, 4, 5}


def test_envi_image_and_libraries(data: Path) -> None:
    a = load(data / "envi_gamsberg/cubus_gamsberg_subset")
    b = load(data / "envi_gamsberg/cubus_gamsberg_subset.hdr")
    assert a.shape == b.shape == (189, 25, 10)
    np.testing.assert_array_equal(a.cube, b.cube)
    assert a.wavelengths[0] == pytest.approx(426.82, abs=1e-3)
    lib = load(data / "envi_library_berlin/library_berlin.sli")
    assert lib.library.shape == (177, 75)
    assert lib.library_names[0] == "red clay tile 1"
    assert lib.wavelengths[0] == pytest.approx(460.0)  # micrometres in the header -> nm
    assert lib.fwhm[0] == pytest.approx(5.8)
    scaled = load(data / "envi_library_berlin/library_berlin.sli", scale=1e-4)
    assert float(scaled.library.max()) < 1
    g = load(data / "envi_gamsberg/gamsberg_field_library.hdr")
    assert g.library.shape == (2151, 27) and len(g.library_names) == 27


def test_srf_and_wavelength_files_describe(data: Path) -> None:
    d = describe(data / "srf/R_avirSentin2.mat")
    assert d["layout"] == "srf" and d["extras"]["srf"] == {"shape": [10, 173], "dtype": "float64"}
    assert d["extras"]["matrix"] == d["extras"]["srf"]  # still under its old key
    s = load(data / "srf/ikonos_spec_resp.mat")
    assert s.library.shape == (138, 5) and s.wavelengths[0] == 350
    w = load(data / "wavelengths/AVIRIS_wavelengths.mat")
    assert w.wavelengths.size == 224 and w.cube is None
