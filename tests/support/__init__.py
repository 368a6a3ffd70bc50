"""Helpers shared by the tests: throwaway PostgreSQL and Redis servers, review fixtures, paths, report checks."""

import math
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the repository: seeds/, evals/, prompts/
DATA = ROOT / "tests" / "data"


def assert_same(actual: Any, expected: Any, where: str = "") -> None:
    """Equal structures; floats equal within rounding."""
    if isinstance(expected, float) or isinstance(actual, float):
        assert actual is not None and math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9), where
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), where
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{where}[{i}]")
    else:
        assert actual == expected, where
