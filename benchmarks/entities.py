"""Cost per article of the gazetteer, the numeric extractors and a ``where`` condition.

The engine runs these only on articles where some rule's query matched, but
they should still take well under a millisecond for a 3 KB article. The
corpus is made of the project's seed articles (``seeds/articles.jsonl``),
joined into bodies of about 3 KB; each measurement is the median of several
runs over the whole corpus, next to a baseline measured in the same run:
splitting the folded text into words with one regular expression (``words(fold())``).

The rows are cumulative, in the order the engine runs them: the gazetteer,
then the extractors on its mentions, then a ``where`` condition. Two more
rows measure what languages add: identifying the language of an untagged
article (:func:`schemas.languages.identify_language`, which ``build_article``
runs once per article), and the stem index of the ``~`` operator (20 stem
terms, keys cached as in a running worker). A second corpus of the same size
is built from the seven-language samples (``seeds/multilingual.jsonl``); the
gazetteer holds the aliases of all seven languages. The
gazetteer and the extractors share one folded copy of each field (see
``streams.rules.entities.folded_text``); the cache is cleared before every
article so folding is counted once, as in the engine.

Run: ``python benchmarks/entities.py [--runs 7]``. Prints a table and writes
``benchmarks/results/entities.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from schemas import Article
from schemas.languages import identify_language, sample_of
from streams.rules.conditions import compile_condition
from streams.rules.entities import Gazetteer, folded_text
from streams.rules.matcher import Matcher
from streams.rules.numbers import extract_values
from streams.rules.query import parse_query
from streams.rules.text import fold

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "entities.json"
TARGET_BYTES = 3_000
WORDS = re.compile(r"\w+(?:['’]\w+)*")
"""A word, with inner apostrophes: the baseline's whole job."""


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

    def cold(step: Callable[[Article], object]) -> Callable[[Article], object]:
        def run(article: Article) -> object:
            folded_text.cache_clear()
            return step(article)

        return run

    def everything(article: Article) -> bool:
        values = extract_values(article, gazetteer.mentions(article))
        return condition.matches(values)

    def gazetteer_and_numbers(article: Article) -> object:
        return extract_values(article, gazetteer.mentions(article))

    def identify(article: Article) -> object:
        return identify_language(sample_of(article.title, article.summary, article.body))

    def scan_without_stems(article: Article) -> object:
        return no_stems.scan(article)

    no_stems = Matcher.build([parse_query("zzzunmatched")])
    steps: dict[str, Callable[[Article], object]] = {
        "baseline: words(fold(text))": cold(lambda a: WORDS.findall(fold(a.body))),
        "gazetteer.mentions": cold(gazetteer.mentions),
        "+ extract_values": cold(gazetteer_and_numbers),
        "+ condition.matches (all three)": cold(everything),
        "identify_language (untagged)": identify,
        "scan, no ~ terms": scan_without_stems,
        "scan with 20 ~ terms": stems.scan,
    }
    identify(articles[0])  # the model loads once per process: not a per-article cost
    rows = {}
    for corpus_name, texts in (("en", articles), ("7 languages", multilingual)):
        for name, step in steps.items():
            stems.scan(texts[0])  # warm the stem caches, as a running worker has them
            rows[f"{corpus_name}: {name}"] = per_article(texts, step, args.runs)
    baseline = rows["en: baseline: words(fold(text))"]
    size = statistics.mean(len(a.body.encode()) + len(a.title.encode()) for a in articles)
    print(
        f"{len(articles)} articles of {size:.0f} bytes, {len(gazetteer)} entities, median of {args.runs} runs"
    )
    print(f"{'step':48} {'CPU us/article':>15} {'x baseline':>11}")
    for name, micros in rows.items():
        print(f"{name:48} {micros:15.1f} {micros / baseline:11.2f}")
    for corpus_name in ("en", "7 languages"):
        path = (
            sum(
                rows[f"{corpus_name}: {name}"]
                for name in ("condition.matches (all three)", "identify_language (untagged)")
                if f"{corpus_name}: {name}" in rows
            )
            + rows[f"{corpus_name}: + condition.matches (all three)"]
        )
        stem_cost = (
            rows[f"{corpus_name}: scan with 20 ~ terms"] - rows[f"{corpus_name}: scan, no ~ terms"]
        )
        print(
            f"{corpus_name}: facts + language identification {path:.0f} us/article; "
            f"~ terms add {stem_cost:.0f} us to a scan (target: the whole path under 1000 us)"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "articles": len(articles),
                "bytes_per_article": round(size),
                "entities": len(gazetteer),
                "runs": args.runs,
                "cpu_microseconds_per_article": {k: round(v, 1) for k, v in rows.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
