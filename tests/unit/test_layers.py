"""The floors hold: no module imports one on a higher floor (scripts/layers.py, also inside functions)."""

from __future__ import annotations

from scripts import layers


def test_no_import_runs_back_up():
    assert layers.violations() == []


def test_the_checker_sees_an_import_inside_a_function(tmp_path, monkeypatch):
    probe = tmp_path / "extractor" / "core"
    probe.mkdir(parents=True)
    (probe / "probe.py").write_text("def late():\n    from ..service import config\n", encoding="utf-8")
    monkeypatch.setattr(layers, "ROOT", tmp_path)
    monkeypatch.setattr(layers, "PACKAGE", tmp_path / "extractor")
    assert layers.violations() == ["extractor.core.probe -> extractor.service (floor 1 -> 5)"]
