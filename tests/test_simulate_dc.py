"""DC1 and DC2 rebuilt exactly: library, abundances and cubes against the published files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from hysupp.errors import InputError
from hysupp.libraries import min_pairwise_angle
from hysupp.simulate.dc import (DC1_ENDMEMBERS, DC2_ENDMEMBERS, dc1_abundances, dc1_arrays, dc1_scene,
                                dc2_arrays, dc2_scene, read_dc2_abundances)


def _mat(path: Path, key: str) -> np.ndarray:
    return scipy.io.loadmat(path)[key]


def test_dc1_rebuilt_equals_published(shared_data: Path) -> None:
    d = shared_data / "dc1"
    a = dc1_arrays()
    for key, fname in (("EE", "DC1_EE.mat"), ("XT", "DC1_XT.mat"), ("Y_clean", "DC1_Y_clean.mat")):
        ref = _mat(d / fname, key)
        assert a[key].shape == ref.shape, key
        assert np.abs(a[key] - ref).max() < 1e-12, key
    assert np.array_equal(a["EE"], _mat(d / "DC1_EE.mat", "EE"))  # bit for bit
    assert a["EE"].shape[1] == 240 and min_pairwise_angle(a["EE"]) >= 4.44


def test_dc1_scene_fields() -> None:
    s = dc1_scene()
    assert s.cube.dtype == np.float32 and s.shape == (224, 75, 75)
    assert s.library.shape == (224, 240) and s.library_index.tolist() == [1, 2, 3, 4, 5]
    assert s.endmember_names == list(DC1_ENDMEMBERS)
    assert [s.library_names[k] for k in s.library_index] == list(DC1_ENDMEMBERS)
    np.testing.assert_array_equal(s.endmembers, s.library[:, s.library_index])
    np.testing.assert_array_equal(s.abundances, dc1_abundances().astype(np.float32))
    assert s.wavelengths.shape == (224,) and np.all(np.diff(s.wavelengths) > 0)
    s64 = dc1_scene(dtype=np.float64)
    assert s64.cube.dtype == np.float64
    custom = dc1_scene(["Calcite WS272", "Howlite GDS155"])
    assert custom.library_index.tolist() == [3, 5] and custom.abundances.shape == (2, 75, 75)
    with pytest.raises(InputError, match="removed by the 4.44 deg pruning"):
        dc1_scene(["Calcite WS272", _pruned_name()])
    with pytest.raises(InputError, match="not a USGS 1995 signature name"):
        dc1_scene(["Unobtainium"])


def _pruned_name() -> str:
    from hysupp.datasets import usgs_library
    from hysupp.simulate.dc import dc_library

    kept = set(dc_library().library_names)
    return next(n for n in usgs_library().library_names if n not in kept)


def test_dc2_rebuilt_equals_published(shared_data: Path) -> None:
    path = shared_data / "dc2" / "DC2_XT.mat"
    XT = _mat(path, "XT")
    a = dc2_arrays(path)
    assert np.array_equal(a["XT"], XT)
    assert np.array_equal(a["EE"], _mat(shared_data / "dc1" / "DC1_EE.mat", "EE"))
    # the published cube is EE @ XT (SUnCNN Data/DC2/Y_clean.mat is not in the shared data)
    Y = np.einsum("lm,mhw->hwl", a["EE"], XT)
    assert a["Y_clean"].shape == (100, 100, 224) and np.abs(a["Y_clean"] - Y).max() < 1e-12
    s = dc2_scene(path)
    assert s.shape == (224, 100, 100) and s.library_index.tolist() == list(range(1, 10))
    assert s.endmember_names == list(DC2_ENDMEMBERS)


def test_dc2_abundance_layouts_and_errors(shared_data: Path, tmp_path: Path) -> None:
    A = read_dc2_abundances(shared_data / "dc2" / "DC2_XT.mat")
    assert A.shape == (9, 100, 100)
    scipy.io.savemat(tmp_path / "spatial2.mat", {"Xim": A.transpose(1, 2, 0),
                                                 "X": A.reshape(9, -1, order="F")})
    np.testing.assert_array_equal(read_dc2_abundances(tmp_path / "spatial2.mat"), A)
    scipy.io.savemat(tmp_path / "x_only.mat", {"X": A.reshape(9, -1, order="F")})
    np.testing.assert_array_equal(read_dc2_abundances(tmp_path / "x_only.mat"), A)
    with pytest.raises(InputError, match="stored random draw"):
        dc2_scene(None)
    scipy.io.savemat(tmp_path / "bad.mat", {"XT": np.zeros((240, 100, 100)) + 1 / 240})
    with pytest.raises(InputError, match="non-zero rows"):
        read_dc2_abundances(tmp_path / "bad.mat")
    scipy.io.savemat(tmp_path / "none.mat", {"Y": np.zeros(3)})
    with pytest.raises(InputError, match="holds no DC2 abundances"):
        read_dc2_abundances(tmp_path / "none.mat")
