"""The guided strategy of small models: the document read by rules, the answer built from what the text says.

A 135M model cannot fill the nested schema from a release, and on the gold set it could not
answer the short questions either: asked "was X sanctioned?" about the names of the
reporting sentences, or "does this article report sanctions?", its yes-probability ranked
the right answers no better than chance (`benchmarks/embedded_questions.py`; AUC 0.39 and
0.54), and letting it pick targets among five names per question cut target-name precision
from 0.85 to 0.59 for one more name found. So the guided strategy asks it nothing:
`reading.frame.read` finds the actions, authorities, issuers, measures, dates, evidence and
the names the text puts in a target's place, all copied from the text, each target once per
action.

Backends opt in with `guided_reading = True` (the embedded backend); capable endpoint models
keep the prompt's own strategy and the plain schema.
"""

from __future__ import annotations

from typing import Any

from ..documents import Document
from ..reading.frame import Reading, read
from ..schema import ExtractionAnswer

# Bumped whenever the reading rules change: it goes into cache keys.
GUIDED_VERSION = 1


def ask_guided(document: Document) -> ExtractionAnswer:
    """The answer for `document` from its reading."""
    return to_answer(read(document))


def to_answer(reading: Reading) -> ExtractionAnswer:
    """The drafts of a reading as the schema's answer."""
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


def preview(document: Document) -> dict[str, Any]:
    """What the guided strategy answers for `document`, and the sentences it read as reporting actions."""
    reading = read(document)
    return {"strategy": "guided", "model_calls": 0, "reporting_sentences": reading.reporting,
            "answer": to_answer(reading).model_dump(mode="json")}
