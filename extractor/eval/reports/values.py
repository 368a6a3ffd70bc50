"""Numbers and values as people write them, for every report, page and table.

- counts: whole numbers where they are whole; two decimals where free-text credit made them
  fractional (`COUNTS_LEGEND` says so on each page that shows them);
- scores: three decimals; differences signed with a real minus sign; `None` as "—";
- values from gold and predictions: `None` → "—", booleans yes/no, lists as comma lists,
  an action as a one-line summary instead of a Python dict;
- run labels: the shortest name that tells two runs apart (`v1` and `v3` when only the prompt
  version differs) and the comparison headline "v1 0.686 → v3 0.785 (+0.099 [0.015, 0.173])".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DASH = "—"
MINUS = "−"

COUNTS_LEGEND = (
    "Counts are whole numbers, except where free text (issuer, role, legal basis, reasons) earns partial "
    "credit by token overlap: those are shown to two decimals."
)
UNDEFINED_LEGEND = (
    f"{DASH} in an F1 column: nothing to find and nothing predicted (a correct abstention); a paired "
    "comparison counts it as 1.000."
)


def count(value: float | None) -> str:
    """A TP/FP/FN count: `12`, or `0.86` when partial credit made it fractional."""
    if value is None:
        return DASH
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}"


def score(value: float | None) -> str:
    """A precision, recall, F1 or rate to three decimals; "—" when undefined."""
    return DASH if value is None else f"{value:.3f}"


def signed(value: float | None) -> str:
    """A difference with its sign (a real minus sign), three decimals."""
    if value is None:
        return DASH
    text = f"{value:+.3f}"
    return text.replace("-", MINUS) if text != "-0.000" else "+0.000"


def interval(low: float | None, high: float | None) -> str:
    """`[0.015, 0.173]`, `[−0.021, 0.040]`: an interval, negative ends with a real minus sign."""
    if low is None or high is None:
        return f"[{DASH}]"
    return f"[{_plain(low)}, {_plain(high)}]"


def _plain(value: float) -> str:
    text = f"{value:.3f}"
    return "0.000" if text == "-0.000" else text.replace("-", MINUS)


def p_value(value: float | None) -> str:
    """A p-value: `<0.001` below that, else three decimals."""
    if value is None:
        return DASH
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _action(action: Mapping[str, Any]) -> str:
    """A gold or predicted action (as error items hold it) on one line."""
    parts = [str(action.get("authority") or "?"), str(action.get("action") or "?")]
    if action.get("issuer"):
        parts.append(str(action["issuer"]))
    if action.get("measures"):
        parts.append("measures: " + ", ".join(map(str, action["measures"])))
    targets = [str(t.get("name", t)) if isinstance(t, Mapping) else str(t) for t in action.get("targets") or []]
    if targets:
        shown = ", ".join(targets[:5])
        more = f" (+{len(targets) - 5} more)" if len(targets) > 5 else ""
        parts.append(f"targets: {shown}{more}")
    else:
        parts.append("no named targets")
    return " · ".join(parts)


def value(item: Any) -> str:
    """A value from gold or a prediction, as a person would write it."""
    if item is None:
        return DASH
    if isinstance(item, bool):
        return "yes" if item else "no"
    if isinstance(item, float):
        return f"{item:g}"
    if isinstance(item, Mapping):
        if "authority" in item or "action" in item:
            return _action(item)
        return "; ".join(f"{k}: {value(v)}" for k, v in item.items() if v not in (None, [], ""))
    if isinstance(item, list | tuple):
        return ", ".join(value(v) for v in item) if item else DASH
    return str(item)


CATEGORY_NAMES = {"missing": "missing", "hallucinated": "not in gold", "wrong_value": "wrong value"}


@dataclass(frozen=True)
class ErrorGroup:
    """The errors of one field path: how many of each category, the first few shown, the rest behind "show all"."""

    path: str
    summary: str
    shown: list[dict[str, Any]]
    rest: list[dict[str, Any]]

    @property
    def total(self) -> int:
        return len(self.shown) + len(self.rest)


def group_errors(errors: Iterable[Mapping[str, Any]], cap: int = 5) -> list[ErrorGroup]:
    """Error items grouped by field path (in first-seen order), `cap` shown per group."""
    by_path: dict[str, list[dict[str, Any]]] = {}
    for error in errors:
        by_path.setdefault(str(error.get("path")), []).append(dict(error))
    groups = []
    for path, items in by_path.items():
        tally: dict[str, int] = {}
        for item in items:
            name = CATEGORY_NAMES.get(str(item.get("category")), str(item.get("category")))
            tally[name] = tally.get(name, 0) + 1
        summary = ", ".join(f"{n} {name}" for name, n in tally.items())
        groups.append(ErrorGroup(path, summary, items[:cap], items[cap:]))
    return groups


def error_cells(error: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """Category, gold, predicted and a note (partial credit, not in the text) of one error item."""
    notes = []
    if error.get("credit"):
        notes.append(f"partial credit {error['credit']:.2f}")
    if error.get("note"):
        notes.append(str(error["note"]))
    category = str(error.get("category"))
    return (CATEGORY_NAMES.get(category, category), value(error.get("gold")), value(error.get("pred")),
            "; ".join(notes))


def run_labels(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[str, str]:
    """Short names that tell run A and run B apart, from their setups (prompt id, model, name)."""
    la, lb = labels_for([a, b])
    return la, lb


def labels_for(setups: Sequence[Mapping[str, Any]]) -> list[str]:
    """The shortest names that tell these runs apart: prompt versions (`v1`, `v3`) when only they differ,
    else prompt ids, models, or both; runs alike in all of that go by their names."""
    prompts = [str(s.get("prompt_id") or "?") for s in setups]
    models = [str(s.get("model") or "?") for s in setups]
    names, versions = zip(*(p.partition("@")[::2] for p in prompts), strict=True) if setups else ((), ())
    if len(set(models)) == 1 and len(set(names)) == 1 and all(versions) and len(set(versions)) == len(setups):
        labels = list(versions)
    elif len(set(models)) == 1:
        labels = prompts
    elif len(set(prompts)) == 1:
        labels = models
    else:
        labels = [f"{p} · {m}" for p, m in zip(prompts, models, strict=True)]
    if len(set(labels)) < len(labels):  # the same setup run more than once: their own names tell them apart
        labels = [f"{label} ({_run_name(s) or n + 1})" for n, (label, s) in enumerate(zip(labels, setups, strict=True))]
    if len(set(labels)) < len(labels):
        labels = [f"{label} #{n + 1}" for n, label in enumerate(labels)]
    return labels


def _run_name(setup: Mapping[str, Any]) -> str:
    """A run's name, or the last part of its path."""
    path = setup.get("path")
    return str(setup.get("name") or (str(path).rstrip("/").rsplit("/", 1)[-1] if path else ""))


