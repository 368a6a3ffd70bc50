"""The service's prompt registry: names it serves, never paths; one extractor per prompt version."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor.core.settings import Settings
from extractor.service.errors import ApiError
from extractor.service.registry import Registry


@pytest.fixture
def registry() -> Registry:
    return Registry(Settings(model="fake-model", base_url="http://127.0.0.1:9/v1", api_key="k"), prompt=None)


def test_spellings_of_one_version_share_one_extractor(registry: Registry) -> None:
    spellings = [f"sanctions@v{'0' * n}3" for n in range(1000)] + [f"sanctions@{'0' * n}3" for n in range(1000)]
    entries = {id(registry.resolve(s, None)) for s in spellings}
    assert len(entries) == 1 and len(registry) == 1
    latest = max(registry.prompts["sanctions"])
    assert registry.resolve("sanctions", None) is registry.resolve(f" sanctions@v{latest} ", None)


@pytest.mark.parametrize("asked", ["/tmp/p", "../../../../tmp/p@v1", "prompts/sanctions", "sanctions/../x",
                                   "..", "nosuch", "sanctions@v99", "sanctions@vx"])
def test_paths_and_unknown_names_are_refused_without_reading_them(registry: Registry, tmp_path: Path,
                                                                   asked: str) -> None:
    with pytest.raises(ApiError) as caught:
        registry.resolve(asked, None)
    assert caught.value.status == 400 and caught.value.code == "unknown_prompt"
    assert "yaml" not in caught.value.message.lower()
    assert len(registry) == 0


def test_a_prompt_folder_named_by_path_is_never_loaded(registry: Registry, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    source = (Path(__file__).resolve().parents[2] / "prompts" / "sanctions" / "v3.yaml").read_text()
    (folder / "v1.yaml").write_text(source + "\n# SECRET-CONTENT\n")
    relative = "../" * 12 + str(folder).lstrip("/")
    for asked in (str(folder), f"{folder}@v1", relative + "@v1"):
        with pytest.raises(ApiError) as caught:
            registry.resolve(asked, None)
        assert caught.value.code == "unknown_prompt" and "SECRET" not in caught.value.message
    assert len(registry) == 0
