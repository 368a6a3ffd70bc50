"""`--engine ray` on a real two-node Ray cluster whose CPUs are fragmented: two nodes of 1 CPU each.

Each run is bounded in time by a watchdog thread: a run that hangs fails the test instead of
the suite.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from extractor import Extractor, Settings
from extractor.core.errors import ConfigError, ExtractorError

RUN_LIMIT_S = 180.0


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[Any]:
    """A head and a worker node of 1 CPU each (ray.cluster_utils.Cluster), this process connected to it."""
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[ray]')")
    pytest.importorskip("pyarrow", reason="Ray Data needs pyarrow (pip install -e '.[ray]')")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
        yield ray
    finally:
        ray.shutdown()
        cluster.shutdown()


def bounded(run: Any) -> Any:
    """`run()` on a thread, failing the test when it takes longer than RUN_LIMIT_S (a hang)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = run()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(RUN_LIMIT_S)
    assert not thread.is_alive(), f"the run made no end within {RUN_LIMIT_S:g} s (a hang)"
    if "error" in box:
        raise box["error"]
    return box["value"]


def inputs(tmp_path: Path, n: int = 40) -> Path:
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps({"id": f"d{i}", "text": f"Treasury sanctioned Acme {i}."})
                                for i in range(n)) + "\n", encoding="utf-8")
    return source


def test_actors_on_fragmented_cpus_finish_the_job(two_nodes, fake, tmp_path):
    # Before: each actor took 0.25 CPU of a node and the repartition step asked a whole CPU of one:
    # neither node had it, and the run waited for ever at 0/40.
    from extractor.batch.ray_engine import run_ray

    extractor = Extractor(Settings.from_env(model="fake-model", base_url=fake.base_url, api_key="t", cache=False))
    summary = bounded(lambda: run_ray(extractor, [str(inputs(tmp_path))], tmp_path / "out", actors=2,
                                      concurrency=2, batch_size=8))
    assert (summary.succeeded, summary.failed) == (40, 0)
    written = [json.loads(line) for shard in (tmp_path / "out").glob("*.jsonl") for line in shard.open()]
    assert sorted(line["article_id"] for line in written) == sorted(f"d{i}" for i in range(40))


def test_a_cluster_without_room_for_one_actor_says_so(two_nodes, fake, tmp_path):
    from extractor.batch.ray_engine import run_ray

    extractor = Extractor(Settings.from_env(model="fake-model", base_url=fake.base_url, api_key="t", cache=False))
    with pytest.raises(ConfigError, match=r"needs 1.5 CPU on one node, and its nodes have 1, 1 CPU"):
        bounded(lambda: run_ray(extractor, [str(inputs(tmp_path))], tmp_path / "big", actor_cpus=1.5))

    @two_nodes.remote(num_cpus=1)
    class Busy:
        def ready(self) -> bool:
            return True

    holders = [Busy.remote() for _ in range(2)]  # every CPU of the cluster taken by someone else
    try:
        two_nodes.get([holder.ready.remote() for holder in holders], timeout=60)
        with pytest.raises(ExtractorError, match="no extraction actor could start on the Ray cluster within 5 s"):
            bounded(lambda: run_ray(extractor, [str(inputs(tmp_path))], tmp_path / "busy", actor_cpus=1.0,
                                    start_timeout=5))
    finally:
        for holder in holders:
            two_nodes.kill(holder)
