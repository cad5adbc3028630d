"""Cost of story clustering per article, memory per open story, and bad input, against the old index.

Measured in one run, in CPU time on one core, in process (no Kafka):

(a) features: ``story_features`` of a 3 KB article (terms, numbers, the copy
    sketch, the lead/body split of its entities), the part the detect agent adds;
(b) clustering: ``Clusterer.assign`` per article with 10,000 and 100,000
    stories open in the window, for a mix of probes: further reports of open
    events (they join), new events (they open a story) and wire copies;
(c) the baseline: the near-duplicate index clustering replaced (``StoryIndex``
    of ``streams/stories.py`` at commit d42d6aa, copied below as it was:
    64-hash MinHash sketches of the opening, every entry kept per article),
    sketch plus ``assign`` per article with 10,000 and 100,000 articles indexed;
(d) memory: bytes per open story (tracemalloc while filling), and the old
    index's bytes per indexed article;
(e) bad input, with 100,000 stories open: articles with no entities, with a
    title of no words ("…": an empty one is refused when the record is
    validated), a 1 MB body, 10,000 identical articles, 10,000 distinct articles
    that all mention Russia: the time per article, and the stories they make.

The open stories are synthetic: events drawn from a vocabulary of 50,000
rare words, 2,000 places and people, 80 countries (Russia in a third of
them, as in war news) and numbers; each reported one to four times in
overlapping words. They are opened in the window through ``StoryIndex.apply``
(what every worker does when it reads the stories topic), so filling is fast;
the probes then go through the full ``assign``.

Run: ``python benchmarks/stories.py`` (``--quick``: 2,000 and 10,000 stories).
Prints a table and writes ``benchmarks/results/stories.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import re
import statistics
import time
import tracemalloc
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from schemas import Article, Detection, EntityMention, Severity, Span, TextField
from schemas.rules import AlertPolicy
from schemas.stories import StoryAssignment, StoryDecision, StoryFeatures, StoryRequest
from streams.stories import Clusterer, story_features

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "stories.json"
T0 = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW_S = 72 * 3600
POLICY = AlertPolicy(policy="corroboration", sources=2)
TARGET_MS = 1.0


# --- (c) the baseline: the story index as it was at commit d42d6aa -------------------------------


class OldIndex:
    """``streams.stories.StoryIndex`` at commit d42d6aa (near-duplicates only), trimmed of docs."""

    SHINGLE_WORDS = 4
    SKETCH_SIZE = 64
    SKETCH_CHARS = 1_000
    INDEXED_HASHES = 16
    _WORD = re.compile(r"\w+")

    def __init__(self, window_s: float, threshold: float, max_entries: int) -> None:
        self._window_s = window_s
        self._threshold = threshold
        self._max_entries = max_entries
        self._entries: dict[str, tuple[str, tuple[int, ...], float]] = {}
        self._order: deque[str] = deque()
        self._postings: dict[int, set[str]] = {}
        self._ids: dict[str, int] = {}

    def sketch(self, text: str) -> tuple[int, ...]:
        ids = [
            self._ids.setdefault(w, zlib.crc32(w.encode()))
            for w in self._WORD.findall(text[: self.SKETCH_CHARS].casefold())
        ]
        if not ids:
            return ()
        if len(ids) < self.SHINGLE_WORDS:
            shingles = {hash(tuple(ids))}
        else:
            shingles = set(map(hash, zip(ids, ids[1:], ids[2:], ids[3:], strict=False)))
        return tuple(sorted(shingles)[: self.SKETCH_SIZE])

    @staticmethod
    def similarity(a: tuple[int, ...], b: tuple[int, ...], size: int = 64) -> float:
        if not a or not b:
            return 0.0
        union = sorted(set(a) | set(b))[:size]
        both = set(a) & set(b)
        return sum(1 for h in union if h in both) / len(union)

    def assign(self, article_id: str, sketch: tuple[int, ...], at: float) -> str:
        self._expire(at)
        known = self._entries.get(article_id)
        if known is not None:
            return known[0]
        best: tuple[float, str] | None = None
        found: set[str] = set()
        for h in sketch[: self.INDEXED_HASHES]:
            found |= self._postings.get(h, set())
        for candidate_id in found:
            story_id, candidate, _ = self._entries[candidate_id]
            score = self.similarity(sketch, candidate)
            if score >= self._threshold and (
                best is None or (-score, story_id) < (-best[0], best[1])
            ):
                best = (score, story_id)
        story = best[1] if best else article_id
        self._entries[article_id] = (story, sketch, at)
        self._order.append(article_id)
        for h in sketch[: self.INDEXED_HASHES]:
            self._postings.setdefault(h, set()).add(article_id)
        while len(self._entries) > self._max_entries:
            self._drop(self._order.popleft())
        return story

    def _expire(self, now: float) -> None:
        horizon = now - self._window_s
        while self._order:
            entry = self._entries.get(self._order[0])
            if entry is not None and entry[2] > horizon:
                return
            self._drop(self._order.popleft())

    def _drop(self, article_id: str) -> None:
        entry = self._entries.pop(article_id, None)
        if entry is None:
            return
        for h in entry[1][: self.INDEXED_HASHES]:
            posting = self._postings.get(h)
            if posting is not None:
                posting.discard(article_id)
                if not posting:
                    del self._postings[h]


# --- synthetic news --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """What the reports of one event share."""

    terms: tuple[str, ...]
    entities: tuple[str, ...]
    numbers: tuple[str, ...]
    category: str


class Newsroom:
    """Synthetic events and their reports, reproducible from a seed."""

    COUNTRIES = tuple(f"country:C{n:02d}" for n in range(80))

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        consonants, vowels = "bdfgklmnprstvz", "aeiou"
        words: set[str] = set()
        while len(words) < 52_000:
            words.add(
                "".join(self.rng.choice(consonants) + self.rng.choice(vowels) for _ in range(4))
            )
        vocabulary = sorted(words)
        self.common = vocabulary[:2_000]
        self.rare = vocabulary[2_000:]
        self.places = [f"place:p{n}" for n in range(2_000)]
        self.people = [f"person:q{n}" for n in range(2_000)]
        self.categories = ["airspace", "offensive", "talks", "sanctions", "markets"]

    def country(self) -> str:
        if self.rng.random() < 0.33:
            return "country:RU"
        return self.COUNTRIES[min(79, int(self.rng.expovariate(1 / 12)))]

    def event(self) -> Event:
        rng = self.rng
        return Event(
            terms=tuple(rng.sample(self.rare, 10)),
            entities=(
                self.country(),
                self.country(),
                rng.choice(self.places),
                rng.choice(self.people),
            ),
            numbers=tuple(str(rng.randint(10, 99_999)) for _ in range(3)),
            category=rng.choice(self.categories),
        )

    def report(
        self, event: Event, article_id: str, at: datetime, record_at: datetime
    ) -> StoryFeatures:
        """One report: most of the event's specifics, common words around them."""
        rng = self.rng
        terms = [*rng.sample(event.terms, 7), *rng.sample(self.common, 16)]
        rng.shuffle(terms)
        return StoryFeatures(
            article_id=article_id,
            source=f"outlet-{rng.randrange(400)}",
            language="en",
            event_at=at,
            record_at=record_at,
            sketch=tuple(sorted(rng.getrandbits(62) for _ in range(16))),
            terms=tuple(terms),
            numbers=tuple(rng.sample(event.numbers, 2)),
            entities=tuple(rng.sample(event.entities, 3)),
            body_entities=(self.country(),),
            categories=(event.category,),
        )


