"""Versioned prompt templates: loading, addressing (`name@vN`), rendering and hashing.

A prompt is a YAML file `prompts/<name>/v<N>.yaml` with a system text, a jinja2 user
template in which the article is delimited as data, optional few-shot examples and a
one-line description of what changed. The content hash goes into every result and cache
key, so results of an edited prompt never mix with the old ones.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .documents import Document
from .errors import PromptError
from .schema import ExtractionAnswer

PROMPTS_ENV = "EXTRACTOR_PROMPTS_DIR"
# The prompt used when none is asked for. A new version becomes the default only when
# `extractor compare` shows no statistically clear regression on any headline field against
# this one: sanctions@v4 lost on measures and reasons (evals/runs/compare-standin-v3-v4).
DEFAULT_PROMPT = "sanctions@v3"
_VERSION_FILE = re.compile(r"^v(\d+)\.ya?ml$")
# A prompt's name is the name of its folder under a prompts directory: never a path.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
# Characters that end a line: a metadata value is shown on one line, so none may survive in it.
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
_TEMPLATE_TAG = re.compile(r"<(\w+)>")
# Chat-control tokens: a document that spells one must not open or close a turn in the model's
# chat template. `<|...|>` covers ChatML (SmolLM2: <|im_start|>, <|im_end|>, <|endoftext|>) and
# Llama 3 (<|eot_id|>, <|start_header_id|>); the fullwidth bar DeepSeek's; the named ones are
# Gemma's (<start_of_turn>, <end_of_turn>, <bos>, <eos>) and the <s>/</s> of Llama 2 and Mistral.
_CHAT_TOKENS = re.compile(
    r"<\s*[|\uff5c]\s*(/?[\w\u2581.-]{1,40})\s*[|\uff5c]\s*>"
    r"|<\s*(/?)\s*(start_of_turn|end_of_turn|bos|eos|pad|unk|s)\s*>",
    re.IGNORECASE,
)
_jinja = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)


class Example(BaseModel):
    """A few-shot example: a short document and the answer the model should give."""

    model_config = ConfigDict(extra="forbid")

    text: str
    metadata: dict[str, str] = Field(default_factory=dict)
    answer: ExtractionAnswer


class Limits(BaseModel):
    """List-length bounds put into the model-facing JSON schema of backends that need them.

    Only small models get them (they otherwise repeat one item until the token limit); a
    capable model's answer is never cut by them: see `Backend.bounded_lists`.
    """

    model_config = ConfigDict(extra="forbid")

    max_actions: int = Field(default=8, ge=1)
    max_targets: int = Field(default=25, ge=1)
    max_items: int = Field(default=8, ge=1)


class SplitSteps(BaseModel):
    """The focused questions of a split prompt, each a jinja2 template appended to the article."""

    model_config = ConfigDict(extra="forbid")

    screen: str = Field(min_length=1, description="Is this sanctions news at all?")
    actions: str = Field(min_length=1, description="The actions, without their targets")
    targets: str = Field(min_length=1, description="The targets of one action; gets `action`")


class PromptSpec(BaseModel):
    """The validated content of one prompt file."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, description="One line: what changed from the previous version")
    system: str = Field(min_length=1)
    user: str = Field(min_length=1, description="jinja2 template; gets `text` and `metadata`")
    examples: list[Example] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    max_tokens: int | None = Field(
        default=None, ge=16, description="Output token budget per call for this prompt (over the backend's default)"
    )
    strategy: Literal["single", "split"] = Field(
        default="single", description="single: one call for the whole schema; split: focused questions in steps"
    )
    steps: SplitSteps | None = None

    @model_validator(mode="after")
    def _steps_for_split(self) -> PromptSpec:
        if self.strategy == "split" and self.steps is None:
            raise ValueError("strategy 'split' needs steps: screen, actions, targets")
        return self


