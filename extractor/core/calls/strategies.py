"""How a prompt is asked: one call for the whole schema, or focused questions in steps.

A strategy gets the prompt, the document and a `Call` (messages, response model, step
name → validated answer); it never sees the extractor, the backend or the cache, so the
pipeline stays the only place that knows how a call is made.

The split strategy: small models answer "is this sanctions news?", "which actions?" and
"whom does this action target?" better than one nested schema at once. Steps: screen (stop
when not sanctions news), actions without targets, then the targets of each action. The
parts validate into the same `ExtractionAnswer` as the single-call strategy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any, get_args

from pydantic import BaseModel, create_model

from ..documents import Document
from ..prompts import Prompt
from ..schema import ExtractionAnswer

Call = Callable[[list[dict[str, str]], type[BaseModel], str | None], Awaitable[Any]]
"""One validated model call: (messages, response model, step name or None) → awaitable answer instance."""

TARGET_FIELDS = ("targets", "target_countries", "target_count")


# Bounded: grounded decoding makes one answer model per document.
@lru_cache(maxsize=64)
def step_models(answer: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Response models of the three split steps, cut from the (bounded) answer model."""
    action = get_args(answer.model_fields["actions"].annotation)[0]
    fields = action.model_fields

    def pick(names: Any) -> dict[str, Any]:
        return {name: (fields[name].annotation, fields[name]) for name in names}

    core = create_model("ActionCore", **pick(n for n in fields if n not in TARGET_FIELDS))
    actions_info = answer.model_fields["actions"]
    return {
        "screen": create_model("Screen", is_sanctions_news=(bool, answer.model_fields["is_sanctions_news"])),
        "actions": create_model("Actions", actions=(list[core], actions_info)),  # type: ignore[valid-type]
        "targets": create_model("Targets", **pick(TARGET_FIELDS)),
    }


async def ask(prompt: Prompt, document: Document, answer: type[BaseModel], call: Call) -> ExtractionAnswer:
    """Answer `document` with `prompt`'s strategy; `answer` is the model-facing response model."""
    if prompt.spec.strategy == "split":
        return await ask_split(prompt, document, answer, call)
    found = await call(prompt.messages(document), answer, None)
    return ExtractionAnswer.model_validate(found.model_dump())


async def ask_split(prompt: Prompt, document: Document, answer: type[BaseModel], call: Call) -> ExtractionAnswer:
    """Answer a document in steps: screen, actions, then targets per action."""
    models = step_models(answer)
    screen = await call(prompt.step_messages(document, "screen"), models["screen"], "screen")
    if not screen.is_sanctions_news:
        return ExtractionAnswer(is_sanctions_news=False, actions=[])
    found = await call(prompt.step_messages(document, "actions"), models["actions"], "actions")
    actions = []
    for core in found.actions:
        messages = prompt.step_messages(document, "targets", action=core.model_dump())
        targets = await call(messages, models["targets"], "targets")
        actions.append({**core.model_dump(), **targets.model_dump()})
    return ExtractionAnswer.model_validate({"is_sanctions_news": bool(actions), "actions": actions})


def render_preview(prompt: Prompt, document: Document, answer: type[BaseModel]) -> dict[str, Any]:
    """What would be sent for `document`: the messages and the JSON schema.

    For a split prompt, the first two steps are shown as sent; the targets step depends on
    the actions found, so its template is shown instead.
    """
    preview: dict[str, Any] = {"prompt": prompt.id, "prompt_hash": prompt.hash}
    if prompt.spec.steps is None:
        return {**preview, "messages": prompt.messages(document), "schema": answer.model_json_schema()}
    models = step_models(answer)
    preview["steps"] = {
        step: {"messages": prompt.step_messages(document, step), "schema": models[step].model_json_schema()}
        for step in ("screen", "actions")
    }
    targets = {"template": prompt.spec.steps.targets, "schema": models["targets"].model_json_schema()}
    preview["steps"]["targets"] = targets
    return preview
