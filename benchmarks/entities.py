"""Cost per article of the detection path: language, scan, stems, gazetteer, extractors, ``where``.

The engine scans every article, and runs the gazetteer, the extractors and a
``where`` condition only on articles where some rule's query matched; an
untagged article also has its language identified (in ``build_article``).
The whole path should take under a millisecond of CPU for a 3 KB article
with all seven languages loaded. Two corpora of about 3 KB articles are
built from the seed articles (``seeds/articles.jsonl``, English) and from
the seven-language samples (``seeds/multilingual.jsonl``); each measurement
is the median of several runs over a whole corpus, next to a baseline
measured in the same run that uses the standard library only (``\\w+`` words
of the lower-cased body), so it means the same whatever the engine's code.

Rows, per corpus: identifying the language of an untagged article
(:func:`schemas.languages.identify_language`); the matcher's scan without
and with 20 ``~`` stem terms (keys cached as in a running worker); then,
cumulatively in the order the engine runs them, the gazetteer (aliases of
all seven languages), the extractors on its mentions and a ``where``
condition (they share one folded copy of each field with the scan, see
``streams.rules.words.folded_text``; the cache is cleared before every
article so folding is counted once, as in the engine); then, each measured
as one step for one article at a time, the worker's path (scan with the
``~`` terms, gazetteer, extractors, condition) and the whole path (language
identification too, which runs where the article is validated, usually the
producer). Measured as one step, a path costs more than the sum of its
rows: what one step reads (automata, dictionaries, the language model)
evicts the others from the CPU caches.

Run: ``python benchmarks/entities.py [--runs 7]``. Prints a table and writes
``benchmarks/results/entities.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from schemas import Article
from schemas.languages import identify_language, sample_of
from streams.rules.conditions import compile_condition
from streams.rules.entities import Gazetteer
from streams.rules.matcher import Matcher
from streams.rules.numbers import extract_values
from streams.rules.query import parse_query
from streams.rules.words import folded_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "entities.json"
TARGET_BYTES = 3_000
WORDS = re.compile(r"\w+")
"""A word: the baseline's whole job."""
TARGET_MICROSECONDS = 1_000


STEM_QUERY = " OR ".join(
    "~" + word
    for word in (
        "negotiation", "Verhandlung", "négociation", "negociación", "rozmowa", "переговоры",
        "переговори", "київ", "Киев", "Kijów", "Kiew", "offensive", "ofensiva", "наступ",
        "наступление", "sanction", "Sanktion", "sankcja", "санкция", "санкція",
    )
)  # fmt: skip


def corpus(name: str = "articles.jsonl") -> list[Article]:
    """Articles of about 3 KB built from the titles and bodies of a seeds file."""
    records = [json.loads(line) for line in (ROOT / "seeds" / name).open()]
    articles = []
    for start, record in enumerate(records):
        parts: list[str] = []
        index = start
        while len("\n".join(parts).encode()) < TARGET_BYTES:
            parts.append(records[index % len(records)]["body"])
            index += 1
        body = "\n".join(parts).encode()[:TARGET_BYTES].decode(errors="ignore")
        articles.append(
            Article(
                id=f"b{start}",
                source="bench",
                title=record["title"],
                body=body,
                language=record.get("language", "en"),
            )
        )
    return articles


def per_article(articles: list[Article], step: Callable[[Article], object], runs: int) -> float:
    """Median over ``runs`` of the mean CPU time of ``step`` per article, in microseconds.

    CPU time of this process, not wall time: on a machine shared with other
    jobs, waiting for a core is not the code's cost.
    """
    times = []
    for _ in range(runs):
        began = time.process_time()
        for article in articles:
            step(article)
        times.append((time.process_time() - began) / len(articles) * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7, help="repeats; the median is reported")
    args = parser.parse_args()

    gazetteer = Gazetteer.load(ROOT / "seeds" / "entities")
    condition = compile_condition(
        "commodity is not null and (abs(change_pct) >= 2 or extreme is not null)"
    )
    articles = corpus()
    multilingual = corpus("multilingual.jsonl")
    stems = Matcher.build([parse_query(STEM_QUERY)])
    no_stems = Matcher.build([parse_query("zzzunmatched")])

    def cold(step: Callable[[Article], object]) -> Callable[[Article], object]:
        def run(article: Article) -> object:
            folded_text.cache_clear()
            return step(article)

        return run

    def facts(article: Article) -> bool:
        return condition.matches(extract_values(article, gazetteer.mentions(article)))

    def identify(article: Article) -> object:
        return identify_language(sample_of(article.title, article.summary, article.body))

    def worker_path(article: Article) -> object:
        stems.scan(article)
        return facts(article)

    def whole_path(article: Article) -> object:
        identify(article)
        return worker_path(article)

    steps: dict[str, Callable[[Article], object]] = {
        "identify_language (untagged)": identify,
        "scan, no ~ terms": no_stems.scan,
        "scan with 20 ~ terms": stems.scan,
        "gazetteer.mentions": cold(gazetteer.mentions),
        "+ extract_values": cold(lambda a: extract_values(a, gazetteer.mentions(a))),
        "+ condition.matches": cold(facts),
        "worker path (scan with ~, facts)": cold(worker_path),
        "whole path (all of the above)": cold(whole_path),
    }
    identify(articles[0])  # the model loads once per process: not a per-article cost
    rows = {
        "baseline: \\w+ words of body.lower()": per_article(
            articles, lambda a: WORDS.findall(a.body.lower()), args.runs
        )
    }
    for corpus_name, texts in (("en", articles), ("7 languages", multilingual)):
        for text in texts:
            stems.scan(text)  # warm the stem caches, as a running worker has them
        for name, step in steps.items():
            rows[f"{corpus_name}: {name}"] = per_article(texts, step, args.runs)
    baseline = rows["baseline: \\w+ words of body.lower()"]
    size = statistics.mean(len(a.body.encode()) + len(a.title.encode()) for a in articles)
    print(
        f"{len(articles)} + {len(multilingual)} articles of {size:.0f} bytes, "
        f"{len(gazetteer)} entities, median of {args.runs} runs"
    )
    print(f"{'step':48} {'CPU us/article':>15} {'x baseline':>11}")
    for name, micros in rows.items():
        print(f"{name:48} {micros:15.1f} {micros / baseline:11.2f}")
    met = {}
    for corpus_name in ("en", "7 languages"):
        whole = rows[f"{corpus_name}: whole path (all of the above)"]
        met[corpus_name] = whole < TARGET_MICROSECONDS
        print(
            f"target {corpus_name}: whole path {whole:.0f} us/article "
            f"(under {TARGET_MICROSECONDS}): {'met' if met[corpus_name] else 'NOT met'}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "articles": len(articles),
                "bytes_per_article": round(size),
                "entities": len(gazetteer),
                "runs": args.runs,
                "load_average": os.getloadavg()[0],
                "cpu_microseconds_per_article": {k: round(v, 1) for k, v in rows.items()},
                "whole_path_under_1ms": met,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
