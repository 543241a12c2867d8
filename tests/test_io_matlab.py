"""MATLAB files: HySUPP/FUnmix layout round trips, v7.3 (HDF5) reading, layout detection and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import scipy.io

from hysupp import Scene
from hysupp.errors import InputError, LayoutError
from hysupp.io import describe, format_description, load, save


def toy_scene(L: int = 6, H: int = 4, W: int = 5, p: int = 3, M: int = 7, seed: int = 0) -> Scene:
    rng = np.random.default_rng(seed)
    D = rng.random((L, M)).astype(np.float32)
    index = np.array([5, 0, 2])
    E = D[:, index]
    A = rng.dirichlet(np.ones(p), size=H * W).T.astype(np.float32).reshape(p, H, W)
    cube = (E @ A.reshape(p, -1)).reshape(L, H, W).astype(np.float32)
    return Scene(cube=cube, endmembers=E, abundances=A, library=D, library_index=index,
                 endmember_names=["rock", "tree", "water"], library_names=[f"atom{k}" for k in range(M)],
                 wavelengths=np.linspace(400, 2400, L), name="toy")


def assert_same_scene(a: Scene, b: Scene) -> None:
    for key in ("cube", "endmembers", "abundances", "library", "library_index", "wavelengths", "fwhm", "mask"):
        x, y = getattr(a, key), getattr(b, key)
        assert (x is None) == (y is None), key
        if x is not None:
            np.testing.assert_array_equal(x, y, err_msg=key)
    assert a.endmember_names == b.endmember_names
    assert a.library_names == b.library_names


# ------------------------------------------------------------------------------------------ HySUPP
def test_hysupp_round_trip(tmp_path: Path) -> None:
    s = toy_scene()
    path = tmp_path / "toy.mat"
    save(s, path)
    raw = scipy.io.loadmat(path)
    L, H, W = s.shape
    assert raw["Y"].shape == (L, H * W) and raw["E"].shape == (L, 3) and raw["A"].shape == (3, H * W)
    assert raw["D"].shape == (L, 7)
    assert {k: raw[k].item() for k in ("H", "W", "p", "L", "N", "M")} == \
        {"H": H, "W": W, "p": 3, "L": L, "N": H * W, "M": 7}
    np.testing.assert_array_equal(raw["index"].ravel(), [5, 0, 2])  # 0-based
    np.testing.assert_array_equal(raw["Y"], s.cube.reshape(L, -1))  # row-major pixel order
    back = load(path)
    assert back.layout == "hysupp"
    assert_same_scene(s, back)
    # HySUPP's own reading: labels stripped, index squeezed
    assert [x.strip() for x in raw["labels"]] == ["rock", "tree", "water"]


def test_hysupp_file_written_by_hand_row_major(tmp_path: Path) -> None:
    cube = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4)
    path = tmp_path / "hand.mat"
    scipy.io.savemat(path, {"Y": cube.reshape(2, 12), "H": 3.0, "W": 4.0, "L": 2.0, "N": 12.0})
    s = load(path)
    np.testing.assert_array_equal(s.cube, cube)
    assert any("row-major" in n for n in s.notes)


def test_funmix_flavor(tmp_path: Path) -> None:
    s = toy_scene()
    path = tmp_path / "funmix.mat"
    save(s, path, flavor="funmix")
    raw = scipy.io.loadmat(path)
    L, H, W = s.shape
    assert {k: raw[k].item() for k in ("h", "w", "r", "p", "n", "m")} == \
        {"h": H, "w": W, "r": 3, "p": L, "n": H * W, "m": 7}
    back = load(path)
    assert back.layout == "funmix"
    assert_same_scene(s, back)


def test_hysupp_estimates_file(tmp_path: Path) -> None:
    # HySUPP's Estimate artifact: E (L, p) and A (p, H, W), nothing else
    rng = np.random.default_rng(1)
    A = rng.random((3, 4, 5))
    E = rng.random((6, 3))
    scipy.io.savemat(tmp_path / "estimates.mat", {"E": E, "A": A})
    s = load(tmp_path / "estimates.mat")
    assert s.layout == "hysupp" and s.cube is None
    assert s.abundances.shape == (3, 4, 5)
    np.testing.assert_allclose(s.endmembers, E, rtol=1e-6)


def test_truth_only_scene_saves(tmp_path: Path) -> None:
    s = toy_scene()
    t = Scene(cube=None, endmembers=s.endmembers, abundances=s.abundances, endmember_names=s.endmember_names)
    save(t, tmp_path / "ab.mat")
    back = load(tmp_path / "ab.mat")
    np.testing.assert_array_equal(back.abundances, s.abundances)
    assert back.cube is None


def test_hysupp_inconsistent_sizes(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "bad.mat", {"Y": np.zeros((3, 10)), "H": 3.0, "W": 4.0})
    with pytest.raises(LayoutError, match=r"Y has 10 pixels.*3 x 4 = 12"):
        load(tmp_path / "bad.mat")
    scipy.io.savemat(tmp_path / "bad2.mat", {"Y": np.zeros((3, 12)), "E": np.zeros((4, 2)), "H": 3.0, "W": 4.0})
    with pytest.raises(LayoutError, match=r"E has 4 rows but Y has 3 bands"):
        load(tmp_path / "bad2.mat")


# ------------------------------------------------------------------------------------------ v7.3
def _h5_write(f: h5py.File, name: str, value: Any) -> None:
    """Write one variable the way MATLAB -v7.3 does (axes reversed, MATLAB_class attributes)."""
    if isinstance(value, str):
        data = np.array([[ord(c) for c in value]], dtype=np.uint16)  # MATLAB (1, n)
        ds = f.create_dataset(name, data=data.T)
        ds.attrs["MATLAB_class"] = np.bytes_("char")
        ds.attrs["MATLAB_int_decode"] = np.int32(2)
        return
    if isinstance(value, dict):  # scalar struct: a group of fields
        grp = f.create_group(name)
        grp.attrs["MATLAB_class"] = np.bytes_("struct")
        for field, item in value.items():
            _h5_write(grp, field, item)
        return
    if isinstance(value, list):  # cell array (n, 1)
        refs = f.require_group("#refs#")
        ref_list = []
        for k, item in enumerate(value):
            _h5_write(refs, f"{name}_{k}", item)
            ref_list.append(refs[f"{name}_{k}"].ref)
        arr = np.array([ref_list], dtype=h5py.ref_dtype)  # HDF5 (1, n) == MATLAB (n, 1)
        ds = f.create_dataset(name, data=arr)
        ds.attrs["MATLAB_class"] = np.bytes_("cell")
        return
    arr = np.asarray(value)
    if arr.ndim < 2:
        arr = arr.reshape(1, -1)
    cls = {np.dtype(np.float64): "double", np.dtype(np.float32): "single", np.dtype(np.int16): "int16",
           np.dtype(np.uint8): "uint8", np.dtype(np.uint16): "uint16", np.dtype(np.int64): "int64",
           np.dtype(bool): "logical"}[arr.dtype]
    ds = f.create_dataset(name, data=(arr.astype(np.uint8) if arr.dtype == bool else arr).T)
    ds.attrs["MATLAB_class"] = np.bytes_(cls)


def write_v73(path: Path, variables: dict[str, Any]) -> None:
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, value in variables.items():
            _h5_write(f, name, value)
    with open(path, "r+b") as fh:  # MATLAB's text header in the user block
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: hysupp test HDF5 schema 1.00 .")


def test_v73_hysupp_reads_like_v5(tmp_path: Path) -> None:
    s = toy_scene()
    save(s, tmp_path / "v5.mat")
    raw = scipy.io.loadmat(tmp_path / "v5.mat")
    variables = {k: v for k, v in raw.items() if not k.startswith("__") and k not in ("labels", "library_names")}
    variables["labels"] = ["rock", "tree", "water"]
    variables["library_names"] = [f"atom{k}" for k in range(7)]
    write_v73(tmp_path / "v73.mat", variables)
    a = load(tmp_path / "v5.mat")
    b = load(tmp_path / "v73.mat")
    assert b.layout == "hysupp"
    assert_same_scene(a, b)
    d = describe(tmp_path / "v73.mat")
    assert d["format"] == "mat-v7.3"
    shapes = {v["name"]: v["shape"] for v in d["variables"]}
    assert shapes["Y"] == [6, 20] and shapes["A"] == [3, 20]  # MATLAB's shapes, not HDF5's


def test_v73_cube_and_zhu_truth(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    cube_hwl = rng.random((4, 5, 6)).astype(np.float32)  # MATLAB (H, W, L)
    write_v73(tmp_path / "cube.mat", {"img": cube_hwl, "wavelength": np.linspace(0.4, 2.5, 6),
                                      "params": {"fwhm": np.full(6, 10.0), "wavelength_units": "Nanometers"}})
    s = load(tmp_path / "cube.mat")
    assert s.layout == "cube" and s.shape == (6, 4, 5)
    np.testing.assert_array_equal(s.fwhm, np.full(6, 10.0))  # from the ENVI-header struct
    np.testing.assert_array_equal(s.cube, cube_hwl.transpose(2, 0, 1))
    assert s.wavelengths[0] == pytest.approx(400.0)
    # Zhu truth with a cell array of names, column-major pixels
    M = rng.random((6, 2))
    A = rng.dirichlet([1, 1], size=20).T
    write_v73(tmp_path / "end2.mat", {"M": M, "A": A, "cood": ["rock", "water"]})
    t = load(tmp_path / "end2.mat")
    assert t.layout == "zhu-truth" and t.endmember_names == ["rock", "water"]
    assert t.extras["pixel_order"] == "F"
    img = Scene(cube=np.zeros((6, 4, 5), np.float32))
    merged = img.with_truth(t)
    np.testing.assert_allclose(merged.abundances[:, 1, 2], A[:, 1 + 2 * 4], rtol=1e-6)  # pixel (r, c) = r + c*H


# ------------------------------------------------------------------------------------------ layouts
def test_zhu_image_column_major(tmp_path: Path) -> None:
    H, W, L = 3, 4, 5
    cube = np.random.default_rng(0).random((L, H, W))
    V = cube.reshape(L, H * W, order="F")  # MATLAB's reshape(img, [], L)' ordering
    scipy.io.savemat(tmp_path / "zhu.mat", {"V": V, "nRow": float(H), "nCol": float(W), "nBand": float(L)})
    s = load(tmp_path / "zhu.mat", dtype=np.float64)
    assert s.layout == "zhu"
    np.testing.assert_array_equal(s.cube, cube)


def test_unknown_key_lists_variables(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "two.mat", {"cubeA": np.zeros((2, 3, 4)), "wl": np.arange(4.0)})
    with pytest.raises(LayoutError) as err:
        load(tmp_path / "two.mat", key="nope")
    msg = str(err.value)
    assert "'nope'" in msg and "cubeA (2, 3, 4) float64" in msg and "wl (1, 4) float64" in msg
    assert str(tmp_path / "two.mat") in msg


def test_ambiguous_cubes_raise_and_key_resolves(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    scipy.io.savemat(tmp_path / "amb.mat", {"I1": rng.random((4, 5, 6)), "I2": rng.random((4, 5, 6))})
    with pytest.raises(LayoutError, match=r"several 3-D arrays.*I1.*I2.*key="):
        load(tmp_path / "amb.mat")
    d = describe(tmp_path / "amb.mat")
    assert d["layout"] is None and "key=" in d["error"] and len(d["variables"]) == 2
    assert "error" in format_description(d)
    s = load(tmp_path / "amb.mat", key="I2")
    assert s.shape == (6, 4, 5)
    assert describe(tmp_path / "amb.mat", key="I2")["layout"] == "cube"


def test_ambiguous_matrices_raise(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "mats.mat", {"P": np.ones((30, 4)), "Q": np.ones((30, 5))})
    with pytest.raises(LayoutError, match=r"several 2-D matrices"):
        load(tmp_path / "mats.mat")
    assert load(tmp_path / "mats.mat", key="Q").library.shape == (30, 5)


def test_wavelengths_pick_cube_among_3d(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    scipy.io.savemat(tmp_path / "pick.mat", {"I": rng.random((4, 5, 10)), "rgb": rng.integers(0, 255, (4, 5, 3),
                                                                                           dtype=np.uint8),
                                             "wl": np.linspace(0.4, 1.0, 10)})
    s = load(tmp_path / "pick.mat")
    assert s.shape == (10, 4, 5) and any("match the wavelengths" in n for n in s.notes)


def test_wrong_dimensionality(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "four.mat", {"X": np.zeros((2, 3, 4, 5))})
    with pytest.raises(LayoutError, match="more than 3 dimensions"):
        load(tmp_path / "four.mat")
    scipy.io.savemat(tmp_path / "vec.mat", {"v": np.zeros(7), "X": np.zeros((2, 3, 4))})
    with pytest.raises(LayoutError, match=r"'v' has shape \(1, 7\)"):
        load(tmp_path / "vec.mat", key="v")


def test_abundance_cube_channels_last(tmp_path: Path) -> None:
    A = np.random.default_rng(0).dirichlet([1, 1, 1], size=(4, 5))  # (H, W, p), sums to one on the last axis
    scipy.io.savemat(tmp_path / "ab.mat", {"abund": A})
    s = load(tmp_path / "ab.mat", dtype=np.float64)
    assert s.layout == "abundances" and s.abundances.shape == (3, 4, 5)
    np.testing.assert_allclose(s.abundances, A.transpose(2, 0, 1))


def test_bad_bands_dropped(tmp_path: Path) -> None:
    cube = np.random.default_rng(0).random((4, 5, 6))
    cube[:, :, 2] = np.nan
    bbl = np.array([1, 1, 0, 1, 0, 1.0])
    scipy.io.savemat(tmp_path / "bb.mat", {"I": cube, "bbl": bbl, "wavelength": np.arange(400.0, 1000, 100)})
    s = load(tmp_path / "bb.mat")
    assert s.shape == (4, 4, 5)
    np.testing.assert_array_equal(s.extras["kept_bands"], [0, 1, 3, 5])
    np.testing.assert_array_equal(s.wavelengths, [400, 500, 700, 900])
    assert any("dropped 2 bad bands" in n for n in s.notes)


def test_truth_band_mismatch_is_clear(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "img.mat", {"I": np.ones((3, 4, 10))})
    scipy.io.savemat(tmp_path / "truth.mat", {"M": np.ones((12, 2)), "cood": np.array(["a", "b"], dtype=object)})
    with pytest.raises(InputError, match=r"endmembers have 12 bands.*has 10.*no band selection"):
        load(tmp_path / "img.mat", truth=tmp_path / "truth.mat")
    scipy.io.savemat(tmp_path / "truth2.mat", {"M": np.ones((12, 2)), "cood": np.array(["a", "b"], dtype=object),
                                               "slctBnds": np.arange(1, 10.0)})
    with pytest.raises(InputError, match=r"band selection has 9 bands"):
        load(tmp_path / "img.mat", truth=tmp_path / "truth2.mat")


def test_missing_file_names_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nothere.mat"):
        load(tmp_path / "nothere.mat")
    (tmp_path / "x.xyz").write_text("hi")
    with pytest.raises(InputError, match=r"unsupported file type '\.xyz'"):
        load(tmp_path / "x.xyz")


def test_integer_cube_scale(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "int.mat", {"R": np.full((2, 3, 4), 5000, dtype=np.int16)})
    s = load(tmp_path / "int.mat")
    assert s.cube.dtype == np.float32 and float(s.cube.max()) == 5000.0
    assert any("integer data kept as stored" in n for n in s.notes)
    t = load(tmp_path / "int.mat", scale=1e-4, dtype=np.float64)
    assert t.cube.dtype == np.float64 and t.cube.max() == pytest.approx(0.5)
    assert any("scale=0.0001" in n for n in t.notes)
    assert not any("integer data kept" in n for n in t.notes)


def test_3d_Y_is_a_plain_cube(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "y3.mat", {"Y": np.ones((4, 5, 6))})
    s = load(tmp_path / "y3.mat")
    assert s.layout == "cube" and s.shape == (6, 4, 5)
