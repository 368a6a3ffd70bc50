"""List matching at scale: 10,000 targets against the full OFAC SDN list.

Targets are drawn (seeded) from the list itself, in three groups: listed names rewritten the
way news prints them ("WANG, Junzheng" → "Junzheng Wang", case changed), near-misses (a listed
person's surname with another listed person's given name) and invented names (three given
of listed people). Prints a table: index build, save and load times, matching time and
throughput, and per group how many came out `listed`.

Run: `.venv/bin/python benchmarks/matching.py [SDN_CSV] [--targets 10000] [--seed 7]`.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from extractor.core.schema import Target
from extractor.export.index import NameIndex, save_index
from extractor.export.lists import load_list
from extractor.export.matching import Matcher, index_file

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LIST = ROOT / ".." / "shared" / "sdn" / "sdn-2024-05-03.csv"
TYPES = {"Person": "person", "Organization": "company", "Vessel": "vessel", "Airplane": "aircraft"}


def make_targets(sanctions_list, count: int, seed: int) -> list[tuple[str, Target]]:  # type: ignore[no-untyped-def]
    """(group, target) pairs: 40% listed, 30% near-miss, 30% invented."""
    rng = random.Random(seed)
    people = [e.entity for e in sanctions_list.entries if e.entity.schema.name == "Person" and e.entity.get("lastName")]
    others = [e.entity for e in sanctions_list.entries if e.entity.schema.name != "Person"]
    listed_names = {name.casefold() for e in sanctions_list.entries for name in e.entity.names}
    targets: list[tuple[str, Target]] = []
    while len(targets) < count * 0.4:
        if rng.random() < 0.6:
            person = rng.choice(people)
            name = f"{person.first('firstName')} {person.first('lastName').title()}"
            targets.append(("listed", Target(name=name, entity_type="person")))
        else:
            entity = rng.choice(others)
            target = Target.model_validate({"name": entity.caption.title(), "entity_type": TYPES[entity.schema.name]})
            targets.append(("listed", target))
    while len(targets) < count * 0.7:
        a, b = rng.sample(people, 2)
        given_a, given_b = a.first("firstName"), b.first("firstName")
        if given_a.split()[0].casefold() == given_b.split()[0].casefold():
            continue
        name = f"{given_b} {a.first('lastName').title()}"
        if name.casefold() in listed_names:
            continue
        targets.append(("near-miss", Target(name=name, entity_type="person")))
    tokens = [t for p in people for t in p.first("firstName").split()]
    while len(targets) < count:
        name = " ".join(rng.choice(tokens) for _ in range(3))
        if name.casefold() in listed_names:
            continue
        targets.append(("invented", Target(name=name, entity_type="person")))
    rng.shuffle(targets)
    return targets


class Clock:
    """Wall-clock and CPU time since the last lap (CPU time is what a shared machine cannot inflate)."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        lap = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return lap

    @staticmethod
    def show(lap: tuple[float, float]) -> str:
        return f"{lap[0]:.2f} s wall / {lap[1]:.2f} s CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("list", nargs="?", type=Path, default=DEFAULT_LIST, help="OFAC SDN CSV (default: %(default)s)")
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    import nomenklatura.matching  # noqa: F401  (its import, ~2 s, is not the index's cost)

    rows: list[tuple[str, str]] = []
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        sanctions_list = load_list(args.list)
        index = NameIndex.build(sanctions_list)
        built = clock.lap()
        path = index_file(args.list, index_dir=Path(tmp))
        save_index(index, path)
        saved = clock.lap()
        matcher = Matcher.load(args.list, index_dir=Path(tmp))
        loaded = clock.lap()
        size = path.stat().st_size
    targets = make_targets(sanctions_list, args.targets, args.seed)
    # The first comparison in a process loads rigour's name tables: timed apart, once.
    matcher.match(targets[0][1])
    warmed = clock.lap()
    outcomes = Counter((group, matcher.match(target).status) for group, target in targets)
    wall, cpu = clock.lap()
    groups = Counter(group for group, _ in targets)
    rows += [
        ("list", f"{args.list.name}: {len(sanctions_list.entries):,} entries, {sanctions_list.aliases:,} aliases"),
        ("names indexed", f"{sum(len(e.names) for e in index.entries):,} ({len(index.postings):,} blocking keys)"),
        ("parse + build index", Clock.show(built)),
        ("save index", f"{Clock.show(saved)}, {size / 1e6:.1f} MB"),
        ("load saved index", Clock.show(loaded)),
        ("first comparison (rigour name tables)", Clock.show(warmed)),
        (f"match {len(targets):,} targets", f"{Clock.show((wall, cpu))}; {len(targets) / cpu:,.0f} targets/s, "
                                             f"{cpu / len(targets) * 1000:.2f} ms each (CPU)"),
    ]
    for group in ("listed", "near-miss", "invented"):
        statuses = ", ".join(f"{s} {outcomes[(group, s)]:,}" for s in ("listed", "possible", "not_listed"))
        rows.append((f"{group} ({groups[group]:,})", statuses))
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
