"""Watchlists: a file watchlist's index is saved and read again while the file is unchanged; an
authority is a jurisdiction or an issuing body of the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor.core.errors import ConfigError
from extractor.export.index import NameIndex
from extractor.monitor.watchlists import Watchlist, build_index, normalise_value


def test_a_file_watchlist_index_is_saved_and_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = tmp_path / "names.csv"
    names.write_text("name\nWang Junzheng\nChen Mingguo\n")
    watch = [Watchlist(3, "file", str(names), None)]
    [(owner, matcher)] = build_index(watch).matchers
    assert owner == 3
    built = [entry.entry_id for entry in matcher.index.entries]

    def no_build(cls: type, found: object) -> NameIndex:
        raise AssertionError("the index was built again")

    monkeypatch.setattr(NameIndex, "build", classmethod(no_build))
    [(_, again)] = build_index(watch).matchers  # a restarted server: read from disk
    assert [entry.entry_id for entry in again.index.entries] == built
    names.write_text("name\nOlga Smirnova\n")
    with pytest.raises(AssertionError, match="built again"):  # another content: another index
        build_index(watch)


def test_an_authority_is_a_jurisdiction_or_an_issuing_body_by_its_registry_id() -> None:
    assert normalise_value("authority", "EU") == "eu"
    assert normalise_value("authority", "us-ofac") == "us-ofac"
    assert normalise_value("authority", "OFAC") == "us-ofac"
    assert normalise_value("authority", "Council of the European Union") == "eu-council"
    with pytest.raises(ConfigError, match="nor is it an issuing body"):
        normalise_value("authority", "Ministry of Magic")
    with pytest.raises(ConfigError, match="not a jurisdiction"):
        normalise_value("country", "OFAC")  # a country is a country