def compare_title(report: Mapping[str, Any], labels: Sequence[str] | None = None) -> str:
    """`v1 0.686 → v3 0.785 (+0.099 [0.015, 0.173])`: both micro-F1s and the paired difference with its interval."""
    la, lb = labels or run_labels(report["setup"]["a"], report["setup"]["b"])
    delta = signed(report.get("delta_f1"))
    return (f"{la} {score(report.get('a_f1'))} → {lb} {score(report.get('b_f1'))} "
            f"({delta} {interval(report.get('ci_low'), report.get('ci_high'))})")


def document_change(doc: Mapping[str, Any], labels: Sequence[str], failed: Sequence[bool] = (False, False)) -> str:
    """One document's F1 under both runs: `v1 0.000 → v3 0.500 (+0.500)`; a failure or an undefined F1 says so."""

    def side(label: str, f1: float | None, fail: bool) -> str:
        if fail:
            return f"{label} failed" + (" (nothing to find)" if f1 is None else f" ({score(f1)})")
        return f"{label} {DASH} (nothing to find, nothing predicted)" if f1 is None else f"{label} {score(f1)}"

    la, lb = labels
    return (f"{side(la, doc.get('a_f1'), failed[0])} → {side(lb, doc.get('b_f1'), failed[1])} "
            f"({signed(doc.get('delta'))})")


def number(value: float | None) -> str:
    """A whole number with thousands separators (tokens), "—" when unknown."""
    return DASH if value is None else f"{value:,.0f}"


FILTERS = {
    "count": count, "score": score, "signed": signed, "pvalue": p_value, "value": value, "number": number,
}
"""The jinja2 filters every page uses."""
