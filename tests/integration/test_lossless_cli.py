"""The command line loses nothing and never reads a whole file to find a line (a real `extractor extract`).

Each run is a subprocess against one fake model, with its address space capped at 3 GB and a
time limit, so a reader that tries to hold `/dev/zero` or a 20 GB file fails here instead
of taking the machine's memory.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from extractor.testing.fake_openai import FakeOpenAI, completion
from extractor.testing.service import spec_reply

MEMORY_CAP = 3 * 1024**3
DROP = "DROP-TEST"  # the fake model answers a document holding this with two invented items


def reply(body: dict[str, Any]) -> dict[str, Any]:
    if DROP not in json.dumps(body.get("messages", [])):
        return spec_reply(body)
    kept = {"authority": "us", "action": "impose", "measures": ["asset_freeze"],
            "targets": [{"name": "Real Shipping Co", "entity_type": "company"},
                        {"name": "Invented Holdings", "entity_type": "company"}],
            "evidence": ["Treasury sanctioned Real Shipping Co"]}
    invented = {"authority": "gb", "action": "impose", "measures": ["travel_ban"],
                "targets": [{"name": "Phantom Person", "entity_type": "person"}],
                "evidence": ["The United Kingdom banned Phantom Person from travel."]}
    return completion(json.dumps({"is_sanctions_news": True, "actions": [kept, invented]}))


@pytest.fixture(scope="module")
def model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(default=reply) as fake:  # type: ignore[arg-type]
        yield fake


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def extract(model: FakeOpenAI, cwd: Path, *args: str, shell_tail: str = "") -> subprocess.CompletedProcess[str]:
    """`extractor extract ARGS` (optionally piped into `shell_tail`), capped in memory and time."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EXTRACTOR_"))}
    env.update({"OPENAI_API_KEY": "test", "EXTRACTOR_PROMPT": "sanctions@v3", "EXTRACTOR_CACHE_DIR": str(cwd / "c"),
                "COLUMNS": "200"})
    command = [sys.executable, "-m", "extractor", "extract", "--model", "fake-model", "--base-url", model.base_url,
               *args]
    if shell_tail:
        line = " ".join(f"'{part}'" for part in command) + " | " + shell_tail
        return subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                              preexec_fn=_cap, check=False)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, preexec_fn=_cap,
                          check=False)


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def write_article(path: Path, target: str) -> Path:
    path.write_text(f"Treasury sanctioned {target} today. [[target={target}]]\n", encoding="utf-8")
    return path


def test_jsonl_is_split_on_newline_only(model: FakeOpenAI, tmp_path: Path) -> None:
    records = [{"id": f"sep-{n}", "text": f"Treasury{sep} sanctioned Sep {n}. [[target=Sep {n}]]"}
               for n, sep in enumerate(["\u2028", "\u0085", "\u2029"])]
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    lines.insert(2, "{broken")
    (tmp_path / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = extract(model, tmp_path, "feed.jsonl", "--out", "out.jsonl")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    out = {line["article_id"]: line for line in lines_of(tmp_path / "out.jsonl")}
    assert set(out) == {"sep-0", "sep-1", "sep-2", "feed-3"}
    assert all("error" not in out[f"sep-{n}"] for n in range(3))
    assert "feed.jsonl:3: invalid JSON" in out["feed-3"]["error"]["message"]


def test_require_grounding_reports_what_it_dropped(model: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "g.txt").write_text(f"{DROP}: Treasury sanctioned Real Shipping Co on Monday.\n", encoding="utf-8")
    done = extract(model, tmp_path, "g.txt", "--require-grounding", "--out", "out.jsonl")
    assert done.returncode == 0, done.stderr
    assert "g: --require-grounding dropped 1 action(s) and 2 target(s)" in " ".join(done.stderr.split())
    [line] = lines_of(tmp_path / "out.jsonl")
    assert [t["name"] for a in line["actions"] for t in a["targets"]] == ["Real Shipping Co"]
    dropped = line["meta"]["dropped"]
    assert (dropped["actions"], dropped["targets"]) == (1, 2)
    assert {(i["action"], i.get("target")) for i in dropped["items"]} == {(0, "Invented Holdings"), (1, None)}


def test_devices_and_huge_files_are_refused_not_read(model: FakeOpenAI, tmp_path: Path) -> None:
    write_article(tmp_path / "a.txt", "Acme Shipping")
    for name in ("huge.txt", "sparse.jsonl"):
        with (tmp_path / name).open("wb") as handle:
            handle.truncate(20 * 1024**3)  # sparse: 20 GB of zeros without a line end, on no disk
    done = extract(model, tmp_path, "a.txt", "/dev/zero", "huge.txt", "sparse.jsonl", "--out", "out.jsonl")
    assert done.returncode == 1 and "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr
    out = {line["article_id"]: line for line in lines_of(tmp_path / "out.jsonl")}
    assert set(out) == {"a", "zero", "huge", "sparse"} and "error" not in out["a"]
    assert out["zero"]["error"]["message"] == "/dev/zero: is a device, not a file of documents"
    assert out["huge"]["error"]["message"].startswith("huge.txt: the file is 20.0 GiB; one document may be at most")
    assert out["sparse"]["error"]["message"] == "sparse.jsonl: binary file, not text"


def test_out_devices_are_streams_never_read(model: FakeOpenAI, tmp_path: Path) -> None:
    write_article(tmp_path / "a.txt", "Acme Shipping")
    write_article(tmp_path / "b.txt", "Borealis Bank")
    full = extract(model, tmp_path, "a.txt", "b.txt", "--out", "/dev/full")
    assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
    assert "cannot write results to --out /dev/full: No space left on device" in full.stderr
    dash = extract(model, tmp_path, "a.txt", "b.txt", "--out", "-")
    assert dash.returncode == 0 and not (tmp_path / "-").exists(), dash.stderr
    assert sorted(json.loads(line)["article_id"] for line in dash.stdout.split("\n") if line.strip()) == ["a", "b"]
    head = extract(model, tmp_path, "a.txt", "b.txt", "--out", "/dev/stdout", shell_tail="head -c 5")
    assert head.stdout == '{"is_' and "Traceback" not in head.stderr, head.stderr


def test_an_out_file_of_something_else_is_never_cut(model: FakeOpenAI, tmp_path: Path) -> None:
    write_article(tmp_path / "a.txt", "Acme Shipping")
    image = tmp_path / "disk.img"
    with image.open("wb") as handle:
        handle.truncate(1024**3)
    done = extract(model, tmp_path, "a.txt", "--out", "disk.img")
    assert done.returncode == 2 and "does not start with a JSON object" in done.stderr, done.stderr
    assert image.stat().st_size == 1024**3
