"""Shared fixtures: a seeded RNG and the read-only real data beside the project."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# Keras integration is tested on the torch backend (no TensorFlow needed).
os.environ.setdefault("KERAS_BACKEND", "torch")

# ../shared/data beside the repository root, or SEQPREP_SHARED_DATA.
_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SEQPREP_SHARED_DATA", _ROOT.parent / "shared" / "data"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets in ../shared/data; skip with the reason when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real data not found at {SHARED_DATA} (set SEQPREP_SHARED_DATA to the "
            "folder holding ucr/, forecasting/ and reference/)"
        )
    return SHARED_DATA
