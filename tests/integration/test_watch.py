"""Monitoring end to end: a real server polls a local site whose feed and articles the test changes.

New item → one extraction → one alert to a webhook; the same feed again → nothing; a page
that changes only its sidebar → nothing; a changed text → one new extraction and no second
alert; the server killed mid-poll and restarted → nothing lost, nothing twice; a malformed
feed, a 404, a trickling feed and a 50 MB feed → each source's error recorded while the good
source goes on. Per-source timeouts and byte caps keep the slow cases to a second or two.
Names are scored in a worker process started only when a target has watched names near it,
and the worker ends with a killed server.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from extractor.monitor.delivery import SIGNATURE_HEADER, verify
from extractor.testing.fake_openai import FakeOpenAI
from extractor.testing.feeds import Site, article_html, rss
from extractor.testing.service import Service, fake_model, make_key

WATCH_ARGS = ("--watch-tick", "0.2", "--watch-host-interval", "0")


@dataclass
class Env:
    site: Site
    model: FakeOpenAI
    service: Service
    api: httpx.Client  # an admin's key
    secret: str
    items: list[dict[str, str]]
    keys: dict[str, str]  # a reader's and a reviewer's key

    def client(self, role: str) -> httpx.Client:
        """A client with the key of `role` ("reader" or "reviewer")."""
        return httpx.Client(base_url=self.service.url, headers={"Authorization": f"Bearer {self.keys[role]}"},
                            timeout=30)


def _marker(target: str, date: str = "2024-03-05") -> str:
    return f"[[target={target}|type=person|authority=us|measure=asset_freeze|date={date}]]"


def _text(target: str, extra: str = "") -> str:
    return (f"The Treasury today designated {target} under its sanctions programme.\n\n"
            f"The designation blocks all property of {target} in the United States. {extra} {_marker(target)}")


def wait_for(check: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    """Poll `check` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def match_workers(service: Service) -> list[int]:
    """The server's name-matching worker processes (its multiprocessing children), by pid."""
    assert service.proc is not None
    found = []
    for children in Path(f"/proc/{service.proc.pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):  # a thread or a child that ended meanwhile
            for pid in children.read_text().split():
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
    return found


def running(pid: int) -> bool:
    """True while process `pid` runs (an exited, unreaped one counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def model_calls(model: FakeOpenAI, needle: str) -> int:
    """How many chat requests carried `needle` in their prompt."""
    return sum(1 for body in model.chat_requests() if needle in json.dumps(body))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("watch")
    db_url = f"sqlite:///{tmp / 'service.db'}"
    with Site() as site, fake_model() as model:
        key = make_key(db_url, "watcher")  # an admin
        keys = {role: make_key(db_url, role, role=role) for role in ("reader", "reviewer")}
        service = Service(db_url, model.base_url, tmp, workers=2, extra=WATCH_ARGS).start()
        api = httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        try:
            hook = api.post("/v1/webhooks", json={"url": f"{site.url}/hook"})
            assert hook.status_code == 201, hook.text
            assert api.post("/v1/watchlists", json={"kind": "name", "value": "Junzheng Wang"}).status_code == 201
            yield Env(site, model, service, api, hook.json()["secret"], [], keys)
        finally:
            api.close()
            service.stop()


def publish(env: Env, slug: str, title: str, text: str, *, updated: str = "2024-03-05T09:00:00+00:00",
            sidebar: str = "Most read: nothing today.", **page: Any) -> None:
    """Put an article on the site and list it in the feed."""
    env.site.page(f"/news/{slug}", article_html(title, text, sidebar=sidebar), **page)
    env.items[:] = [i for i in env.items if not i["link"].endswith(f"/news/{slug}")]
    env.items.insert(0, {"title": title, "link": f"{env.site.url}/news/{slug}", "updated": updated})
    env.site.page("/feed.xml", rss(env.items), content_type="application/rss+xml")


def polls(env: Env, count: int = 2) -> None:
    """Wait until the feed has been asked for `count` more times."""
    start = env.site.hits["/feed.xml"]
    wait_for(lambda: env.site.hits["/feed.xml"] >= start + count, f"{count} more polls of the feed")


def alerts(env: Env) -> list[dict[str, Any]]:
    response = env.api.get("/v1/alerts")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_new_item_is_extracted_once_and_alerts_once(env: Env) -> None:
    # Names are scored in a worker process, started only when a target has watched names near it.
    assert match_workers(env.service) == []
    publish(env, "wang", "Treasury designates Wang Junzheng", _text("Wang Junzheng"))
    added = env.api.post("/v1/sources", json={"url": f"{env.site.url}/feed.xml", "name": "treasury", "every": "1s"})
    assert added.status_code == 201, added.text
    posts = wait_for(lambda: env.site.posts, "the webhook delivery")
    assert model_calls(env.model, "target=Wang Junzheng") == 1
    [post] = posts
    assert post["path"] == "/hook"
    assert verify(env.secret, post["body"], post["headers"][SIGNATURE_HEADER.title()]
                  if SIGNATURE_HEADER.title() in post["headers"] else post["headers"][SIGNATURE_HEADER])
    alert = json.loads(post["body"])["alert"]
    assert alert["field"] == "target" and alert["value"] == "Wang Junzheng" and alert["matched"] == "Junzheng Wang"
    assert len(match_workers(env.service)) == 1
    assert "Wang Junzheng" in (alert["evidence"] or "") or alert["evidence"]
    assert len(alerts(env)) == 1

    # The same feed again (conditional GET): nothing.
    polls(env, 3)
    assert model_calls(env.model, "target=Wang Junzheng") == 1
    assert len(env.site.posts) == 1 and len(alerts(env)) == 1
    assert env.site.hits["/news/wang"] == 1


def test_sidebar_change_is_nothing_new(env: Env) -> None:
    publish(env, "wang", "Treasury designates Wang Junzheng", _text("Wang Junzheng"), sidebar="Trending: other things",
            updated="2024-03-05T10:00:00+00:00")
    wait_for(lambda: env.site.hits["/news/wang"] >= 2, "the article fetched again")
    polls(env, 2)
    assert model_calls(env.model, "target=Wang Junzheng") == 1
    assert len(alerts(env)) == 1


def test_changed_text_is_extracted_again_without_a_second_alert(env: Env) -> None:
    publish(env, "wang", "Treasury designates Wang Junzheng", _text("Wang Junzheng", "A correction was added."),
            updated="2024-03-05T11:00:00+00:00")
    wait_for(lambda: model_calls(env.model, "A correction was added") == 1, "the changed text extracted")
    polls(env, 3)
    assert model_calls(env.model, "A correction was added") == 1
    assert len(alerts(env)) == 1 and len(env.site.posts) == 1
    events = env.api.get("/v1/events", params={"target": "Wang Junzheng"}).json()
    assert events["total"] == 1
    event = env.api.get(f"/v1/events/{events['items'][0]['id']}").json()
    assert len(event["documents"]) == 2  # both versions of the article are sources of one event


def test_server_killed_mid_poll_loses_nothing_and_repeats_nothing(env: Env, tmp_path: Path) -> None:
    publish(env, "chen", "Treasury designates Chen Mingguo", _text("Chen Mingguo"), delay=3.0)
    wait_for(lambda: env.site.hits["/news/chen"] >= 1, "the slow article requested")
    [worker] = match_workers(env.service)  # started for Wang Junzheng
    env.service.kill()  # mid-poll: the article is being fetched, nothing of this poll is recorded
    wait_for(lambda: not running(worker), "the matching worker to end with its killed server", timeout=20)
    assert model_calls(env.model, "target=Chen Mingguo") == 0
    env.site.page("/news/chen", article_html("Treasury designates Chen Mingguo", _text("Chen Mingguo")))
    env.service.start()  # on a new port
    headers = dict(env.api.headers)
    env.api.close()
    env.api = httpx.Client(base_url=env.service.url, headers=headers, timeout=30)
    wait_for(lambda: model_calls(env.model, "target=Chen Mingguo") >= 1, "the article extracted after the restart")
    polls(env, 3)
    assert model_calls(env.model, "target=Chen Mingguo") == 1
    documents = env.api.get("/v1/documents", params={"target": "Chen Mingguo"}).json()
    assert documents["total"] == 1
    assert len(alerts(env)) == 1  # Chen Mingguo is not watched; Wang's alert is not repeated
    assert match_workers(env.service) == []  # no watched name near Chen Mingguo: no worker started


def test_failing_sources_record_their_error_and_the_others_go_on(env: Env) -> None:
    site = env.site
    site.page("/bad.xml", "<rss><channel><item><title>broken", content_type="application/rss+xml")
    site.page("/slow.xml", rss([{"title": "x", "link": f"{site.url}/news/x"}]), trickle=30.0,
              content_type="application/rss+xml")
    site.page("/huge.xml", size=50 * 1024 * 1024, content_type="application/rss+xml")
    for name, path, extra in (("malformed", "/bad.xml", {}), ("missing", "/gone.xml", {}),
                              ("trickle", "/slow.xml", {"timeout_s": 1.0}),
                              ("huge", "/huge.xml", {"max_bytes": 1024 * 1024})):
        response = env.api.post("/v1/sources", json={"url": f"{site.url}{path}", "name": name, "every": "1s", **extra})
        assert response.status_code == 201, response.text
    publish(env, "soin", "Treasury designates Dmitry Soin", _text("Dmitry Soin"))

    def errors() -> dict[str, str] | None:
        found = {s["name"]: s for s in env.api.get("/v1/sources").json()["items"]}
        bad = {n: found[n]["last_error"] for n in ("malformed", "missing", "trickle", "huge")}
        return bad if all(bad.values()) else None

    recorded = wait_for(errors, "the four errors recorded")
    assert "HTTP 404" in recorded["missing"]
    assert "within 1 s" in recorded["trickle"]
    assert "1,048,576" in recorded["huge"]
    assert "feed" in recorded["malformed"]
    wait_for(lambda: model_calls(env.model, "target=Dmitry Soin") == 1, "the good source's new article extracted")
    sources = {s["name"]: s for s in env.api.get("/v1/sources").json()["items"]}
    assert sources["treasury"]["last_error"] is None
    assert all(sources[n]["failures"] >= 1 for n in ("malformed", "missing", "trickle", "huge"))


def test_atom_feed_lists_the_alert(env: Env) -> None:
    key = env.api.headers["Authorization"].split(" ", 1)[1]
    response = httpx.get(f"{env.service.url}/feeds/alerts.atom", auth=("reader", key), timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    import feedparser

    feed = feedparser.parse(response.content)
    assert not feed.bozo and len(feed.entries) == 1
    assert "Junzheng Wang" in feed.entries[0].title
    assert httpx.get(f"{env.service.url}/feeds/alerts.atom", timeout=10).status_code == 401


def test_roles_decide_who_changes_what_is_watched(env: Env, tmp_path: Path) -> None:
    names = tmp_path / "names.csv"
    names.write_text("name\nSome One\n")
    feed = {"url": f"{env.site.url}/other.xml", "name": "other"}
    assert env.api.post("/v1/sources", json={**feed, "name": "kept", "every": "1d"}).status_code == 201
    with env.client("reader") as reader, env.client("reviewer") as reviewer:
        # A reader reads everything the monitor shows ...
        for path in ("/v1/sources", "/v1/watchlists", "/v1/events", "/v1/alerts"):
            assert reader.get(path).status_code == 200, path
        assert httpx.get(f"{env.service.url}/feeds/alerts.atom", auth=("any", env.keys["reader"]),
                         timeout=10).status_code == 200
        # ... and changes nothing.
        [watched] = [w for w in reader.get("/v1/watchlists").json()["items"] if w["value"] == "Junzheng Wang"]
        refused = [
            reader.post("/v1/sources", json=feed), reader.delete("/v1/sources/kept"),
            reader.post("/v1/watchlists", json={"kind": "name", "value": "Some One"}),
            reader.delete(f"/v1/watchlists/{watched['id']}"),
            reader.get("/v1/webhooks"), reader.post("/v1/webhooks", json={"url": f"{env.site.url}/other-hook"}),
            reader.delete("/v1/webhooks/1"),
        ]
        assert [r.status_code for r in refused] == [403] * len(refused), [r.text for r in refused]
        assert "reviewer role" in refused[2].json()["error"]["message"]
        # A reviewer keeps the watchlists, but neither sources nor webhooks, nor a file on the server.
        added = reviewer.post("/v1/watchlists", json={"kind": "name", "value": "Some One"})
        assert added.status_code == 201, added.text
        assert reviewer.delete(f"/v1/watchlists/{added.json()['id']}").status_code == 200
        assert reviewer.post("/v1/watchlists", json={"kind": "file", "value": str(names)}).status_code == 403
        assert reviewer.post("/v1/sources", json=feed).status_code == 403
        assert reviewer.delete("/v1/sources/kept").status_code == 403
        assert reviewer.get("/v1/webhooks").status_code == 403
    # Nothing the refused calls asked for happened.
    sources = {s["name"] for s in env.api.get("/v1/sources").json()["items"]}
    assert "kept" in sources and "other" not in sources
    assert env.api.delete("/v1/sources/kept").status_code == 200
    assert [w["value"] for w in env.api.get("/v1/watchlists").json()["items"]] == ["Junzheng Wang"]
    assert [h["url"] for h in env.api.get("/v1/webhooks").json()["items"]] == [f"{env.site.url}/hook"]


def test_feed_passwords_count_toward_the_failed_key_lockout(env: Env) -> None:
    # From an address of its own, so the lockout touches no other test (the server's default: 10 failures).
    with httpx.Client(base_url=env.service.url, timeout=10,
                      transport=httpx.HTTPTransport(local_address="127.0.0.9")) as guesser:
        failed = [guesser.get("/feeds/alerts.atom", auth=("any", f"sx_wrong{i}")) for i in range(10)]
        assert {r.status_code for r in failed} == {401}
        assert failed[0].headers["www-authenticate"].startswith("Basic")
        locked = guesser.get("/feeds/alerts.atom", auth=("any", env.keys["reader"]))
        assert locked.status_code == 429 and "retry-after" in locked.headers


def test_bad_monitoring_requests_are_4xx_json_errors(env: Env) -> None:
    # A file watchlist whose name no file system takes, ids beyond any database integer, dates
    # that are not YYYY-MM-DD: each a clear 4xx, never a 500.
    answer = env.api.post("/v1/watchlists", json={"kind": "file", "value": "n" * 1000})
    assert answer.status_code == 422 and "cannot be read" in answer.json()["error"]["message"], answer.text
    for path in ("/v1/watchlists/99999999999999", "/v1/webhooks/99999999999999"):
        assert env.api.delete(path).status_code == 422, path
    assert env.api.get("/v1/events/99999999999999").status_code == 422
    assert env.api.get("/v1/events/0").status_code == 404
    for query in ("until=0", "since=2024-03-05T00:00:00", "since=2024-02-30"):
        assert env.api.get(f"/v1/events?{query}").status_code == 422, query
    # `since` after `until` is a window with nothing in it, as on /v1/documents.
    empty = env.api.get("/v1/events?since=2024-03-06&until=2024-03-05")
    assert empty.status_code == 200 and empty.json()["total"] == 0
