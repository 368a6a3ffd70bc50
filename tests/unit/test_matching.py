"""Sanctions-list loading and matching against a real OFAC SDN sample (tests/data/sdn)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import orjson
import pytest
from followthemoney import model
from typer.testing import CliRunner

from extractor.batch.results import result_line
from extractor.cli import app
from extractor.core.schema import ArticleExtraction, Target
from extractor.eval.goldset import load_gold_set
from extractor.export import lists as lists_module
from extractor.export.list_recall import list_recall
from extractor.export.lists import ListError, load_list
from extractor.export.matching import Matcher, index_file
from extractor.export.programs import program_ids
from tests.support import DATA, ROOT

SAMPLE = DATA / "sdn" / "sdn-sample.csv"
RELEASE = "tr-2021-12-10-jy0526"
runner = CliRunner()

# The dev-set release's listed targets and their SDN entries (ent_num), as OFAC lists them.
RELEASE_ENTRIES = {
    "Shohrat Zakir": 34079, "Erken Tuniyaz": 34119, "Rapid Action Battalion": 33951, "Benazir Ahmed": 33952,
    "Chowdhury Abdullah Al-Mamun": 33953, "Khan Mohammad Azad": 34076, "Tofayel Mustafa Sorwar": 33955,
    "Mohammad Jahangir Alam": 34077, "Mohammad Anwar Latif Khan": 33954, "European Institute Justo": 34020,
    "Dmitriy Yurevich Soin": 34021, "SEK Studio": 34022, "Lu Hezheng": 34024, "Nings Cartoon Studio": 34023,
    "Moxing Cartoon": 31042, "Shanghai Hongman Cartoon and Animation Design Studio": 34025,
    "DPRK Central Public Prosecutors Office": 30184, "Ri Yong Gil": 33936, "Myo Swe Win": 33973,
    "Saw Myint Oo": 34016, "Maung Ko": 34017, "Khat Htein Nan": 34018, "Directorate of Defense Industries": 33537,
    "Quartermaster General Office": 33538, "Myanmar War Veterans Organization": 33536,
}
# Dev-set targets whose own entries are not in the sample, though namesakes are (same surname).
NEAR_MISSES = [
    Target(name="Chen Mingguo", entity_type="person", country="cn"),        # CHEN, Mingfu is in the sample
    Target(name="Alexander Ermakov", entity_type="person", country="ru"),   # ERMAKOV, Maksim Yuryevich
    Target(name="Wang Junzheng", entity_type="person", country="cn"),       # WANG, Chen
    Target(name="Kim Tong Chol", entity_type="person", country="kp"),       # KIM, Kyong Hyok / Kyong Il
    Target(name="Ri Chun Hwan", entity_type="person", country="kp"),        # RI, Yong Gil / Yong Mu
    Target(name="Khan Bahadur", entity_type="person"),                      # KHAN, Bahawal
    Target(name="Zakir Naik", entity_type="person"),                        # ZAKIR, Qari / Shohrat
]


@pytest.fixture(scope="module")
def matcher(tmp_path_factory) -> Matcher:
    return Matcher.load(SAMPLE, index_dir=tmp_path_factory.mktemp("lists"))


@pytest.fixture(scope="module")
def gold_set():
    return load_gold_set(ROOT / "evals" / "gold", ROOT / "evals" / "docs")


def _result(gold_set, doc_id: str) -> ArticleExtraction:
    return ArticleExtraction.model_validate(gold_set.gold[doc_id].model_dump(exclude={"notes"}))


def test_sdn_rows_become_ftm_entities():
    loaded = load_list(SAMPLE)
    assert loaded.name == "OFAC SDN" and len(loaded.entries) == 44
    by_id = {e.entity.id: e for e in loaded.entries}
    zakir = by_id["ofac-34079"].entity
    assert zakir.schema.name == "Person" and zakir.first("name") == "ZAKIR, Shohrat"
    assert zakir.get("lastName") == ["ZAKIR"] and zakir.get("firstName") == ["Shohrat"]
    assert zakir.get("nationality") == ["cn"] and by_id["ofac-34079"].programs == ["GLOMAG"]
    bank = by_id["ofac-306"].entity
    assert bank.schema.name == "Organization" and bank.get("alias") == ["BNC"]
    vessel = by_id["ofac-4243"].entity
    assert vessel.schema.name == "Vessel" and vessel.get("previousName") == ["ANA I", "SAND SWAN"]
    assert vessel.get("flag") == ["pa"] and vessel.get("imoNumber") == ["IMO7406784"]
    assert by_id["ofac-15431"].entity.schema.name == "Airplane"
    assert by_id["ofac-39796"].programs == ["DPRK3", "CYBER2"]
    for entry in loaded.entries:
        entry.entity.schema.validate(entry.entity.to_dict())


def test_dev_release_targets_are_found_with_their_entries(matcher, gold_set):
    result = _result(gold_set, RELEASE)
    treasury = next(a for a in result.actions if a.legal_basis and "E.O. 13818" in a.legal_basis)
    found = {}
    for target in treasury.targets:
        match = matcher.match(target)
        assert match.listed, (target.name, match.to_dict())
        found[target.name] = match.best.entry_id
        # The release's legal bases name the programme the entry is listed under.
        assert set(program_ids(treasury.legal_basis)) & set(match.best.programs), target.name
    assert found == {name: f"ofac-{num}" for name, num in RELEASE_ENTRIES.items() if name in found}
    assert len(found) == len(treasury.targets) == 25
    # SenseTime is on OFAC's non-SDN CMIC list, not on the SDN list.
    sensetime = next(t for a in result.actions for t in a.targets if t.name.startswith("SenseTime"))
    assert matcher.match(sensetime).status != "listed"


def test_aliases_and_name_order(matcher):
    assert matcher.match(Target(name="BNC", entity_type="company")).best.entry_id == "ofac-306"
    ship = matcher.match(Target(name="Sand Swan", entity_type="vessel"))
    assert ship.listed and ship.best.entry_id == "ofac-4243" and ship.best.matched_name == "SAND SWAN"
    # "LAST, First" on the list, "First Last" or "LAST First" in the news.
    assert matcher.match(Target(name="Shohrat Zakir", entity_type="person")).best.entry_id == "ofac-34079"
    assert matcher.match(Target(name="ZAKIR Shohrat", entity_type="person")).best.entry_id == "ofac-34079"
    assert matcher.match(Target(name="Qari Zakir", entity_type="person")).best.entry_id == "ofac-15530"
    assert matcher.match(Target(name="Kim Kyong Il", entity_type="person")).best.entry_id == "ofac-23016"


@pytest.mark.parametrize("target", NEAR_MISSES, ids=lambda t: t.name)
def test_near_misses_do_not_match(matcher, target):
    match = matcher.match(target)
    assert match.status != "listed", match.to_dict()


def test_type_and_country_are_evidence(matcher):
    as_company = matcher.match(Target(name="Rapid Action Battalion", entity_type="company"))
    assert as_company.listed and as_company.best.entry_id == "ofac-33951"
    as_person = matcher.match(Target(name="Rapid Action Battalion", entity_type="person"))
    assert as_person.status == "not_listed"  # a person is never an organisation
    # A country that differs lowers a near name; it never sinks the listed name itself.
    near_home = matcher.match(Target(name="Benazir Ahme", entity_type="person", country="bd")).best.score
    near_abroad = matcher.match(Target(name="Benazir Ahme", entity_type="person", country="cn")).best.score
    assert near_abroad == pytest.approx(near_home - 0.2)
    exact_abroad = matcher.match(Target(name="Benazir Ahmed", entity_type="person", country="cn")).best
    assert exact_abroad.score == 1.0 and exact_abroad.features["country_mismatch"] == 1.0


def test_an_exact_listed_name_is_listed_whatever_country_the_model_gave_and_says_why(matcher):
    # OFAC lists LU, Hezheng with Chinese nationality; the model read him as North Korean (the programme).
    for country in ("kp", None):
        match = matcher.match(Target(name="Lu Hezheng", entity_type="person", country=country))
        assert match.listed and match.best.entry_id == "ofac-34024" and match.best.score == 1.0
        assert match.reason == "listed: 1.00 reaches the threshold 0.80 (best: LU, Hezheng, ofac-34024)"
    explained = match.to_dict()["entry"]
    assert explained["features"] == {"name_match": 1.0}
    conflict = matcher.match(Target(name="Lu Hezheng", entity_type="person", country="kp")).to_dict()["entry"]
    assert conflict["features"] == {"name_match": 1.0, "country_mismatch": 1.0}
    assert conflict["explanation"] == [
        "name: 1.00, the listed name itself ('Lu Hezheng' ~ 'LU, Hezheng')",
        "country: the text gives kp, the list cn; not counted against an exact name",
        "type: Person against Person",
        "birth date: not compared (the text gives none)",
        "identifiers: none compared (the text gives none)",
    ]
    failing = matcher.match(Target(name="Lu Hezhen", entity_type="person", country="kp"))
    assert failing.status == "possible"
    assert failing.reason.startswith("possible: 0.74 is below the threshold 0.80")
    assert "country: the text gives kp, the list cn (-0.20)" in failing.best.explanation
    far = matcher.match(Target(name="Kim Tong Chol", entity_type="person", country="kp"))
    assert far.status == "not_listed" and far.reason.startswith("not listed:") and "below the floor 0.60" in far.reason


def test_match_result_is_json_ready(matcher):
    listed = matcher.match("Moxing Cartoon").to_dict()
    assert json.loads(json.dumps(listed)) == listed
    assert listed["status"] == "listed" and listed["entry"]["entry_id"] == "ofac-31042"
    assert listed["entry"]["list"] == "OFAC SDN" and listed["entry"]["programs"] == ["DPRK3"]
    unknown = matcher.match(Target(name="Zzyzx Qwerty Holdings", entity_type="company")).to_dict()
    assert unknown["status"] == "not_listed" and unknown["entry"] is None and unknown["candidates"] == []
    # A given name alone is not enough to say "listed", but worth a look.
    near = matcher.match(Target(name="Shohrat", entity_type="person"))
    assert near.status == "possible" and near.best.entry_id == "ofac-34079"
    assert matcher.floor <= near.best.score < matcher.threshold


def test_index_is_saved_and_reused(tmp_path, monkeypatch):
    first = Matcher.load(SAMPLE, index_dir=tmp_path)
    saved = index_file(SAMPLE, index_dir=tmp_path)
    assert saved.is_file() and len(first.index.entries) == 44

    def no_parsing(*args, **kwargs):
        raise AssertionError("the list was parsed again instead of the saved index being read")

    monkeypatch.setattr("extractor.export.matching.load_list", no_parsing)
    second = Matcher.load(SAMPLE, index_dir=tmp_path)
    assert second.match("Erken Tuniyaz").best.entry_id == "ofac-34119"
    # Another list content is another index.
    changed = tmp_path / "changed.csv"
    changed.write_bytes(SAMPLE.read_bytes().split(b"\n", 1)[1])
    assert index_file(changed, index_dir=tmp_path) != saved


def test_alt_csv_adds_aliases(tmp_path):
    folder = tmp_path / "ofac"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "sdn.csv")
    # OFAC's alt.csv layout: ent_num, alt_num, alt_type, alt_name, alt_remarks (rows made for this test).
    (folder / "alt.csv").write_bytes(
        b'33951,9001,"aka","ELITE ANTI-CRIME FORCE",-0- \r\n'
        b'4243,9002,"fka","OCEAN STAR",-0- \r\n'
        b'34020,9003,"aka","JUSTO INSTITUTE","weak"\r\n'
        b'99999,9004,"aka","NOT IN THIS RELEASE",-0- \r\n\x1a'
    )
    loaded = load_list(folder / "sdn.csv")  # alt.csv beside sdn.csv is picked up
    by_id = {e.entity.id: e.entity for e in loaded.entries}
    assert "ELITE ANTI-CRIME FORCE" in by_id["ofac-33951"].get("alias")
    assert "OCEAN STAR" in by_id["ofac-4243"].get("previousName")
    assert by_id["ofac-34020"].get("weakAlias") == ["JUSTO INSTITUTE"]
    matcher = Matcher.load(folder / "sdn.csv", index_dir=tmp_path / "idx")
    found = matcher.match(Target(name="Elite Anti-Crime Force", entity_type="government_body"))
    assert found.listed and found.best.entry_id == "ofac-33951"
    explicit = load_list(SAMPLE, alt=folder / "alt.csv")
    assert "OCEAN STAR" in {e.entity.id: e.entity for e in explicit.entries}["ofac-4243"].get("previousName")


def test_ftm_entity_file_as_list(tmp_path):
    loaded = load_list(SAMPLE)
    path = tmp_path / "entities.ftm.json"
    with path.open("wb") as handle:
        for entry in loaded.entries:
            entity = entry.entity.clone()
            entity.set("programId", [])
            data = {**entity.to_dict(), "datasets": ["us_ofac_sdn"]}
            handle.write(orjson.dumps(data) + b"\n")
            sanction = model.make_entity("Sanction")
            sanction.make_id("sanction", entity.id)
            sanction.add("entity", entity.id)
            sanction.add("programId", entry.programs)
            handle.write(orjson.dumps(sanction.to_dict()) + b"\n")
    matcher = Matcher.load(path, index_dir=tmp_path / "idx")
    match = matcher.match(Target(name="Tofayel Mustafa Sorwar", entity_type="person", country="bd"))
    assert match.listed and match.best.entry_id == "ofac-33955"
    assert match.best.list_name == "us_ofac_sdn" and match.best.programs == ["GLOMAG"]


def test_list_errors_are_specific(tmp_path):
    with pytest.raises(ListError, match="no such file"):
        load_list(tmp_path / "missing.csv")
    text = tmp_path / "list.txt"
    text.write_text("hello")
    with pytest.raises(ListError, match="not an OFAC SDN CSV"):
        load_list(text)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(SAMPLE.read_bytes().split(b"\n")[0] + b'\nname,only\n')
    with pytest.raises(ListError, match=r"bad\.csv:2: not an SDN row"):
        load_list(bad)
    broken = tmp_path / "broken.ftm.json"
    broken.write_text('{"id": "x", "schema": "Person", "properties": {"name": ["A"]}}\n{"id": "y", "schema": "Nope"}\n')
    with pytest.raises(ListError, match=r"broken\.ftm\.json:2: not an FtM entity"):
        load_list(broken)
    assert lists_module.SDN_LIST == "OFAC SDN"


def test_list_recall_counts_listed_gold_and_predicted(matcher, gold_set):
    predictions = {doc_id: _result(gold_set, doc_id) for doc_id in gold_set.ids}
    dropped = predictions[RELEASE].model_copy(deep=True)
    for action in dropped.actions:
        action.targets = [t for t in action.targets if t.name not in ("Benazir Ahmed", "Moxing Cartoon")]
    predictions[RELEASE] = dropped
    report = list_recall(matcher, gold_set.gold, predictions)
    row = next(r for r in report["documents"] if r["article_id"] == RELEASE)
    assert row["gold_listed"] == 25 and row["recalled"] == 23
    assert row["missed"] == ["Benazir Ahmed", "Moxing Cartoon"]
    assert report["totals"]["gold_listed"] >= 25
    assert report["recall_listed"] < 1.0 and report["precision_listed"] == 1.0


def _results_file(gold_set, tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "results.jsonl"
    path.write_text("".join(json.dumps(result_line(_result(gold_set, d))) + "\n" for d in ids), encoding="utf-8")
    return path


def test_cli_match_and_new_only(gold_set, tmp_path, monkeypatch):
    results = _results_file(gold_set, tmp_path, [RELEASE])
    out = tmp_path / "matches.jsonl"
    args = ["match", str(results), "--list", str(SAMPLE), "--index-dir", str(tmp_path / "idx")]
    outcome = runner.invoke(app, [*args, "--out", str(out)])
    assert outcome.exit_code == 0, outcome.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 26  # distinct targets: Zakir, Tuniyaz and Ahmed are in two actions each
    zakir = next(r for r in rows if r["name"] == "Shohrat Zakir")
    assert zakir["status"] == "listed" and zakir["entry"]["entry_id"] == "ofac-34079"
    assert zakir["actions"] == ["us:impose"] and zakir["article_id"] == RELEASE
    assert "25 listed" in outcome.stderr
    new = runner.invoke(app, [*args, "--new-only", "--out", str(out)])
    assert new.exit_code == 0
    assert [json.loads(line)["name"] for line in out.read_text().splitlines()] == ["SenseTime Group Limited"]
    wrong = runner.invoke(app, ["match", str(results), "--list", str(tmp_path / "none.csv")])
    assert wrong.exit_code == 2 and "no such file" in wrong.stderr


def test_cli_eval_with_list_writes_list_recall(gold_set, tmp_path):
    predictions = _results_file(gold_set, tmp_path, gold_set.ids)
    out_dir = tmp_path / "run"
    outcome = runner.invoke(app, ["eval", "--predictions", str(predictions), "--out", str(out_dir), "--n-boot", "100",
                                  "--list", str(SAMPLE)])
    assert outcome.exit_code == 0, outcome.output
    report = json.loads((out_dir / "list_recall.json").read_text())
    assert report["list"] == "OFAC SDN" and report["recall_listed"] == 1.0
    assert "recall of listed targets: 100.0%" in outcome.stdout
