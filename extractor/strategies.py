"""The split strategy: small, focused questions instead of one large schema.

Small models answer "is this sanctions news?", "which actions?" and "whom does this action
target?" better than one nested schema at once. Steps: screen (stop when not sanctions
news), actions without targets, then the targets of each action. The parts validate into
the same `ExtractionAnswer` as the single-call strategy.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, get_args

from pydantic import BaseModel, create_model

from . import accounting
from .documents import Document
from .schema import ExtractionAnswer, answer_model

if TYPE_CHECKING:
    from .pipeline import Extractor

TARGET_FIELDS = ("targets", "target_countries", "target_count")


@cache
def step_models(max_actions: int, max_targets: int, max_items: int) -> dict[str, type[BaseModel]]:
    """Response models of the three steps, cut from the bounded answer model."""
    answer = answer_model(max_actions, max_targets, max_items)
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


def ask_split(extractor: Extractor, document: Document, stats: accounting.CallStats) -> ExtractionAnswer:
    """Answer a document in steps: screen, actions, then targets per action."""
    prompt = extractor.prompt
    models = step_models(**prompt.spec.limits.model_dump())
    screen = extractor.call(document, prompt.step_messages(document, "screen"), models["screen"], stats, "screen")
    if not screen.is_sanctions_news:
        return ExtractionAnswer(is_sanctions_news=False, actions=[])
    found = extractor.call(document, prompt.step_messages(document, "actions"), models["actions"], stats, "actions")
    actions = []
    for core in found.actions:
        messages = prompt.step_messages(document, "targets", action=core.model_dump())
        targets = extractor.call(document, messages, models["targets"], stats, "targets")
        actions.append({**core.model_dump(), **targets.model_dump()})
    return ExtractionAnswer.model_validate({"is_sanctions_news": bool(actions), "actions": actions})
