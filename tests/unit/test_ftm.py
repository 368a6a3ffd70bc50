"""FollowTheMoney export: entities built and validated by followthemoney, stable ids, programme ids, CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from followthemoney import model
from followthemoney.cli.util import path_entities
from followthemoney.proxy import EntityProxy
from typer.testing import CliRunner

from extractor.batch.results import failure_line, result_line
from extractor.cli import app
from extractor.core.schema import ArticleExtraction
from extractor.eval.goldset import load_gold_set
from extractor.export import ExportError, to_ftm, validate_entity
from extractor.export.matching import Matcher
from extractor.export.programs import order_numbers, parse_table, program_ids, program_table
from tests.support import DATA, ROOT

# The full list lives in shared/ beside the repository; EXTRACTOR_SDN_FILE points elsewhere.
SDN_FULL = Path(os.environ.get("EXTRACTOR_SDN_FILE") or ROOT.parent / "shared" / "sdn" / "sdn-2024-05-03.csv")
runner = CliRunner()


@pytest.fixture(scope="module")
def gold_set():
    return load_gold_set(ROOT / "evals" / "gold", ROOT / "evals" / "docs")


def _result(gold_set, doc_id: str) -> ArticleExtraction:
    return ArticleExtraction.model_validate(gold_set.gold[doc_id].model_dump(exclude={"notes"}))


def _by_schema(entities: list[EntityProxy]) -> dict[str, list[EntityProxy]]:
    out: dict[str, list[EntityProxy]] = {}
    for entity in entities:
        out.setdefault(entity.schema.name, []).append(entity)
    return out


def kinds_name(sanction: EntityProxy, entities: list[EntityProxy]) -> str:
    return next(e.first("name") for e in entities if e.id == sanction.first("entity"))


def test_release_exports_valid_entities_of_every_kind(gold_set):
    doc_id = "tr-2021-12-10-jy0526"
    document = gold_set.documents[doc_id]
    entities = to_ftm(_result(gold_set, doc_id), document=document)
    kinds = _by_schema(entities)
    assert set(kinds) == {"Article", "Person", "Company", "PublicBody", "Organization", "Sanction", "Documentation"}
    for entity in entities:
        validate_entity(entity)
        entity.schema.validate(entity.to_dict())  # the library's own check passes too
    (article,) = kinds["Article"]
    assert article.first("title") == document.title
    assert article.first("publishedAt") == "2021-12-10"
    assert article.first("sourceUrl") == document.url
    zakir = next(p for p in kinds["Person"] if p.first("name") == "Shohrat Zakir")
    assert zakir.get("alias") == ["Zakir"] and zakir.get("country") == ["cn"]
    assert "Chairman" in zakir.first("position") and zakir.get("topics") == ["sanction"]
    rab = next(b for b in kinds["PublicBody"] if b.first("name") == "Rapid Action Battalion")
    assert rab.get("alias") == ["RAB"]
    # Treasury and State both designated Zakir: one entity, two sanctions, one documentation link.
    zakir_sanctions = [s for s in kinds["Sanction"] if s.first("entity") == zakir.id]
    assert len(zakir_sanctions) == 2
    treasury = next(s for s in zakir_sanctions if s.first("authority") == "Office of Foreign Assets Control")
    # The release designates under four programmes; the text puts Zakir under E.O. 13818 alone.
    assert treasury.get("programId") == ["GLOMAG"]
    assert treasury.get("program") == ["E.O. 13818", "Global Magnitsky Human Rights Accountability Act"]
    printed = gold_set.gold[doc_id].actions[0].issuer
    assert treasury.first("description") == (
        f"Issuer as printed: {printed} · Legal basis of the action not tied to this target by the text or a list "
        "entry: E.O. 13687; E.O. 13722; E.O. 14014")
    assert treasury.first("startDate") == "2021-12-10" and treasury.first("country") == "us"
    assert treasury.first("sourceUrl") == document.url and treasury.first("proof") == article.id
    assert treasury.get("provisions") == ["asset freeze"] and treasury.get("reason")
    state = next(s for s in zakir_sanctions if s.first("authority") == "U.S. Department of State")
    assert state.get("programId") == []  # Section 7031(c) has no OFAC tag: kept as written in `program`
    assert state.get("program") == [gold_set.gold[doc_id].actions[2].legal_basis[0]]
    links = [d for d in kinds["Documentation"] if d.first("entity") == zakir.id]
    assert len(links) == 1 and links[0].first("document") == article.id
    programs = {kinds_name(e, entities): e.get("programId") for e in kinds["Sanction"] if e.get("programId")}
    assert programs["Saw Myint Oo"] == ["BURMA-EO14014"]  # a list item under "... pursuant to E.O. 14014 ...:"
    assert programs["Directorate of Defense Industries"] == ["BURMA-EO14014"]  # named there as "the DDI"
    assert programs["Lu Hezheng"] == ["DPRK3"] and programs["Ri Yong Gil"] == ["DPRK2"]
    assert programs["SenseTime Group Limited"] == ["CMIC-EO13959"]  # its action has one programme
    # Every target of the gold is there exactly once per schema and name.
    names = Counter(e.first("name") for k in ("Person", "Company", "PublicBody", "Organization") for e in kinds[k])
    assert max(names.values()) == 1 and len(names) == 26


def test_vessel_aircraft_other_and_lift(gold_set):
    result = ArticleExtraction.model_validate({
        "article_id": "a1", "is_sanctions_news": True,
        "actions": [
            {"authority": "us", "action": "impose", "legal_basis": ["E.O. 14024"], "date": "2024-02",
             "targets": [{"name": "Sun Ship", "entity_type": "vessel", "country": "pa"},
                         {"name": "EP-GOM", "entity_type": "aircraft"},
                         {"name": "Mixer X", "entity_type": "other", "role": "a crypto mixer"}]},
            {"authority": "eu", "action": "lift", "date": "2024-03-01",
             "targets": [{"name": "Sun Ship", "entity_type": "vessel"}]},
        ],
    })
    kinds = _by_schema(to_ftm(result))
    assert [v.first("name") for v in kinds["Vessel"]] == ["Sun Ship"]
    assert [a.first("name") for a in kinds["Airplane"]] == ["EP-GOM"]
    (other,) = kinds["LegalEntity"]
    assert other.get("description") == ["a crypto mixer"]
    lifted = next(s for s in kinds["Sanction"] if s.first("country") == "eu")
    assert lifted.first("endDate") == "2024-03-01" and lifted.first("status") == "lifted"
    assert lifted.first("authority") == "European Union"
    imposed = next(s for s in kinds["Sanction"] if s.first("country") == "us" and s.first("entity") == other.id)
    assert imposed.get("programId") == ["RUSSIA-EO14024"] and imposed.first("startDate") == "2024-02"


def test_ids_are_stable_and_follow_article_action_and_normalised_name(gold_set):
    result = _result(gold_set, "st-2021-06-02-248182")
    first = [e.id for e in to_ftm(result)]
    again = [e.id for e in to_ftm(_result(gold_set, "st-2021-06-02-248182"))]
    assert first == again and len(set(first)) == len(first)
    # The normalised name decides the target id: case and punctuation do not.
    variant = result.model_copy(deep=True)
    variant.actions[0].targets[0].name = variant.actions[0].targets[0].name.upper() + "."
    target_ids = {e.id for e in to_ftm(result) if e.schema.name == "Person"}
    variant_ids = {e.id for e in to_ftm(variant) if e.schema.name == "Person"}
    assert target_ids == variant_ids
    # Another article id gives other ids.
    other = result.model_copy(update={"article_id": "another"})
    assert not set(first) & {e.id for e in to_ftm(other)}


def test_without_the_text_a_list_entry_ties_programmes_and_the_rest_stay_with_the_action(tmp_path):
    result = ArticleExtraction.model_validate({
        "article_id": "r1", "is_sanctions_news": True,
        "actions": [{"authority": "us", "issuer": "OFAC", "action": "impose",
                     "legal_basis": ["E.O. 13818", "E.O. 14014", "E.O. 13722"],
                     "targets": [{"name": "Saw Myint Oo", "entity_type": "person"},
                                 {"name": "Unlisted Trading", "entity_type": "company"}]}],
    })
    matcher = Matcher.load(DATA / "sdn" / "sdn-sample.csv", index_dir=tmp_path)
    entities = to_ftm(result, listed=matcher.listed_programs)
    sanctions = {kinds_name(e, entities): e for e in entities if e.schema.name == "Sanction"}
    assert sanctions["Saw Myint Oo"].get("programId") == ["BURMA-EO14014"]  # OFAC lists him under it
    assert sanctions["Saw Myint Oo"].get("program") == ["E.O. 14014"]
    assert sanctions["Unlisted Trading"].get("programId") == [] and sanctions["Unlisted Trading"].get("program") == []
    assert "E.O. 13818; E.O. 14014; E.O. 13722" in sanctions["Unlisted Trading"].first("description")
    # Without text or list, a multi-programme action ties nothing to anyone.
    bare = {kinds_name(e, to_ftm(result)): e.get("programId") for e in to_ftm(result) if e.schema.name == "Sanction"}
    assert bare == {"Saw Myint Oo": [], "Unlisted Trading": []}


def test_one_issuing_body_in_any_printed_form_is_one_authority_and_one_sanction(gold_set):
    result = _result(gold_set, "tr-2018-04-26-sm0369")
    ids, authorities = set(), set()
    for printed in ("OFAC", "Treasury's Office of Foreign Assets Control",
                    "U.S. Department of the Treasury’s Office of Foreign Assets Control (OFAC)"):
        variant = result.model_copy(deep=True)
        for action in variant.actions:
            action.issuer = printed
        sanctions = [e for e in to_ftm(variant) if e.schema.name == "Sanction"]
        ids |= {e.id for e in sanctions}
        authorities |= {e.first("authority") for e in sanctions}
    assert authorities == {"Office of Foreign Assets Control"}
    assert len(ids) == len([t for a in result.actions for t in a.targets])


def test_validation_rejects_an_invalid_entity():
    entity = model.make_entity("Person")
    with pytest.raises(ExportError, match="without an id"):
        validate_entity(entity)
    entity.make_id("x")
    with pytest.raises(ExportError, match=r"required propert.*name"):
        validate_entity(entity)


@pytest.mark.parametrize(("text", "expected"), [
    ("E.O. 14024", ["RUSSIA-EO14024"]),
    ("E.O. 13818", ["GLOMAG"]),
    ("Executive Order 13224", ["SDGT"]),
    ("Executive Order (E.O.) 13694, as amended by E.O. 13757", ["CYBER2"]),
    ("E.O.s 13722 and 13810", ["DPRK3", "DPRK4"]),
    ("Global Magnitsky Sanctions Regulations, 31 C.F.R. part 583", ["GLOMAG"]),
    ("Foreign Narcotics Kingpin Designation Act", ["SDNTK"]),
    ("new Executive Order (E.O.)", []),
    ("Section 7031(c) of the FY 2021 Appropriations Act", []),
])
def test_programme_ids(text, expected):
    assert program_ids([text]) == expected


def test_programme_table_names_its_source_and_rejects_bad_rows():
    table = program_table()
    assert "Office of Foreign Assets Control" in table.source or "OFAC" in table.source
    assert order_numbers("Executive Orders 13660, 13661 and 13662") == [13660, 13661, 13662]
    assert program_ids(["E.O. 14024"], authority="eu") == []  # OFAC's tags are for US actions
    from extractor.core.errors import ConfigError

    with pytest.raises(ConfigError, match="both"):
        parse_table({"source": "x", "programs": [{"id": "A", "orders": [1]}, {"id": "B", "orders": [1]}]})


@pytest.mark.skipif(not SDN_FULL.exists(), reason=f"full SDN file not found at {SDN_FULL}")
def test_every_programme_tag_is_on_the_sdn_list():
    import csv

    with SDN_FULL.open(encoding="latin-1") as handle:
        tags = {p.strip() for row in csv.reader(handle) if len(row) > 3 for p in row[3].split("] [")}
    table = program_table()
    used = set(table.by_order.values()) | {program for _, program in table.by_name}
    # CMIC-EO13959 is the tag of OFAC's non-SDN Chinese Military-Industrial Complex list.
    assert used - tags == {"CMIC-EO13959"}


def _results_file(gold_set, tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "results.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for doc_id in ids:
            handle.write(json.dumps(result_line(_result(gold_set, doc_id))) + "\n")
        handle.write(json.dumps(failure_line("broken", RuntimeError("model down"))) + "\n")
    return path


def test_cli_export_loads_with_followthemoneys_reader_and_ftm_validate(gold_set, tmp_path):
    results = _results_file(gold_set, tmp_path, ["tr-2021-12-10-jy0526", "tr-2018-04-26-sm0369"])
    out = tmp_path / "entities.ftm.json"
    outcome = runner.invoke(app, ["export", str(results), "--format", "ftm", "--out", str(out),
                                  "--docs", str(ROOT / "evals" / "docs")])
    assert outcome.exit_code == 0, outcome.output
    assert "1 failed document(s) skipped" in outcome.stderr
    entities = list(path_entities(out, EntityProxy))
    assert len(entities) == len(out.read_text().splitlines()) > 80
    assert {e.schema.name for e in entities} >= {"Article", "Sanction", "Company", "Person"}
    articles = [e for e in entities if e.schema.name == "Article"]
    assert {a.first("sourceUrl") for a in articles} == {gold_set.documents[d].url
                                                        for d in ("tr-2021-12-10-jy0526", "tr-2018-04-26-sm0369")}
    ftm = shutil.which("ftm", path=str(Path(sys.executable).parent))
    assert ftm is not None, "followthemoney's `ftm` command is installed with the package"
    checked = subprocess.run([ftm, "validate", "-i", str(out)], capture_output=True, timeout=120, check=True)
    assert len(checked.stdout.splitlines()) == len(entities)
    merged = subprocess.run([ftm, "aggregate", "-i", str(out)], capture_output=True, timeout=120, check=True)
    assert len(merged.stdout.splitlines()) == len({e.id for e in entities})
    # Re-exporting gives the same ids.
    again = tmp_path / "again.ftm.json"
    runner.invoke(app, ["export", str(results), "--out", str(again), "--docs", str(ROOT / "evals" / "docs")])
    assert [json.loads(x)["id"] for x in again.read_text().splitlines()] == [e.id for e in entities]


def test_cli_export_to_stdout_and_errors(gold_set, tmp_path):
    results = _results_file(gold_set, tmp_path, ["tr-2018-04-26-sm0369"])
    outcome = runner.invoke(app, ["export", str(results)])
    assert outcome.exit_code == 0
    lines = [json.loads(x) for x in outcome.stdout.splitlines()]
    assert {line["schema"] for line in lines} == {"Article", "Company", "Sanction", "Documentation"}
    listed = runner.invoke(app, ["export", str(results), "--list", str(DATA / "sdn" / "sdn-sample.csv")],
                           env={"EXTRACTOR_CACHE_DIR": str(tmp_path / "cache")})
    assert listed.exit_code == 0, listed.output
    assert [json.loads(x)["schema"] for x in listed.stdout.splitlines()] == [line["schema"] for line in lines]
    bad = runner.invoke(app, ["export", str(results), "--format", "csv"])
    assert bad.exit_code == 2 and "unknown format 'csv'" in bad.stderr
    missing = runner.invoke(app, ["export", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr
