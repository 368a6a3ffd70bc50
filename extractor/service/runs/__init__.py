"""The run history in the service: `/v1/runs` (JSON) and the runs pages beside the review pages."""

from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
