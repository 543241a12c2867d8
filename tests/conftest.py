"""Shared fixtures: the location of ../shared/data (override with $HYSUPP_SHARED_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

SHARED_DATA = Path(os.environ.get("HYSUPP_SHARED_DATA",
                                  Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA} (set HYSUPP_SHARED_DATA)")
    return SHARED_DATA
