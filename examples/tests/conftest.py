"""Shared fixtures: one small synthetic dataset per session (TensorFlow import dominates the run time)."""

from __future__ import annotations

import numpy as np
import pytest
from demo_model import data


@pytest.fixture(scope="session")
def dataset() -> tuple[np.ndarray, np.ndarray]:
    return data.make_classification_data(320, seed=0)


@pytest.fixture(scope="session")
def test_set() -> tuple[np.ndarray, np.ndarray]:
    return data.make_classification_data(104, seed=1)