def request(features: StoryFeatures) -> StoryRequest:
    """A request with one story-grouped detection, as the detect agent sends it."""
    detection = Detection(
        key=f"{features.article_id}/r@v1",
        article_id=features.article_id,
        story_id=features.article_id,
        source=features.source,
        title="t",
        rule_id="r",
        rule_version="v1",
        rule_title="r",
        category=features.categories[0] if features.categories else "c",
        severity=Severity.HIGH,
        detected_at=features.record_at,
    )
    return StoryRequest(features=features, detections=(detection,))


def clusterer() -> Clusterer:
    """A clusterer with the defaults of the settings, for as many stories as the runs open."""
    return Clusterer(
        window_s=WINDOW_S,
        max_open=1_000_000,
        max_articles=500,
        join_score=0.25,
        copy_similarity=0.5,
        policies=lambda _: POLICY,
    )


def fill(target: Clusterer, room: Newsroom, stories: int) -> list[tuple[Event, datetime]]:
    """Open ``stories`` stories spread over the window (as a follower applies them); return the events."""
    events = []
    for n in range(stories):
        event = room.event()
        at = T0 + timedelta(seconds=WINDOW_S * n / stories)
        features = room.report(event, f"f{n}", at, at)
        target.index.apply(
            StoryAssignment(
                features=features,
                decision=StoryDecision(kind="opened", story_id=features.article_id),
                story_rules=("r",),
            )
        )
        events.append((event, at))
    return events


