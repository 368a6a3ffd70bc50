"""The review form's draft, edits and validation, and the model-vs-reviewed diff (no server)."""

from __future__ import annotations

from extractor.service.review import forms
from extractor.store.review_diff import diff_answers

TEXT = "OFAC sanctioned Acme Shipping and Ivan Petrov on Monday."
MODEL = {
    "article_id": "d1", "is_sanctions_news": True,
    "actions": [{"authority": "us", "action": "impose", "measures": ["asset_freeze"],
                 "targets": [{"name": "Acme Shipping", "entity_type": "company"},
                             {"name": "OFAC", "entity_type": "government_body"}],
                 "evidence": ["OFAC sanctioned Acme Shipping"]}],
}


def _form(draft: forms.Draft) -> dict[str, list[str]]:
    """The fields a browser would post for a draft (as the template names them)."""
    data: dict[str, list[str]] = {"is_sanctions_news": ["on"] if draft["is_sanctions_news"] else [],
                                  "notes": [draft["notes"]]}
    for i, action in enumerate(draft["actions"]):
        for key in ("authority", "issuer", "action", "target_countries", "target_count", "legal_basis", "reasons",
                    "date", "coordinated_with"):
            data[f"a{i}.{key}"] = [action[key]]
        data[f"a{i}.measures"] = list(action["measures"])
        for k, t in enumerate(action["targets"]):
            for key, value in t.items():
                data[f"a{i}.t{k}.{key}"] = [value]
        for k, q in enumerate(action["evidence"]):
            data[f"a{i}.e{k}"], data[f"a{i}.e{k}.span"] = [q["text"]], [q["span"]]
    return data


def test_round_trip_edit_and_validate() -> None:
    draft = forms.draft_from_form(_form(forms.draft_from_result(MODEL)))
    answer, errors = forms.validate(draft, "d1")
    assert errors == {} and answer is not None
    assert answer.actions[0].measures == ["asset_freeze"]
    assert answer.actions[0].evidence == MODEL["actions"][0]["evidence"]
    assert [t.name for t in answer.actions[0].targets] == ["Acme Shipping", "OFAC"]
    draft = forms.apply_op(draft, "remove:a0.t1")
    draft = forms.apply_op(draft, "add_target:a0", new_text=" Ivan Petrov ", new_span="34,45")
    draft["actions"][0]["targets"][1]["entity_type"] = "person"
    answer, errors = forms.validate(draft, "d1")
    assert errors == {} and answer is not None
    assert [t.name for t in answer.actions[0].targets] == ["Acme Shipping", "Ivan Petrov"]
    assert forms.checked_spans(draft, TEXT) == {"actions[0].targets[1].name": [34, 45]}
    draft["actions"][0]["targets"][1]["name"] = "Ivan Petrovich"  # edited after selecting: offsets dropped
    assert forms.checked_spans(draft, TEXT) == {}


def test_errors_are_named_by_form_field() -> None:
    draft = forms.draft_from_result(MODEL)
    draft["actions"][0]["authority"] = "xx"
    draft["actions"][0]["targets"][0]["name"] = ""
    draft["actions"][0]["target_count"] = "many"
    draft["actions"][0]["date"] = "2024-13-01"
    answer, errors = forms.validate(draft, "d1")
    assert answer is None
    assert "not a jurisdiction code" in errors["a0.authority"]
    assert set(errors) == {"a0.authority", "a0.t0.name", "a0.target_count", "a0.date"}


def test_unknown_ops_and_values_are_ignored() -> None:
    assert forms.parse_op("remove:a0.t1") == "remove:a0.t1"
    assert forms.parse_op("drop table") == "save"
    data = _form(forms.draft_from_result(MODEL))
    data["a0.measures"] = ["asset_freeze", "<script>"]
    assert forms.draft_from_form(data)["actions"][0]["measures"] == ["asset_freeze"]


def test_diff_pairs_targets_by_name() -> None:
    reviewed = {**MODEL, "actions": [{**MODEL["actions"][0], "targets": [
        {"name": "Acme Shipping", "entity_type": "company"}, {"name": "Ivan Petrov", "entity_type": "person"}]}]}
    changes = diff_answers(MODEL, reviewed)
    assert [(c["op"], c["field"]) for c in changes] == [("removed", "actions.targets"), ("added", "actions.targets")]
    assert diff_answers(MODEL, MODEL) == []


def test_odd_numbers_in_the_form_are_validation_errors_not_crashes() -> None:
    draft = forms.draft_from_result(MODEL)
    for count in ("²", "9" * 5000, "٣", "-1", "12x"):
        draft["actions"][0]["target_count"] = count
        answer, errors = forms.validate(draft, "d1")
        assert answer is None and "a0.target_count" in errors, count
    draft["actions"][0]["target_count"] = "12"
    assert forms.validate(draft, "d1")[0] is not None
    # Row indices of 5,000 digits or in other scripts name no field and no edit.
    assert forms.draft_from_form({"a" + "9" * 5000 + ".authority": ["us"], "a².authority": ["gb"]})["actions"] == []
    assert forms.parse_op("add_target:a" + "9" * 5000) == "save" and forms.parse_op("remove:a٣") == "save"
    assert forms.checked_spans(forms.draft_from_form({"a0.t0.name": ["Acme"], "a0.t0.name_span": ["1" * 5000 + ",5"]}),
                               TEXT) == {}
