"""The guided strategy of small models: the document read by rules, the model asked one short question at a time.

A 135M model cannot fill the nested schema from a whole release; it can answer a short
question about a few sentences. `ask_guided` reads the document with `reading.frame.read`
(actions, authorities, issuers, measures, dates, evidence and the names the text puts in a
target's place, all copied from the text), then asks the model only what the rules leave
open: which of the other names that the reporting sentences print (at most five per
question, the sentences they stand in as the context) are said to be sanctioned. Each
answer is decoded under a grammar of the five names offered, so it can only pick among them;
targets are listed once per action.

Backends opt in with `guided_reading = True` (the embedded backend); capable endpoint models
keep the prompt's own strategy and the plain schema. The prompt still frames every question:
its user template delimits the context as data.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from ..documents import Document
from ..prompts import Prompt
from ..reading.frame import DraftAction, Mention, Reading, read
from ..reading.targets import TargetDraft, entity_type
from ..schema import ExtractionAnswer
from .strategies import Call

# Bumped whenever the reading rules or the questions change: it goes into cache keys.
GUIDED_VERSION = 1
GROUP = 5
MAX_QUESTIONS = 4

SYSTEM = (
    "You read sentences from a news article about sanctions and answer one question in JSON. "
    "Answer only from the sentences."
)
TARGETS_QUESTION = (
    "Question: which of these names do the sentences say were sanctioned, designated, blocked or banned "
    "(not the body that imposed the sanctions, not a person quoted)? Names: {names}. "
    'Answer {{"sanctioned": [...]}} with those names, or an empty list.'
)


async def ask_guided(prompt: Prompt, document: Document, call: Call) -> ExtractionAnswer:
    """Answer `document` from its reading, asking the model about the names the rules leave open."""
    reading = read(document)
    if not reading.actions:
        return ExtractionAnswer(is_sanctions_news=False, actions=[])
    main = reading.actions[0]
    groups = [reading.mentions[i:i + GROUP] for i in range(0, len(reading.mentions), GROUP)][:MAX_QUESTIONS]
    for group in groups:
        messages = question_messages(prompt, document, group)
        answer = await call(messages, choice_model(tuple(m.name for m in group)), "targets")
        _add_targets(main, [m for m in group if m.name in set(answer.sanctioned)])
    return to_answer(reading)


def question_messages(prompt: Prompt, document: Document, group: list[Mention]) -> list[dict[str, str]]:
    """The messages of one targets question: the sentences the names stand in, then the question."""
    context = "\n".join(dict.fromkeys(m.sentence for m in group))
    names = ", ".join(f'"{m.name}"' for m in group)
    user = prompt.render_user(context, document.metadata())
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": user + "\n" + TARGETS_QUESTION.format(names=names)}]


def choice_model(names: tuple[str, ...]) -> type[BaseModel]:
    """A response model whose only field lists some of `names` (a grammar of those strings for llama.cpp)."""
    choice: Any = Literal[names]  # type: ignore[valid-type]
    return create_model("Sanctioned", sanctioned=(list[choice], Field(default_factory=list, max_length=len(names))))


def _add_targets(action: DraftAction, chosen: list[Mention]) -> None:
    held = {t.name.casefold() for t in action.targets}
    for mention in chosen:
        if mention.name.casefold() not in held:
            held.add(mention.name.casefold())
            action.targets.append(TargetDraft(mention.name, entity_type(mention.name)))


def to_answer(reading: Reading) -> ExtractionAnswer:
    """The drafts as the schema's answer."""
    actions = [
        {
            "authority": a.authority, "issuer": a.issuer, "action": a.action, "is_countermeasure": a.is_countermeasure,
            "measures": a.measures, "legal_basis": a.legal_basis, "reasons": a.reasons, "date": a.date,
            "coordinated_with": a.coordinated_with, "evidence": a.evidence,
            "targets": [{"name": t.name, "entity_type": t.entity_type, "country": t.country, "role": t.role,
                         "aliases": t.aliases} for t in a.targets],
        }
        for a in reading.actions
    ]
    return ExtractionAnswer.model_validate({"is_sanctions_news": bool(actions), "actions": actions})


def preview(prompt: Prompt, document: Document) -> dict[str, Any]:
    """What the guided strategy does with `document`: its reading, and the questions it would ask."""
    reading = read(document)
    groups = [reading.mentions[i:i + GROUP] for i in range(0, len(reading.mentions), GROUP)][:MAX_QUESTIONS]
    questions = [{"messages": question_messages(prompt, document, g),
                  "schema": choice_model(tuple(m.name for m in g)).model_json_schema()} for g in groups]
    return {"strategy": "guided", "reading": to_answer(reading).model_dump(mode="json"),
            "questions": questions if reading.actions else []}
