"""Which of an action's sanctions programmes apply to which of its targets.

A Treasury release often designates under several executive orders at once, each target under
one of them ("Myo Swe Win and the following three individuals are designated pursuant to E.O.
14014"). A programme is tied to a target when the text says so: a sentence that names the
target (or one of its aliases) names the programme, or the sentence introducing the list the
target is an item of does; or when the sanctions-list entry matched to the target carries it.
An action with a single programme ties it to every target. A programme nothing ties to a target
stays with the action only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from extractor.core.grounding.candidates import split_sentences
from extractor.core.merging import merge_key
from extractor.core.schema import SanctionAction, Target

from .programs import program_ids

_LIST_ITEM = re.compile(r"^\s*(?:[-•*–]|\(?\d{1,3}[.)])\s+")


@dataclass(frozen=True)
class Passage:
    """A sentence of the text, its `merge_key` form, and for a list item the sentence that introduces the list."""

    text: str
    key: str
    lead: str | None = None


def _passage(sentence: str, lead: str | None = None) -> Passage:
    return Passage(sentence, f" {merge_key(sentence)} ", lead)


@dataclass(frozen=True)
class Tied:
    """What applies to one target: programme ids, the legal bases behind them (as written), the action's others."""

    program_ids: list[str]
    legal_basis: list[str]
    action_only: list[str] = field(default_factory=list)


def passages(text: str) -> list[Passage]:
    """The text's sentences, each list item with the sentence before the list that ends in a colon."""
    found: list[Passage] = []
    lead: str | None = None
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line for line in paragraph.split("\n") if line.strip()]
        if lines and all(_LIST_ITEM.match(line) for line in lines):
            found += [_passage(line, lead) for line in lines]
            continue
        lead = None
        for sentence in split_sentences(paragraph):
            if _LIST_ITEM.match(sentence):
                found.append(_passage(sentence, lead))
                continue
            found.append(_passage(sentence))
            lead = sentence if sentence.rstrip().endswith(":") else None
    return found


class TargetPrograms:
    """Ties the programmes of each action to its targets, for one document."""

    def __init__(self, text: str | None) -> None:
        self._passages = passages(text) if text else []

    def tie(self, action: SanctionAction, target: Target, listed: Iterable[str] = ()) -> Tied:
        """The programmes and legal bases of `action` that apply to `target` (`listed`: its list entry's programmes)."""
        by_basis = {basis: program_ids([basis], action.authority) for basis in action.legal_basis}
        programs = list(dict.fromkeys(p for ids in by_basis.values() for p in ids))
        if len(programs) <= 1:
            return Tied(programs, list(action.legal_basis))
        supported = set(self._in_text(target, action.authority)) | set(listed)
        tied = [p for p in programs if p in supported]
        bases = [b for b, ids in by_basis.items() if set(ids) & set(tied)]
        return Tied(tied, bases, [b for b in action.legal_basis if b not in bases])

    def _in_text(self, target: Target, authority: str) -> list[str]:
        """Programmes named where the text names the target: its sentences and the lead-ins of its lists."""
        keys = {f" {merge_key(n)} " for n in [target.name, *target.aliases] if len(merge_key(n)) >= 2}
        found: list[str] = []
        for passage in self._passages:
            if any(key in passage.key for key in keys):
                found += program_ids([passage.text], authority)
                if passage.lead:
                    found += program_ids([passage.lead], authority)
        return found