def probes(
    room: Newsroom, events: list[tuple[Event, datetime]], count: int, run: int
) -> Iterator[StoryRequest]:
    """Reports arriving at the end of the window: half of open events, half of new ones."""
    now = T0 + timedelta(seconds=WINDOW_S)
    for n in range(run * count, (run + 1) * count):
        if n % 2:
            event, at = room.rng.choice(events[-len(events) // 3 :])
        else:
            event, at = room.event(), now
        yield request(room.report(event, f"probe{n}", at + timedelta(hours=1), now))


def timed(steps: Iterator[Callable[[], object]]) -> list[float]:
    """CPU milliseconds of each step (this thread's CPU time: what other processes on the
    machine do does not count, what this one waits for does not either)."""
    times = []
    for step in steps:
        start = time.thread_time_ns()
        step()
        times.append((time.thread_time_ns() - start) / 1e6)
    return times


def summary(times: list[float]) -> dict[str, float]:
    """Median, 99th percentile and mean, in ms."""
    ordered = sorted(times)
    return {
        "median_ms": round(statistics.median(ordered), 4),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 4),
        "mean_ms": round(statistics.fmean(ordered), 4),
    }


# --- measurements ----------------------------------------------------------------------------------


def measure_clustering(stories: int, count: int, runs: int) -> dict[str, Any]:
    """(b): per-article ``assign`` with ``stories`` open; medians of ``runs`` runs of ``count`` probes."""
    room = Newsroom(seed=stories)
    target = clusterer()
    started = time.perf_counter()
    events = fill(target, room, stories)
    fill_s = time.perf_counter() - started
    medians, all_times, kinds = [], [], {"opened": 0, "joined": 0, "copy": 0}
    for run in range(runs):
        batch = list(probes(room, events, count, run))
        gc.collect()
        times = timed(iter([lambda r=r: kinds_of(target.assign(r), kinds) for r in batch]))
        medians.append(statistics.median(times))
        all_times += times
    result = summary(all_times)
    result.update(
        open_stories=len(target.index),
        median_of_run_medians_ms=round(statistics.median(medians), 4),
        fill_s=round(fill_s, 1),
        decisions=kinds,
    )
    return result


def kinds_of(outcome: Any, kinds: dict[str, int]) -> None:
    """Count the decision kinds of the probes."""
    if outcome.assignment is not None:
        kinds[outcome.assignment.decision.kind] += 1


def measure_baseline(entries: int, count: int, runs: int) -> dict[str, Any]:
    """(c): the old index, sketch plus assign per article, with ``entries`` indexed."""
    rng = random.Random(entries)
    words = [f"w{n}" for n in range(50_000)]
    index = OldIndex(WINDOW_S, 0.5, 200_000)
    base = T0.timestamp()

    def text() -> str:
        return " ".join(rng.choices(words, k=170))

    for n in range(entries):
        index.assign(f"f{n}", index.sketch(text()), base + WINDOW_S * n / entries)
    texts = [text() for _ in range(count * runs)]
    times = timed(
        iter(
            [
                lambda n=n, t=t: index.assign(f"probe{n}", index.sketch(t), base + WINDOW_S)
                for n, t in enumerate(texts)
            ]
        )
    )
    return {**summary(times), "entries": len(index._entries)}


def memory_per_story(stories: int) -> dict[str, float]:
    """(d): bytes per open story, and per indexed article in the old index."""
    gc.collect()
    tracemalloc.start()
    target = clusterer()
    before = tracemalloc.get_traced_memory()[0]
    fill(target, Newsroom(seed=7), stories)
    new = (tracemalloc.get_traced_memory()[0] - before) / stories
    tracemalloc.stop()
    rng = random.Random(7)
    words = [f"w{n}" for n in range(50_000)]
    gc.collect()
    tracemalloc.start()
    old = OldIndex(WINDOW_S, 0.5, 200_000)
    texts = [" ".join(rng.choices(words, k=170)) for _ in range(stories)]
    before = tracemalloc.get_traced_memory()[0]
    for n, t in enumerate(texts):
        old.assign(f"f{n}", old.sketch(t), T0.timestamp() + n)
    baseline = (tracemalloc.get_traced_memory()[0] - before) / stories
    tracemalloc.stop()
    return {
        "bytes_per_open_story": round(new),
        "baseline_bytes_per_indexed_article": round(baseline),
    }


def article_of(body: str, title: str = "Drones cross the border overnight") -> Article:
    """An article as the detect agent validated it."""
    return Article(id=f"a{zlib.crc32(body.encode())}", source="bench", title=title, body=body)


def measure_features(runs: int) -> dict[str, Any]:
    """(a): ``story_features`` of 3 KB articles (the story set's articles, repeated to 3 KB)."""
    lines = (ROOT / "tests" / "data" / "stories" / "articles.jsonl").read_text().splitlines()
    bodies = [json.loads(line)["body"] for line in lines]
    articles = [article_of((body + " ") * (3_000 // len(body) + 1)) for body in bodies]
    mentions = (
        EntityMention(
            id="country:RU",
            kind="country",
            name="Russia",
            spans=(Span(field=TextField.BODY, start=0, end=6, text="Russia"),),
        ),
    )
    times = timed(
        iter(
            [
                lambda a=a: story_features(a, (), mentions, (), T0)
                for _ in range(runs)
                for a in articles
            ]
        )
    )
    return summary(times)


def bad_input(stories: int, count: int) -> dict[str, Any]:
    """(e): the bad inputs of the issue, with ``stories`` open."""
    room = Newsroom(seed=99)
    target = clusterer()
    events = fill(target, room, stories)
    now = T0 + timedelta(seconds=WINDOW_S)
    results: dict[str, Any] = {}

    def run(name: str, requests: list[StoryRequest]) -> None:
        opened_before = target.index.seq
        placed: dict[str, int] = {}
        kinds: dict[str, int] = {"opened": 0, "joined": 0, "copy": 0}

        def one(r: StoryRequest) -> None:
            outcome = target.assign(r)
            kinds_of(outcome, kinds)
            if outcome.assignment is not None:
                story = outcome.assignment.decision.story_id
                placed[story] = placed.get(story, 0) + 1

        times = timed(iter([lambda r=r: one(r) for r in requests]))
        results[name] = {
            **summary(times),
            "articles": len(requests),
            "stories_opened": target.index.seq - opened_before,
            "largest_story": max(placed.values()),
            "decisions": kinds,
        }

    event = events[-1][0]
    run(
        "no entities",
        [
            request(
                room.report(event, f"ne{n}", now, now).model_copy(
                    update={"entities": (), "body_entities": ()}
                )
            )
            for n in range(count)
        ],
    )
    # an empty title is refused when the record is validated: "…" has no words at all
    empty_title = article_of("Officials said the talks would resume. " * 40, title="…")
    big = article_of("Russian drones crossed the border near the river at night. " * 17_000)
    for name, article in (("empty title", empty_title), ("1 MB body", big)):
        started = time.perf_counter()
        features = story_features(article, (), (), (), now)
        cost = (time.perf_counter() - started) * 1000
        run(
            name,
            [
                request(features.model_copy(update={"article_id": f"{name}{n}"}))
                for n in range(count)
            ],
        )
        results[name]["features_ms"] = round(cost, 3)
    same = room.report(event, "same", now, now)
    run(
        "10,000 identical",
        [request(same.model_copy(update={"article_id": f"same{n}"})) for n in range(10_000)],
    )
    run(
        "10,000 distinct, all Russia",
        [
            request(
                room.report(room.event(), f"ru{n}", now, now).model_copy(
                    update={"entities": ("country:RU",), "body_entities": ()}
                )
            )
            for n in range(10_000)
        ],
    )
    return results


def main() -> None:
    """Run every measurement, print the table, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 2,000 and 10,000 stories"
    )
    parser.add_argument("--runs", type=int, default=5, help="runs of the probes per size (median)")
    parser.add_argument("--probes", type=int, default=1_000, help="probe articles per run")
    args = parser.parse_args()
    sizes = (2_000, 10_000) if args.quick else (10_000, 100_000)
    results: dict[str, Any] = {"sizes": sizes, "runs": args.runs, "probes": args.probes}
    print("features of a 3 KB article ...", flush=True)
    results["features"] = measure_features(args.runs)
    for size in sizes:
        print(f"clustering with {size:,} open stories ...", flush=True)
        results[f"clustering_{size}"] = measure_clustering(size, args.probes, args.runs)
        print(f"baseline index with {size:,} articles ...", flush=True)
        results[f"baseline_{size}"] = measure_baseline(size, args.probes, args.runs)
    print("memory ...", flush=True)
    results["memory"] = memory_per_story(sizes[0])
    print(f"bad input with {sizes[-1]:,} open stories ...", flush=True)
    results["bad_input"] = bad_input(sizes[-1], 2_000 if not args.quick else 200)

    print()
    print(f"{'CPU time per article':44} {'median ms':>10} {'p99 ms':>9} {'x old':>7}")
    print(
        f"{'story features, 3 KB article':44} {results['features']['median_ms']:10.3f} {results['features']['p99_ms']:9.3f}"
    )
    for size in sizes:
        new, old = results[f"clustering_{size}"], results[f"baseline_{size}"]
        ratio = new["median_ms"] / old["median_ms"] if old["median_ms"] else float("nan")
        print(
            f"{f'clustering, {size:,} stories open':44} {new['median_ms']:10.3f} {new['p99_ms']:9.3f} {ratio:7.2f}"
        )
        print(
            f"{f'old MinHash index, {size:,} articles':44} {old['median_ms']:10.3f} {old['p99_ms']:9.3f}"
        )
    for name, row in results["bad_input"].items():
        print(
            f"{f'bad input: {name}':44} {row['median_ms']:10.3f} {row['p99_ms']:9.3f}"
            f"   {row['stories_opened']} stories opened, largest {row['largest_story']}"
        )
    memory = results["memory"]
    print(
        f"memory: {memory['bytes_per_open_story']:,} bytes per open story "
        f"(old index: {memory['baseline_bytes_per_indexed_article']:,} per indexed article)"
    )
    top = results[f"clustering_{sizes[-1]}"]
    verdict = "met" if top["median_ms"] < TARGET_MS else "NOT met"
    print(f"target: under {TARGET_MS} ms per article with {sizes[-1]:,} stories open: {verdict}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