class Prompt:
    """One version of a named prompt, ready to render messages for a document."""

    def __init__(self, name: str, version: int, path: Path, spec: PromptSpec) -> None:
        self.name = name
        self.version = version
        self.path = path
        self.spec = spec
        try:
            self._template = _jinja.from_string(spec.user)
        except jinja2.TemplateSyntaxError as exc:
            raise PromptError(f"{path}: user template does not parse: {exc.message} (line {exc.lineno})") from None

    @property
    def id(self) -> str:
        """The address of this version, e.g. `sanctions@v2`."""
        return f"{self.name}@v{self.version}"

    @cached_property
    def hash(self) -> str:
        """Content hash of what the model is sent: system, template, examples, limits, steps."""
        # The description says what changed; it never reaches the model, so it is not hashed.
        content = self.spec.model_dump(mode="json", exclude={"description"})
        # Keys added to the prompt format later are hashed only when used, so existing prompts keep their hash.
        for key, default in (("strategy", "single"), ("steps", None), ("max_tokens", None)):
            if content.get(key) == default:
                content.pop(key)
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    @property
    def description(self) -> str:
        """What changed from the previous version."""
        return self.spec.description

    @cached_property
    def _delimiters(self) -> re.Pattern[str] | None:
        """Look-alikes of the template's data delimiters: `<article>`, `</ Article >`, `<article id=x>`."""
        names = sorted({n for n in _TEMPLATE_TAG.findall(self.spec.user) if f"</{n}>" in self.spec.user})
        if not names:
            return None
        return re.compile(r"<\s*(/?)\s*(" + "|".join(map(re.escape, names)) + r")\b[^<>]*>", re.IGNORECASE)

    def _neutralise(self, value: str) -> str:
        """`value` with delimiter look-alikes turned into `[article]`/`[/article]`, so data cannot close its block,
        and chat-control tokens into `[im_end]`, `[start_of_turn]`, so it cannot end or start a turn."""
        pattern = self._delimiters
        value = pattern.sub(lambda m: f"[{m.group(1)}{m.group(2)}]", value) if pattern else value
        if "<" in value:
            value = _CHAT_TOKENS.sub(lambda m: f"[{m.group(1) or (m.group(2) + m.group(3))}]", value)
        return value

    def render_user(self, text: str, metadata: dict[str, str]) -> str:
        """The user message for one document.

        The article and its metadata are data: delimiter look-alikes in them are neutralised
        and metadata values flattened to one line, so neither can end the data block early
        or start a line of its own. Text without such look-alikes renders unchanged.
        """
        text = self._neutralise(text)
        metadata = {key: self._neutralise(_LINE_BREAKS.sub(" ", str(value))) for key, value in metadata.items()}
        try:
            return self._template.render(text=text, metadata=metadata).strip() + "\n"
        except jinja2.UndefinedError as exc:
            raise PromptError(f"{self.id}: user template uses an unknown variable: {exc.message}") from None

    def step_messages(self, document: Document, step: str, **context: Any) -> list[dict[str, str]]:
        """Messages for one step of a split prompt: the article, then the step's question."""
        if self.spec.steps is None:
            raise PromptError(f"{self.id} is not a split prompt")
        template = getattr(self.spec.steps, step)
        try:
            question = _jinja.from_string(template).render(**context).strip()
        except jinja2.TemplateError as exc:
            raise PromptError(f"{self.id}: step {step!r} does not render: {exc}") from None
        messages = self.messages(document)
        # The question follows the article so every step shares the same prefix (KV-cache reuse).
        messages[-1] = {"role": "user", "content": messages[-1]["content"] + "\n" + question}
        return messages

    @cached_property
    def _prefix(self) -> tuple[tuple[str, str], ...]:
        """The system message and the worked examples: the same for every document, rendered once."""
        messages = [("system", self.spec.system.strip())]
        for example in self.spec.examples:
            messages.append(("user", self.render_user(example.text, example.metadata)))
            messages.append(("assistant", example.answer.model_dump_json(exclude_defaults=False)))
        return tuple(messages)

    @cached_property
    def prefix_chars(self) -> int:
        """Characters of the messages that come before the document's own."""
        return sum(len(content) for _, content in self._prefix)

    def messages(self, document: Document) -> list[dict[str, str]]:
        """The full message list sent to the model for `document`."""
        messages = [{"role": role, "content": content} for role, content in self._prefix]
        messages.append({"role": "user", "content": self.render_user(document.text, document.metadata())})
        return messages


def prompt_dirs() -> list[Path]:
    """Where prompts are looked up: $EXTRACTOR_PROMPTS_DIR, the source tree, the installed copy."""
    package = Path(__file__).resolve().parents[1]
    dirs = []
    if os.environ.get(PROMPTS_ENV):
        dirs.append(Path(os.environ[PROMPTS_ENV]))
    dirs += [package.parent / "prompts", package / "_prompts"]
    return [d for d in dirs if d.is_dir()]


def _versions(name: str) -> dict[int, Path]:
    for base in prompt_dirs():
        folder = base / name
        if folder.is_dir():
            found = {}
            for file in folder.iterdir():
                match = _VERSION_FILE.match(file.name)
                if match:
                    found[int(match.group(1))] = file
            if found:
                return found
    return {}


def available() -> dict[str, list[int]]:
    """Every prompt name with its versions, oldest first."""
    names: dict[str, list[int]] = {}
    for base in prompt_dirs():
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            if folder.name not in names:
                versions = sorted(_versions(folder.name))
                if versions:
                    names[folder.name] = versions
    return names


def parse_prompt_id(prompt_id: str) -> tuple[str, int | None]:
    """Split `name@vN` (or `name@N`, or `name`) into name and version (None = latest)."""
    name, _, version = prompt_id.strip().partition("@")
    if not name or not _NAME.match(name) or ".." in name:
        raise PromptError(f"invalid prompt id {prompt_id[:120]!r}: expected NAME or NAME@vN (a name, not a path)")
    if not version:
        return name, None
    digits = version[1:] if version.lower().startswith("v") else version
    if not digits.isdigit():
        raise PromptError(f"invalid prompt version in {prompt_id!r}: expected NAME@vN, e.g. sanctions@v1")
    return name, int(digits)


def load_prompt(prompt_id: str | Prompt = DEFAULT_PROMPT) -> Prompt:
    """Load a prompt by id: `sanctions@v1`, or `sanctions` for the latest version (default: `DEFAULT_PROMPT`)."""
    if isinstance(prompt_id, Prompt):
        return prompt_id
    name, version = parse_prompt_id(prompt_id)
    versions = _versions(name)
    if not versions:
        known = ", ".join(sorted(available())) or "none"
        raise PromptError(f"unknown prompt {name!r} (known prompts: {known})")
    if version is None:
        version = max(versions)
    if version not in versions:
        listed = ", ".join(f"v{v}" for v in sorted(versions))
        raise PromptError(f"unknown prompt version {name}@v{version} (available: {listed})")
    path = versions[version]
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = PromptSpec.model_validate(raw)
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        raise PromptError(f"{path}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
    return Prompt(name, version, path, spec)


def diff_prompts(a: Prompt, b: Prompt, labels: tuple[str, str] = ("", "")) -> str:
    """Unified diff of two prompt files, headed by their ids and hashes ("" when identical)."""
    lines = difflib.unified_diff(
        a.path.read_text(encoding="utf-8").splitlines(keepends=True),
        b.path.read_text(encoding="utf-8").splitlines(keepends=True),
        fromfile=f"{labels[0]}{a.id} ({a.hash})",
        tofile=f"{labels[1]}{b.id} ({b.hash})",
    )
    return "".join(lines)
