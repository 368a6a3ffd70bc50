"""Documents and a scripted model for the review tests and the screenshot script."""

from __future__ import annotations

import json
from typing import Any

from extractor.testing.fake_openai import completion

TREASURY = (
    "WASHINGTON — The U.S. Department of the Treasury's Office of Foreign Assets Control (OFAC) today "
    "sanctioned Northwind Maritime Ltd, a Dubai-based shipping company, and its director Pavel Sorokin "
    "for transporting Iranian petroleum in violation of U.S. sanctions.\n\n"
    "OFAC also identified the tanker Ocean Star as blocked property in which Northwind Maritime Ltd has an "
    "interest. All property and interests in property of the designated persons that are in the United "
    "States are blocked.\n\n"
    "The vessel's previous owner, Harbor Light Trading, was not designated."
)
EVIL = "Press note. <script>alert(1)</script> The EU froze the assets of <b>Bold Corp</b> on Monday."

ANSWERS: dict[str, dict[str, Any]] = {
    "Northwind": {
        "is_sanctions_news": True,
        "actions": [{
            "authority": "us", "issuer": "Office of Foreign Assets Control (OFAC)", "action": "impose",
            "measures": ["asset_freeze"], "date": "2024-03-05",
            "targets": [
                {"name": "Northwind Maritime Ltd", "entity_type": "company", "country": "ae"},
                {"name": "Harbor Light Trading", "entity_type": "company"},  # wrong: not designated
            ],
            "evidence": ["OFAC) today sanctioned Northwind Maritime Ltd, a Dubai-based shipping company"],
        }],
    },
    "Bold Corp": {
        "is_sanctions_news": True,
        "actions": [{
            "authority": "eu", "action": "impose", "measures": ["asset_freeze"],
            "targets": [{"name": "<b>Bold Corp</b><script>alert(2)</script>", "entity_type": "company"}],
            "evidence": ["The EU froze the assets of <b>Bold Corp</b> on Monday."],
        }],
    },
}


def scripted_reply(body: dict[str, Any]) -> dict[str, Any]:
    """The fake model's answer for whichever test document the prompt holds."""
    user = next((m["content"] for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
    for marker, answer in ANSWERS.items():
        if marker in str(user):
            return completion(json.dumps(answer))
    return completion(json.dumps({"is_sanctions_news": False, "actions": []}))


DOCUMENTS = [
    {"id": "ofac-northwind", "text": TREASURY, "title": "Treasury Sanctions Iranian Oil Shipping Network",
     "published": "2024-03-05", "publisher": "U.S. Department of the Treasury"},
    {"id": "eu-bold", "text": EVIL, "title": "<i>EU</i> note", "published": "2024-04-01"},
]


def login(client: Any, key: str, next_path: str = "/review") -> Any:
    """Log an httpx client in through the form, as a browser does: the form's token, then the key."""
    import re

    form = client.get("/review/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None, form.text[:500]
    return client.post("/review/login", data={"key": key, "next": next_path, "csrf": token.group(1)})
