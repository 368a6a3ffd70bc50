"""The split strategy: focused questions in steps, assembled into one answer."""

from __future__ import annotations

import json

import pytest

from extractor import ExtractionFailed, Extractor, Settings
from extractor.testing.fake_openai import completion


def step_of(body: dict) -> str:
    question = body["messages"][-1]["content"]
    if "is_sanctions_news" in question:
        return "screen"
    return "targets" if "for this action" in question else "actions"


def test_steps_are_asked_and_assembled(fake):
    def answer(body):
        step = step_of(body)
        if step == "screen":
            return completion('{"is_sanctions_news": true}')
        if step == "actions":
            return completion(json.dumps({"actions": [
                {"authority": "us", "action": "impose", "measures": ["asset_freeze"],
                 "evidence": ["Treasury sanctioned Acme Shipping."]},
                {"authority": "eu", "action": "impose", "evidence": ["The EU acted too."]}]}))
        authority = "eu" if '"eu"' in body["messages"][-1]["content"] else "us"
        name = "Beta Bank" if authority == "eu" else "Acme Shipping"
        return completion(json.dumps({"targets": [{"name": name, "entity_type": "company"}],
                                      "target_countries": [], "target_count": None}))

    fake.default = answer
    extractor = Extractor(Settings.from_env(model="m", base_url=fake.base_url, cache=False), prompt="sanctions@v2")
    result = extractor.extract("Treasury sanctioned Acme Shipping. The EU acted too.", article_id="s")
    assert [step_of(b) for b in fake.chat_requests()] == ["screen", "actions", "targets", "targets"]
    assert [(a.authority, [t.name for t in a.targets]) for a in result.actions] == [
        ("us", ["Acme Shipping"]), ("eu", ["Beta Bank"])]
    assert result.meta.attempts == 4 and result.meta.usage.prompt_tokens == 400
    # Every step shares the article prefix, so a local server can reuse its KV cache.
    prefixes = {b["messages"][-1]["content"].split("</article>")[0] for b in fake.chat_requests()}
    assert len(prefixes) == 1


def test_not_sanctions_news_stops_after_screening(fake):
    fake.default = completion('{"is_sanctions_news": false}')
    extractor = Extractor(Settings.from_env(model="m", base_url=fake.base_url, cache=False), prompt="sanctions@v2")
    result = extractor.extract("The council sanctioned a new marathon route.", article_id="n")
    assert result.is_sanctions_news is False and result.actions == []
    assert len(fake.chat_requests()) == 1


def test_step_failure_names_the_step(fake):
    fake.script = [completion('{"is_sanctions_news": true}')]
    fake.default = completion('{"actions": [{"authority": "zz", "action": "impose"}]}')
    settings = Settings.from_env(model="m", base_url=fake.base_url, cache=False, validation_retries=0)
    with pytest.raises(ExtractionFailed, match="step actions"):
        Extractor(settings, prompt="sanctions@v2").extract("text", article_id="f")
