"""Exports into the sanctions data world: FollowTheMoney entities and sanctions-list matching.

`to_ftm(result, document=...)` gives the FtM entities of one result; `Matcher.load(path)` loads
a sanctions list (OFAC SDN CSV or an FtM entity file) and `matcher.match(target)` checks a
target against it. The matching names are imported lazily: they pull in the matching stack.
"""

from __future__ import annotations

from typing import Any

from .ftm import ExportError, iter_ftm, to_ftm, validate_entity, write_ftm
from .programs import program_ids

__all__ = ["ExportError", "MatchResult", "Matcher", "iter_ftm", "program_ids", "to_ftm", "validate_entity", "write_ftm"]


def __getattr__(name: str) -> Any:
    if name in ("Matcher", "MatchResult"):
        from . import matching

        return getattr(matching, name)
    raise AttributeError(name)
