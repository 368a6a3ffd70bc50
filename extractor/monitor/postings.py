"""Postings of events by block, key and week: which events to compare a new action with.

An event is posted under each of its keys (a target name key, a legal-basis key) in its block
(authority and kind) and in every week its dated actions span. A new action looks up its keys
in the weeks around its own dates, so it meets the few events that could take it, however many
events share its keys over the years (every designation under "E.O. 14024" shares that key).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Set

# Weeks are ordinal day // 7. A span longer than MAX_WEEKS (an action dated only by its year
# spans 53) is posted under WIDE, which every lookup of the key looks at.
WEEK_DAYS = 7
MAX_WEEKS = 60
WIDE: None = None

Week = int | None
Block = tuple[str, str]


def weeks(first: dt.date | None, last: dt.date | None) -> set[Week]:
    """The weeks a span is posted under: WIDE for an undated or a very long one."""
    if first is None or last is None:
        return {WIDE}
    start, end = first.toordinal() // WEEK_DAYS, last.toordinal() // WEEK_DAYS
    return {WIDE} if end - start > MAX_WEEKS else set(range(start, end + 1))


def window(start: dt.date | None, end: dt.date | None, margin_days: int) -> range | None:
    """The weeks of [start - margin, end + margin]; None (every week) for an undated or a very long one."""
    if start is None or end is None:
        return None
    first = (start.toordinal() - margin_days) // WEEK_DAYS
    last = (end.toordinal() + margin_days) // WEEK_DAYS
    return None if last - first > MAX_WEEKS else range(first, last + 1)


class Postings:
    """(block, key) → week → event ids."""

    def __init__(self) -> None:
        self._lists: dict[tuple[Block, str], dict[Week, set[int]]] = defaultdict(lambda: defaultdict(set))

    def post(self, block: Block, event_id: int, keys: Iterable[str], at: set[Week]) -> None:
        """Post an event under `keys` in the weeks `at`."""
        for key in keys:
            posting = self._lists[(block, key)]
            for week in at:
                posting[week].add(event_id)

    def remove(self, block: Block, event_id: int, keys: Iterable[str], at: set[Week]) -> None:
        """Take an event off `keys` in the weeks `at`."""
        for key in keys:
            posting = self._lists.get((block, key))
            if posting is None:
                continue
            for week in at:
                if week in posting:
                    posting[week].discard(event_id)

    def update(self, block: Block, event_id: int, keys: Set[str], fresh: Set[str], old: set[Week],
               new: set[Week]) -> None:
        """An event took an action: its `fresh` keys (among all its `keys`) and its weeks moved from `old` to `new`."""
        if new == old:
            self.post(block, event_id, fresh, new)
            return
        self.post(block, event_id, keys, new - old)
        self.post(block, event_id, fresh, new & old)
        self.remove(block, event_id, keys, old - new)

    def find(self, block: Block, keys: Iterable[str], weeks_: range | None) -> set[int]:
        """Events posted under any of `keys` in the weeks `weeks_` or WIDE (in any week if None)."""
        found: set[int] = set()
        for key in keys:
            posting = self._lists.get((block, key))
            if not posting:
                continue
            if weeks_ is None:
                for ids in posting.values():
                    found |= ids
            elif len(posting) <= len(weeks_):  # a key is posted in a few weeks: look at those
                for week, ids in posting.items():
                    if week is WIDE or week in weeks_:
                        found |= ids
            else:
                found |= posting.get(WIDE, set())
                for week in weeks_:
                    found |= posting.get(week, set())
        return found
