"""Shared fixtures: the location of ../shared/data (override with $HYSUPP_SHARED_DATA)."""

from __future__ import annotations

import os

# One BLAS/OpenMP thread per test process, set before numpy is first imported: on a loaded 2-core
# box multithreaded BLAS oversubscribes the cores (small eigh/SVDs become 10-100x slower).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg")

SHARED_DATA = Path(os.environ.get("HYSUPP_SHARED_DATA",
                                  Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA} (set HYSUPP_SHARED_DATA)")
    return SHARED_DATA
