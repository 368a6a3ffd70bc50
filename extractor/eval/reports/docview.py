"""The document view: article text with evidence quotes and target names marked and linked.

Used by `extractor show` and by each document section of the eval report. Spans come from
`extractor.core.grounding` (exact, then fuzzy alignment), so a quote the model invented shows
up as `not_found` instead of being silently dropped.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from extractor.core.grounding.align import Grounding, ground
from extractor.core.schema import ExtractionAnswer


@dataclass(frozen=True)
class Mark:
    """One marked span: which action (and target) it belongs to, and how it was found."""

    start: int
    end: int
    kind: str  # "evidence" or "name"
    action: int
    target: int | None
    status: str
    label: str
    side: str = ""  # "gold" or "pred" when one page shows both


@dataclass
class Segment:
    """A run of text covered by the same set of marks."""

    text: str
    marks: list[Mark] = field(default_factory=list)

    @property
    def classes(self) -> str:
        """CSS classes: the kinds of marks covering this run."""
        return " ".join(sorted({m.kind for m in self.marks} | {m.status for m in self.marks}))

    @property
    def href(self) -> str:
        """Link to the action card of the first mark covering this run."""
        first = self.marks[0]
        return f"#{first.side}-a{first.action}" if first.side else f"#a{first.action}"

    @property
    def title(self) -> str:
        """Hover text: what each covering mark is."""
        return "; ".join(m.label for m in self.marks)


def marks_for(
    answer: ExtractionAnswer, text: str, prefix: str = "", grounding: Grounding | None = None
) -> tuple[list[Mark], list[dict[str, Any]]]:
    """Marks for every evidence quote and target name, and a status row per item.

    `grounding` is `ground(answer, text)` when the caller has it already.
    """
    marks: list[Mark] = []
    rows: list[dict[str, Any]] = []
    spans_by_action = (grounding or ground(answer, text)).actions
    for a, (action, spans) in enumerate(zip(answer.actions, spans_by_action, strict=True)):
        items: list[tuple[str, int | None, str, Any]] = [
            ("evidence", None, quote, span) for quote, span in zip(action.evidence, spans.evidence, strict=True)
        ]
        items += [("name", t, target.name, span) for t, (target, span) in enumerate(
            zip(action.targets, spans.targets, strict=True))]
        for kind, t, value, span in items:
            rows.append({"action": a, "kind": kind, "value": value, "status": span.status})
            if span.start is not None and span.end is not None:
                what = "evidence" if kind == "evidence" else f"target {value}"
                marks.append(Mark(span.start, span.end, kind, a, t, span.status,
                                  f"{prefix}action {a + 1} {what} ({span.status})"))
    return marks, rows


def segments(text: str, marks: list[Mark]) -> list[Segment]:
    """Split `text` at every mark boundary; each piece knows the marks covering it."""
    cuts = sorted({0, len(text)} | {m.start for m in marks} | {m.end for m in marks})
    pieces = []
    for start, end in itertools.pairwise(cuts):
        if start == end:
            continue
        covering = [m for m in marks if m.start <= start and m.end >= end]
        pieces.append(Segment(text[start:end], covering))
    return pieces


def document_view(answer: ExtractionAnswer, text: str) -> dict[str, Any]:
    """Everything a template needs to draw one document with its marks."""
    marks, rows = marks_for(answer, text)
    found = sum(1 for r in rows if r["status"] != "not_found")
    return {
        "segments": segments(text, marks),
        "rows": rows,
        "grounding_rate": found / len(rows) if rows else None,
    }
