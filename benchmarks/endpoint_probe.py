"""How long a run takes to say an endpoint cannot work, with the check before the run and without.

Three local servers: one answering like llama-cpp-python's (a 500 for `json_schema`, tools
accepted), one reporting a 2,048-token context, one down. `extractor extract` runs on five
documents against each, as a separate process (start-up included), and the table gives the
wall time to the first line that tells the user what is wrong (or that the run fell back),
and the run's end; "check s" is the check alone, in-process (`probe.ready`), without the
process start-up. `--before` adds the same runs with `EXTRACTOR_PROBE=off`, as before the
check existed (those take minutes: each document retries the 500s and the refused connection).
Run: `.venv/bin/python benchmarks/endpoint_probe.py [--before]`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extractor.testing.fake_openai import VALID_ANSWER, FakeOpenAI, completion
from extractor.testing.service import free_port

ROOT = Path(__file__).resolve().parent.parent
LLAMA_CPP = {"error": {
    "message": "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
               "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}",
    "type": "internal_server_error"}}


def llama_cpp(body: dict[str, Any]) -> dict[str, Any]:
    if (body.get("response_format") or {}).get("type") == "json_schema":
        return {"status": 500, "json": LLAMA_CPP}
    return completion(tool_args=VALID_ANSWER, prompt_tokens=1359) if body.get("tools") else completion(VALID_ANSWER)


def models(context: int | None) -> Any:
    entry = {"id": "local", **({"max_model_len": context} if context else {})}
    return lambda *_: {"status": 200, "json": {"object": "list", "data": [entry]}}


def run(base_url: str, docs: list[str], probe: bool) -> tuple[float, float, str]:
    env = {**os.environ, "EXTRACTOR_MODEL": "local", "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "x",
           "EXTRACTOR_PROBE": "on" if probe else "off", "EXTRACTOR_CALL_LOG": "off",
           "EXTRACTOR_PROMPT": "sanctions@v3", "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "extractor", "extract", *docs, "--no-cache"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first, said = None, ""
    assert process.stderr is not None
    for line in process.stderr:
        if first is None and (line.startswith(("note:", "error:"))):
            first, said = time.perf_counter() - started, line.strip()
    process.wait()
    total = time.perf_counter() - started
    return first if first is not None else total, total, said


def check_seconds(base_url: str) -> float:
    from extractor import Extractor, Settings
    from extractor.core.errors import ExtractorError
    from extractor.core.probe import ready

    extractor = Extractor(Settings(model="local", base_url=base_url, api_key="x", cache=False), prompt="sanctions@v3")
    import instructor  # noqa: F401  (imported once per process: not the check's time)

    started = time.perf_counter()
    with contextlib.suppress(ExtractorError):
        ready(extractor)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", action="store_true", help="also run without the check (slow)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        docs = []
        for n in range(5):
            path = Path(folder) / f"d{n}.txt"
            path.write_text(f"Treasury sanctioned Acme Shipping {n}.", encoding="utf-8")
            docs.append(str(path))
        print(f"{'server':<28} {'check':<6} {'check s':>7} {'first message s':>15} {'run s':>7}  message")
        refusing_server = FakeOpenAI(default=llama_cpp, handlers={"/v1/models": models(None)})  # type: ignore[arg-type]
        small_server = FakeOpenAI(default=completion(VALID_ANSWER, prompt_tokens=1359),
                                  handlers={"/v1/models": models(2048)})
        with refusing_server as refusing, small_server as small:
            servers = [("llama-cpp (json_schema 500)", refusing.base_url), ("2,048-token context", small.base_url),
                       ("down", f"http://127.0.0.1:{free_port()}/v1")]
            for name, url in servers:
                for probe in ([True, False] if args.before else [True]):
                    first, total, said = run(url, docs, probe)
                    alone = f"{check_seconds(url):.2f}" if probe else "–"
                    print(f"{name:<28} {'on' if probe else 'off':<6} {alone:>7} {first:>15.1f} {total:>7.1f}  "
                          f"{said[:100]}")


if __name__ == "__main__":
    main()
