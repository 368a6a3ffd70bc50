"""The OpenAI Batch API path, through the real `openai` client and fake files/batches endpoints."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from extractor import ConfigError, Extractor, Settings
from extractor.batch.openai_batch import request_body, run_batch_api, state_path
from extractor.batch.results import load_results
from extractor.core.documents import Document
from extractor.testing.fake_openai import VALID_ANSWER, FakeOpenAI, Reply, completion, error

PROMPT = "sanctions@v3"  # a single-call prompt: one request per document
TEXT = "Treasury sanctioned Acme Shipping. The company moved oil for a blocked buyer."
INVALID = '{"is_sanctions_news": "perhaps", "actions": []}'


class FakeBatchAPI:
    """`/v1/files` and `/v1/batches` for `FakeOpenAI.handlers`, answering each uploaded request.

    A batch stays `in_progress` for `polls_before_done` polls, then ends `final_status` with an
    output file (200 answers) and an error file (other answers) built from the uploaded requests.
    `answers` maps custom ids to replies (default: a valid answer); ids in `drop` get no line.
    """

    def __init__(self, *, polls_before_done: int = 1, final_status: str = "completed") -> None:
        self.polls_before_done = polls_before_done
        self.final_status = final_status
        self.answers: dict[str, Reply] = {}
        self.drop: set[str] = set()
        self.files: dict[str, bytes] = {}
        self.uploads: list[str] = []
        self.batches: dict[str, dict[str, Any]] = {}
        self.polls: dict[str, int] = {}
        self._lock = threading.Lock()

    def install(self, fake: FakeOpenAI) -> FakeBatchAPI:
        fake.handlers.update({"/v1/files": self.files_endpoint, "/v1/batches": self.batches_endpoint})
        return self

    def uploaded_requests(self, index: int = -1) -> list[dict[str, Any]]:
        """The request lines of an uploaded batch input file."""
        return [json.loads(line) for line in self.files[self.uploads[index]].decode().splitlines()]

    def _store(self, content: bytes) -> str:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = content
        return file_id

    def files_endpoint(self, method: str, path: str, raw: bytes) -> Reply:
        with self._lock:
            if method == "POST" and path.rstrip("/") == "/v1/files":
                boundary = raw.split(b"\r\n", 1)[0]
                part = next(p for p in raw.split(boundary) if b'name="file"' in p.split(b"\r\n\r\n", 1)[0])
                file_id = self._store(part.split(b"\r\n\r\n", 1)[1][:-2])
                self.uploads.append(file_id)
                return {"json": {"id": file_id, "object": "file", "bytes": len(self.files[file_id]), "created_at": 0,
                                 "filename": "batch.jsonl", "purpose": "batch", "status": "processed"}}
            match = re.fullmatch(r"/v1/files/([^/]+)/content", path)
            if method == "GET" and match and match[1] in self.files:
                return {"raw": self.files[match[1]], "content_type": "application/octet-stream"}
        return error(404, f"no file at {path}")

    def batches_endpoint(self, method: str, path: str, raw: bytes) -> Reply:
        with self._lock:
            if method == "POST" and path.rstrip("/") == "/v1/batches":
                body = json.loads(raw)
                batch_id = f"batch-{len(self.batches) + 1}"
                self.batches[batch_id] = {
                    "id": batch_id, "object": "batch", "endpoint": body["endpoint"], "errors": None,
                    "input_file_id": body["input_file_id"], "completion_window": body["completion_window"],
                    "status": "in_progress", "output_file_id": None, "error_file_id": None, "created_at": 0,
                    "request_counts": {"total": 0, "completed": 0, "failed": 0},
                }
                self.polls[batch_id] = 0
                return {"json": self.batches[batch_id]}
            match = re.fullmatch(r"/v1/batches/([^/]+)", path)
            if method == "GET" and match and match[1] in self.batches:
                batch = self.batches[match[1]]
                self.polls[batch["id"]] += 1
                if batch["status"] == "in_progress" and self.polls[batch["id"]] > self.polls_before_done:
                    self._finish(batch)
                return {"json": batch}
        return error(404, f"no batch at {path}")

    def _finish(self, batch: dict[str, Any]) -> None:
        output, errors = [], []
        requests = [json.loads(line) for line in self.files[batch["input_file_id"]].decode().splitlines()]
        for number, request in enumerate(requests):
            custom_id = request["custom_id"]
            if custom_id in self.drop:
                continue
            reply = self.answers.get(custom_id, completion(VALID_ANSWER))
            line = {"id": f"batch_req_{number}", "custom_id": custom_id,
                    "response": {"status_code": reply["status"], "request_id": f"req_{number}", "body": reply["json"]},
                    "error": None}
            (output if reply["status"] == 200 else errors).append(json.dumps(line))
        if output:
            batch["output_file_id"] = self._store(("\n".join(output) + "\n").encode())
        if errors:
            batch["error_file_id"] = self._store(("\n".join(errors) + "\n").encode())
        batch["status"] = self.final_status
        batch["request_counts"] = {"total": len(requests), "completed": len(output), "failed": len(errors)}


@pytest.fixture
def api(fake: FakeOpenAI) -> FakeBatchAPI:
    return FakeBatchAPI().install(fake)


def make_extractor(fake: FakeOpenAI, tmp_path: Path, **settings: Any) -> Extractor:
    settings = {"model": "fake-model", "base_url": fake.base_url, "api_key": "test", "cache_dir": tmp_path / "c",
                "transport_budget": 20.0, **settings}
    extractor = Extractor(Settings.from_env(**settings), prompt=PROMPT)
    assert extractor.prompt.spec.strategy == "single"
    return extractor


@pytest.fixture
def ex(fake: FakeOpenAI, tmp_path: Path) -> Extractor:
    return make_extractor(fake, tmp_path)


def docs(*ids: str) -> list[Document]:
    return [Document(id=i, text=f"{TEXT} ({i})", title=f"Story {i}") for i in ids]


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("mode", ["json_schema", "tools", "json", "md_json"])
def test_request_body_is_what_the_synchronous_path_sends(fake, tmp_path, mode):
    if mode == "tools":
        fake.default = completion(tool_args=VALID_ANSWER)
    extractor = make_extractor(fake, tmp_path, mode=mode, cache=False)
    doc = docs("a")[0]
    body = request_body(extractor, doc)
    extractor.extract_document(doc)
    assert body == fake.chat_requests()[0]
    assert "max_retries" not in body and "response_model" not in body


def test_batch_writes_results_and_a_failure_line(fake, api, ex, tmp_path):
    api.answers["b"] = completion(INVALID, prompt_tokens=70, completion_tokens=7)
    out = tmp_path / "out.jsonl"
    seen, statuses = [], []
    summary = run_batch_api(ex, docs("a", "b", "c"), out, poll_interval=0.05, on_outcome=seen.append,
                            on_status=statuses.append)

    requests = api.uploaded_requests()
    assert [r["custom_id"] for r in requests] == ["a", "b", "c"]
    for request, doc in zip(requests, docs("a", "b", "c"), strict=True):
        assert request["method"] == "POST" and request["url"] == "/v1/chat/completions"
        assert request["body"] == request_body(ex, doc)
        assert request["body"]["messages"] == ex.messages(doc)
        assert request["body"]["model"] == "fake-model" and "response_format" in request["body"]
    assert fake.chat_requests() == []  # nothing went through the synchronous endpoint

    results = load_results(out)
    assert sorted(results) == ["a", "b", "c"]
    good = results["a"]
    assert good.actions[0].targets[0].name == "Acme Shipping"
    assert good.meta["cache_hit"] is False and good.meta["attempts"] == 1 and good.meta["chunks"] == 1
    assert good.meta["usage"] == {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    assert good.meta["cache_key"] == ex.key_for(docs("a")[0])
    synchronous = ex.extract_document(docs("a")[0])  # a cache hit now: same answer, same grounding
    assert good.meta["grounding"] == synchronous.meta.grounding and good.meta["grounding"]
    assert good.model_dump() == synchronous.model_dump()
    failure = results["b"]
    assert failure.error["type"] == "ExtractionFailed"
    assert failure.error["last_output"] == INVALID
    assert failure.error["attempts"] == 1 and "is_sanctions_news" in failure.error["reason"]
    assert failure.meta["batch_id"] == summary.details["batch_id"]
    assert failure.meta["usage"]["prompt_tokens"] == 70

    assert summary.details["submitted"] == 3 and summary.succeeded == 2 and summary.failed == 1
    assert summary.cache_hits == 0 and summary.details["status"] == "completed" and summary.pending is False
    assert summary.prompt_tokens == 270 and summary.to_dict()["total_tokens"] == 317
    assert sorted(o.article_id for o in seen) == ["a", "b", "c"] and [o.ok for o in seen].count(False) == 1
    assert [s["status"] for s in statuses] == ["in_progress", "completed"]
    assert not state_path(out).exists()
    assert list(tmp_path.glob("*.batch-input.jsonl")) == []


def test_answers_are_cached_for_the_synchronous_path(fake, api, ex, tmp_path):
    run_batch_api(ex, docs("a"), tmp_path / "out.jsonl", poll_interval=0.05)
    result = ex.extract_document(docs("a")[0])
    assert result.meta.cache_hit is True
    assert result.actions[0].authority == "us"
    assert fake.chat_requests() == []


def test_rerun_skips_finished_documents_and_resubmits_failures(api, ex, tmp_path):
    api.answers["b"] = completion(INVALID)
    out = tmp_path / "out.jsonl"
    run_batch_api(ex, docs("a", "b"), out, poll_interval=0.05)
    del api.answers["b"]
    summary = run_batch_api(ex, docs("a", "b"), out, poll_interval=0.05)
    assert [r["custom_id"] for r in api.uploaded_requests()] == ["b"]
    assert summary.skipped == 1 and summary.details["submitted"] == 1 and summary.succeeded == 1
    results = load_results(out)
    assert all(not hasattr(r, "error") for r in results.values())
    assert len(lines(out)) == 3  # a, failed b, then b again
    summary = run_batch_api(ex, docs("a", "b"), out, poll_interval=0.05)
    assert summary.skipped == 2 and summary.details["submitted"] == 0 and len(api.uploads) == 2


def test_cached_documents_are_written_without_a_batch(fake, api, ex, tmp_path):
    ex.extract_document(docs("a")[0])  # the synchronous path fills the cache
    summary = run_batch_api(ex, docs("a"), tmp_path / "out.jsonl", poll_interval=0.05)
    assert api.uploads == [] and api.batches == {}
    assert summary.cache_hits == summary.succeeded == 1
    assert summary.details["submitted"] == 0 and summary.details["batch_id"] is None
    [line] = lines(tmp_path / "out.jsonl")
    assert line["article_id"] == "a" and line["meta"]["cache_hit"] is True and line["meta"]["attempts"] == 0


def test_state_file_resumes_the_same_batch_without_a_new_upload(api, ex, tmp_path):
    api.polls_before_done = 10**6
    out = tmp_path / "out.jsonl"
    first = run_batch_api(ex, docs("a", "b"), out, poll_interval=0.05, timeout=0.2)
    assert first.pending is True and first.details["status"] == "in_progress"
    state = json.loads(state_path(out).read_text())
    assert state["batch_id"] == first.details["batch_id"] and sorted(state["keys"]) == ["a", "b"]
    assert out.read_text() == ""

    api.polls_before_done = 0
    second = run_batch_api(ex, docs("a", "b", "c"), out, poll_interval=0.05)
    assert second.details["resumed"] is True
    assert len(api.batches) == 2 and len(api.uploads) == 2  # the pending one, then one for the new document "c"
    assert [r["custom_id"] for r in api.uploaded_requests()] == ["c"]
    assert sorted(load_results(out)) == ["a", "b", "c"]
    assert second.succeeded == 3 and second.details["submitted"] == 3
    assert not state_path(out).exists()


def test_resume_with_other_settings_is_refused(fake, api, ex, tmp_path):
    api.polls_before_done = 10**6
    out = tmp_path / "out.jsonl"
    run_batch_api(ex, docs("a"), out, poll_interval=0.05, timeout=0.1)
    other = make_extractor(fake, tmp_path, temperature=0.7)
    with pytest.raises(ConfigError, match="delete the file"):
        run_batch_api(other, docs("a"), out, poll_interval=0.05)
    assert len(api.uploads) == 1


def test_request_errors_and_missing_answers_become_failure_lines(api, ex, tmp_path):
    api.final_status = "expired"
    api.answers["b"] = error(400, "context too long")
    api.drop.add("c")
    out = tmp_path / "out.jsonl"
    summary = run_batch_api(ex, docs("a", "b", "c"), out, poll_interval=0.05)
    results = load_results(out)
    assert results["a"].meta["cache_hit"] is False
    assert "HTTP 400" in results["b"].error["reason"] and "context too long" in results["b"].error["reason"]
    assert "ended expired" in results["c"].error["reason"]
    assert summary.succeeded == 1 and summary.failed == 2 and summary.details["status"] == "expired"
    assert not state_path(out).exists()


def test_tools_mode_reads_tool_call_arguments(fake, api, tmp_path):
    api.answers["a"] = completion(tool_args=VALID_ANSWER)
    extractor = make_extractor(fake, tmp_path, mode="tools")
    run_batch_api(extractor, docs("a"), tmp_path / "out.jsonl", poll_interval=0.05)
    assert "tools" in api.uploaded_requests()[0]["body"]
    assert load_results(tmp_path / "out.jsonl")["a"].actions[0].targets[0].name == "Acme Shipping"


def test_document_longer_than_the_context_is_a_failure_line(fake, api, tmp_path):
    probe = make_extractor(fake, tmp_path)
    overhead = sum(len(m["content"]) for m in probe.messages(docs("x")[0].model_copy(update={"text": " "})))
    extractor = make_extractor(fake, tmp_path, max_tokens=256, context_tokens=256 + overhead // 3 + 64 + 400)
    long = Document(id="long", text=(TEXT + " ") * 60)
    out = tmp_path / "out.jsonl"
    summary = run_batch_api(extractor, [long, *docs("a")], out, poll_interval=0.05)
    assert len(extractor.chunks(long)) > 1
    assert [r["custom_id"] for r in api.uploaded_requests()] == ["a"]
    assert "too long for one request" in load_results(out)["long"].error["reason"]
    assert summary.failed == 1 and summary.succeeded == 1


def test_embedded_backend_is_refused(tmp_path):
    extractor = Extractor(Settings(model="embedded", cache_dir=tmp_path), prompt=PROMPT)
    with pytest.raises(ConfigError, match="OpenAI-compatible endpoint"):
        run_batch_api(extractor, docs("a"), tmp_path / "out.jsonl")


def test_cli_batch_api_collects_into_out(fake, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from extractor.cli import app

    FakeBatchAPI(polls_before_done=1).install(fake)
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("EXTRACTOR_MODEL", "m")
    for name in ("a", "b"):
        (tmp_path / f"{name}.txt").write_text(TEXT, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = ["extract", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "--batch-api", "--poll", "0.05",
            "--prompt", PROMPT]
    assert CliRunner().invoke(app, args).exit_code == 2  # --out is required
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(load_results(out)) == ["a", "b"]


def test_split_prompts_are_refused(fake, tmp_path):
    settings = Settings.from_env(model="m", base_url=fake.base_url, cache=False)
    with pytest.raises(ConfigError, match="split"):
        run_batch_api(Extractor(settings, prompt="sanctions@v2"), [Document(id="a", text=TEXT)], tmp_path / "o.jsonl")
