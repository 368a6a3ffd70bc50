"""schemathesis against the live `/openapi.json`: no 5xx, and the document says what the server does.

Every check (`--checks all`: server errors, undocumented statuses and content types, response
schemas, schema-valid requests refused, schema-invalid ones accepted, auth, ...) on every
operation, in all phases, bounded: a fixed number of examples per operation, a fixed seed
(deterministic generation, nothing stored between runs) and a time limit on the whole run.
The server runs with small limits (5,000-character texts, 50 documents a job) so that the
boundary cases stay quick. `schemathesis.toml` beside this file holds the two expectations
the checks cannot know: 413 is a refusal, and an upload with no document line is refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from extractor.testing.service import Service, fake_model, make_key
from tests.support import DATA
from tests.support.postgres import database_url

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = 5  # per operation and phase
REQUEST_S = 30  # a request slower than this is a hang, not a slow machine (the first /matches loads the list)
DEADLINE_S = 240  # the whole run; it takes 10-30 s on two busy cores


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_api_keeps_its_openapi_promises(kind: str, tmp_path: Path) -> None:
    pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install -e '.[test]')")
    try:
        db_url = database_url(kind, tmp_path)
    except LookupError as reason:
        pytest.skip(f"PostgreSQL unavailable: {reason}")
    key = make_key(db_url, "fuzzer")
    with fake_model() as fake:
        service = Service(db_url, fake.base_url, tmp_path, workers=2, extra=(
            "--max-text-chars", "5000", "--max-job-documents", "50", "--list", str(DATA / "sdn" / "sdn-sample.csv"),
            # The fuzzer sends hundreds of requests without a key on purpose: each must be a 401, not a lockout.
            "--auth-failures", "1000000",
        )).start()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run",
                 f"{service.url}/openapi.json", "--header", f"Authorization: Bearer {key}", "--checks", "all",
                 "--max-examples", str(EXAMPLES), "--seed", "1", "--generation-deterministic",
                 "--request-timeout", str(REQUEST_S), "--max-response-time", str(REQUEST_S), "--no-color"],
                cwd=tmp_path, capture_output=True, text=True, timeout=DEADLINE_S, check=False,
                env={k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")},
            )
        finally:
            service.stop()
    report = done.stdout[-6000:]
    assert done.returncode == 0, report
    assert "Failures:" not in report, report  # warnings (missing test data for links) are not failures
    assert "Traceback" not in service.log.read_text()
