"""Helpers shared by the tests: throwaway PostgreSQL and Redis servers, review fixtures, paths."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository: seeds/, evals/, prompts/
DATA = ROOT / "tests" / "data"
