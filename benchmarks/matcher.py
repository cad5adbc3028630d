"""Benchmark of the rule engine against a naive per-rule ``re`` baseline.

Generates rule sets of 100, 1,000 and 10,000 realistic rules (a named subject
such as a company, person or place with topic words, NEAR and ONEAR
pairs, phrases, wildcards, field scopes and exclusions) and a corpus of
about 3 KB articles written from the same vocabulary, then measures in the
same run:

(a) the engine: ``RuleSet.evaluate`` end to end (scan, candidate rules,
    Boolean evaluation, explained ``Detection`` objects);
(b) a naive baseline that evaluates each rule's query one by one with Python
    ``re`` (one compiled pattern per term, searched in the lower-cased text);
(c) the engine with the aboutness score stubbed out (no sentence splitting, no
    score parts), so the score's cost is a ratio measured in the same run.

The generated rules have ``min_score: 0``: every match fires, as in the naive
baseline, and every detection is scored and explained.

The baseline is slow, so it runs on a small sample of the articles and its
per-article time is extrapolated; the output says how many it ran.

Run: ``python benchmarks/matcher.py`` (``--quick`` for a smoke run). Prints a
table and writes ``benchmarks/results/matcher.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from schemas import Article
from schemas.rules import RulePack, RuleSpec
from streams.rules import RuleSet, aboutness, load_gazetteer, load_packs
from streams.rules.query import And, Near, Node, Not, Or, Regex, Scoped, Term, parse_query

RESULTS = Path(__file__).parent / "results" / "matcher.json"
SIZES = (100, 1_000, 10_000)

# --- vocabulary -----------------------------------------------------------------------

TOPICS = {
    "energy": "oil crude barrel pipeline refinery gas lng tanker opec output production export "
    "import supply demand storage reserves drilling offshore field shale diesel gasoline fuel "
    "power grid electricity nuclear reactor uranium coal solar wind turbine emissions carbon",
    "markets": "price prices futures index shares stock bond yield inflation rate rates bank "
    "central currency dollar euro yuan rouble trading traders investors market markets rally "
    "slump surge plunge gain loss profit revenue earnings forecast outlook quarter dividend",
    "conflict": "troops forces army military offensive attack strike strikes missile drone "
    "drones artillery shelling frontline front battle brigade soldiers casualties wounded killed "
    "captured advance retreat withdrawal defence defense air airspace navy fleet warship border",
    "diplomacy": "talks negotiations ceasefire truce peace summit minister ministers envoy "
    "ambassador embassy delegation agreement treaty accord mediation sanctions embargo ban "
    "visa assets frozen freeze tariff tariffs trade alliance partner partners statement",
    "politics": "election vote parliament president government opposition coalition party "
    "leader prime cabinet law bill reform protest protests court ruling judge constitution "
    "campaign poll referendum governor mayor council decree policy budget spending deficit",
    "disaster": "earthquake flood floods storm hurricane wildfire fire drought landslide "
    "evacuation rescue victims damage outage collapse explosion blast accident crash spill "
    "leak contamination outbreak epidemic virus vaccine hospital emergency shortage famine",
    "corporate": "merger acquisition takeover deal bid stake ceo chairman board layoffs jobs "
    "plant factory strike union lawsuit fine settlement regulator probe investigation fraud "
    "bankruptcy default debt restructuring recall launch contract order orders shipment",
}
FUNCTION_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "on",
    "for",
    "that",
    "with",
    "as",
    "by",
    "at",
    "from",
    "its",
    "has",
    "was",
    "were",
    "is",
    "are",
    "be",
    "it",
    "said",
    "after",
    "over",
    "but",
    "not",
    "this",
    "will",
    "which",
    "their",
    "about",
    "more",
    "than",
    "into",
    "also",
    "would",
    "could",
    "two",
    "new",
    "last",
    "week",
    "month",
    "year",
    "officials",
    "according",
    "since",
    "while",
    "other",
    "some",
    "up",
    "between",
]
VERBS = [
    "said",
    "reported",
    "announced",
    "confirmed",
    "denied",
    "warned",
    "expected",
    "rose",
    "fell",
    "reached",
    "hit",
    "signed",
    "agreed",
    "rejected",
    "launched",
    "blocked",
    "approved",
    "ordered",
    "raised",
    "cut",
    "extended",
    "suspended",
    "resumed",
]
_SYLLABLES = [
    "ka",
    "ro",
    "mi",
    "ta",
    "ve",
    "lin",
    "dor",
    "sa",
    "ne",
    "vol",
    "ber",
    "gan",
    "tri",
    "os",
    "el",
    "ma",
    "zu",
    "pa",
    "ri",
    "den",
    "sol",
    "var",
    "mon",
    "cal",
    "ter",
    "bra",
    "ni",
    "quel",
    "fen",
    "lo",
    "hart",
    "wick",
    "stan",
    "mor",
    "ville",
    "gard",
    "ton",
    "ley",
    "shaw",
]
_SUFFIXES = ("Group", "Holdings", "Energy", "Bank", "Airlines", "Motors", "Mining", "Capital")


def _names(rng: random.Random, count: int) -> list[str]:
    """Distinct made-up proper names: companies, people and places."""
    names: set[str] = set()
    while len(names) < count:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        kind = rng.random()
        if kind < 0.4:
            names.add(f"{word} {rng.choice(_SUFFIXES)}")
        elif kind < 0.7:
            first = "".join(rng.choice(_SYLLABLES) for _ in range(2)).capitalize()
            names.add(f"{first} {word}")
        else:
            names.add(word)
    return sorted(names)


class Corpus:
    """The generated vocabulary, rules and articles of one benchmark run."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.topics = {name: words.split() for name, words in TOPICS.items()}
        self.topic_words = sorted({w for words in self.topics.values() for w in words})
        # the world's named subjects; rule ``i`` watches ``names[i]``, so a 10,000-rule
        # set covers a quarter of the names articles mention
        self.names = _names(self.rng, 40_000)
        # the long tail of a newsroom's vocabulary: words no rule mentions, Zipf-distributed
        filler = sorted(
            {
                "".join(self.rng.choice(_SYLLABLES) for _ in range(self.rng.randint(2, 4)))
                for _ in range(30_000)
            }
            - set(self.topic_words)
            - {w.lower() for name in self.names for w in name.split()}
        )
        self.filler = filler
        self.filler_weights = list(
            itertools.accumulate(1 / (rank + 10) for rank in range(len(filler)))
        )

    # --- rules ---------------------------------------------------------------------------

    def _pick(self, topic: str, count: int) -> list[str]:
        words = self.rng.sample(self.topics[topic], count)
        out = []
        for word in words:
            roll = self.rng.random()
            if roll < 0.25 and len(word) > 6:
                out.append(word[: self.rng.randint(max(5, len(word) - 3), len(word) - 1)] + "*")
            elif roll < 0.35:
                other = self.rng.choice(self.topics[topic])
                out.append(f'"{word} {other}"')
            else:
                out.append(word)
        return out

    def query(self, index: int) -> str:
        """A realistic query; templates in the proportions analysts use them."""
        rng = self.rng
        topic = rng.choice(sorted(self.topics))
        other = rng.choice(sorted(self.topics))
        name = f'"{self.names[index % len(self.names)]}"'
        alias = f'"{self.names[(index * 7 + 3) % len(self.names)]}"'
        group = " OR ".join(self._pick(topic, rng.randint(2, 5)))
        second = " OR ".join(self._pick(other, rng.randint(2, 4)))
        negative = " OR ".join(self._pick(other, 2))
        # Mostly watchlist rules (a named subject with topic words), as in a large
        # monitoring team's rule set, and 1 in 50 generic topic rules (no subject),
        # which are the expensive kind: their words are frequent.
        roll = index % 50
        if roll < 25:
            return f"{name} AND ({group})"
        if roll < 31:
            return f"({name} OR {alias}) NEAR/10 ({group}) AND NOT ({negative})"
        if roll < 36:
            return f"title:({name} OR {alias}) AND ({group})"
        if roll < 41:
            return f"{name} ONEAR/4 ({group})"
        if roll < 49:
            return f"({group}) NEAR/{rng.randint(3, 8)} ({second}) AND {name}"
        first, last = self._pick(topic, 2), self._pick(other, 2)
        phrase = f"{rng.choice(self.topics[topic])} {rng.choice(self.topics[topic])}"
        return f'("{phrase}" OR {first[0]}) NEAR/3 ({last[0]} OR {last[1]})'

    def rules(self, count: int) -> list[RulePack]:
        """``count`` rules in packs of 100."""
        specs = [
            RuleSpec(
                id=f"rule-{i:05d}",
                title=f"Generated rule {i}",
                category=f"category_{i % 12}",
                severity=("info", "low", "medium", "high", "critical")[i % 5],
                query=self.query(i),
                min_score=0,
            )
            for i in range(count)
        ]
        return [
            RulePack(name=f"pack-{n}", rules=tuple(specs[n : n + 100]))
            for n in range(0, count, 100)
        ]

    # --- articles ------------------------------------------------------------------------

    def _sentence(self, topic: str, names: Sequence[str]) -> str:
        rng = self.rng
        words: list[str] = []
        for _ in range(rng.randint(12, 26)):
            roll = rng.random()
            if roll < 0.45:
                words.append(rng.choice(FUNCTION_WORDS))
            elif roll < 0.75:
                words.extend(rng.choices(self.filler, cum_weights=self.filler_weights))
            elif roll < 0.87:
                words.append(rng.choice(self.topics[topic]))
            elif roll < 0.92:
                words.append(rng.choice(VERBS))
            elif roll < 0.95:
                words.append(rng.choice(self.topic_words))
            elif roll < 0.97 and names:
                words.append(rng.choice(names))
            else:
                words.append(str(rng.randint(2, 2_000)))
        if rng.random() < 0.3:
            # quotes and dashes as news copy has them
            cut = rng.randrange(1, len(words))
            words[cut] = f"“{words[cut]}”" if rng.random() < 0.5 else f"— {words[cut]}"
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def articles(self, count: int, size: int = 3_000) -> list[Article]:
        """``count`` articles of about ``size`` characters, each on one or two topics."""
        out = []
        for n in range(count):
            topics = self.rng.sample(sorted(self.topics), 2)
            names = self.rng.sample(self.names, self.rng.randint(1, 4))
            title = self._sentence(topics[0], names)[:120]
            sentences: list[str] = []
            while sum(len(s) + 1 for s in sentences) < size:
                sentences.append(self._sentence(self.rng.choice(topics), names))
            paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
            out.append(
                Article(id=f"bench-{n}", source="bench", title=title, body="\n\n".join(paragraphs))
            )
        return out


# --- the naive baseline -------------------------------------------------------------------

_TEXT_WORD = re.compile(r"\w+")


Texts = dict[str, str]
"""The lower-cased fields of an article, and ``"*"``: all of them joined."""
Found = list[tuple[int, int]] | bool


def _naive(node: Node) -> Callable[[Texts, str], Found]:
    """Compile a query tree into a function of the lower-cased texts, with Python ``re``."""
    if isinstance(node, Term):
        body = r"\W+".join(re.escape(w) for w in node.words)
        pattern = re.compile(r"\b" + body + (r"\w*" if node.prefix else r"\b"))
        return lambda texts, scope: [m.span() for m in pattern.finditer(texts[scope])]
    if isinstance(node, Regex):
        regex = re.compile(node.pattern)
        return lambda texts, scope: [m.span() for m in regex.finditer(texts[scope])]
    if isinstance(node, Scoped):
        inner, name = _naive(node.operand), node.field
        return lambda texts, scope: inner(texts, name)
    if isinstance(node, Not):
        negated = _naive(node.operand)
        return lambda texts, scope: not negated(texts, scope)
    if isinstance(node, And):
        every = [_naive(op) for op in node.operands]
        return lambda texts, scope: all(op(texts, scope) for op in every)
    if isinstance(node, Or):
        ops = [_naive(op) for op in node.operands]

        def any_of(texts: Texts, scope: str) -> Found:
            spans: list[tuple[int, int]] = []
            for op in ops:
                found = op(texts, scope)
                if found is True:
                    return True
                if isinstance(found, list):
                    spans.extend(found)
            return spans

        return any_of
    assert isinstance(node, Near)
    left, right, distance, ordered = (
        _naive(node.left),
        _naive(node.right),
        node.distance,
        node.ordered,
    )

    def near(texts: Texts, scope: str) -> Found:
        lefts, rights = left(texts, scope), right(texts, scope)
        if not isinstance(lefts, list) or not isinstance(rights, list) or not lefts or not rights:
            return []
        text = texts[scope]
        found = []
        for a in lefts:
            for b in rights:
                first, second = (a, b) if a[1] <= b[0] else (b, a)
                if (ordered and first is not a) or first[1] > second[0]:
                    continue
                if len(_TEXT_WORD.findall(text, first[1], second[0])) <= distance:
                    found.append((first[0], second[1]))
        return found

    return near


NaiveRule = tuple[str, Callable[[Texts, str], Found]]


def naive_ruleset(packs: Sequence[RulePack]) -> list[NaiveRule]:
    """Every rule's query as a Python ``re`` evaluator, to be run one by one."""
    return [(r.id, _naive(parse_query(r.query))) for p in packs for r in p.rules]


def naive_evaluate(rules: Sequence[NaiveRule], article: Article) -> list[str]:
    """Return the ids of the rules whose query matches ``article``."""
    texts = {"title": article.title.lower(), "summary": "", "body": article.body.lower()}
    texts["*"] = f"{texts['title']}\n{texts['body']}"
    return [rule_id for rule_id, matches in rules if matches(texts, "*")]


# --- measuring -----------------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _throughput(run: Callable[[], object], count: int, repeats: int) -> list[float]:
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        rates.append(count / (time.perf_counter() - start))
    return rates


@contextlib.contextmanager
def _scoring_stubbed() -> Iterator[None]:
    """Replace the aboutness score and the sentence splitting it needs with constants."""
    score, starts = aboutness.score, aboutness.sentence_starts
    aboutness.score = lambda *args, **kwargs: (1.0, ())  # type: ignore[assignment]
    aboutness.sentence_starts = lambda text: [0]  # type: ignore[assignment]
    try:
        yield
    finally:
        aboutness.score, aboutness.sentence_starts = score, starts


def _scored_and_unscored(
    ruleset: RuleSet, articles: Sequence[Article], repeats: int
) -> tuple[list[float], list[float]]:
    """Articles per second with and without the aboutness score, runs interleaved.

    Alternating the two runs keeps a change of load on the machine from
    landing on one side of the ratio only.
    """
    scored: list[float] = []
    unscored: list[float] = []
    for _ in range(repeats):
        scored += _throughput(lambda: [ruleset.evaluate(a) for a in articles], len(articles), 1)
        with _scoring_stubbed():
            unscored += _throughput(
                lambda: [ruleset.evaluate(a) for a in articles], len(articles), 1
            )
    return scored, unscored


def default_packs_cost(repeats: int) -> dict[str, object]:
    """CPU per article of the shipped packs and gazetteer on the evaluation set, scored or not.

    The evaluation articles (``tests/data/evaluation``, seven languages) fire
    the default rules about as often as real news does, so the score's cost
    shows here, where the generated rule sets above rarely fire.
    """
    root = Path(__file__).resolve().parents[1]
    ruleset = RuleSet.compile(
        load_packs(root / "seeds" / "rules"), gazetteer=load_gazetteer(root / "seeds" / "entities")
    )
    articles = [
        Article.model_validate(json.loads(line))
        for path in sorted((root / "tests" / "data" / "evaluation" / "articles").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    detections = sum(len(ruleset.evaluate(a)) for a in articles)  # also warms caches

    def cpu_us() -> float:
        start = time.process_time()
        for article in articles:
            ruleset.evaluate(article)
        return (time.process_time() - start) / len(articles) * 1e6

    scored: list[float] = []
    unscored: list[float] = []
    for _ in range(repeats):
        scored.append(cpu_us())
        with _scoring_stubbed():
            unscored.append(cpu_us())
    return {
        "articles": len(articles),
        "mean_chars": round(statistics.mean(len(a.title) + len(a.body) for a in articles)),
        "detections_per_article": round(detections / len(articles), 2),
        "scored_cpu_us_per_article": round(statistics.median(scored), 1),
        "unscored_cpu_us_per_article": round(statistics.median(unscored), 1),
    }


def measure(
    size: int, corpus: Corpus, articles: list[Article], naive_sample: int, repeats: int
) -> dict[str, object]:
    """Measure compile, engine and baseline for one rule-set size."""
    packs = corpus.rules(size)
    gc.collect()
    rss_before = _rss_mb()
    start = time.perf_counter()
    ruleset = RuleSet.compile(packs)
    compile_s = time.perf_counter() - start
    gc.collect()
    rss_after = _rss_mb()
    detections = sum(len(ruleset.evaluate(a)) for a in articles)  # also warms caches
    engine, unscored = _scored_and_unscored(ruleset, articles, repeats)
    naive = naive_ruleset(packs)
    sample = articles[:naive_sample]
    naive_rates = _throughput(
        lambda: [naive_evaluate(naive, a) for a in sample],
        len(sample),
        1 if size >= 10_000 else repeats,
    )
    # the two evaluators must agree on which rules fire (sanity of the comparison)
    agree = sum(
        sorted(d.rule_id for d in ruleset.evaluate(a)) == naive_evaluate(naive, a) for a in sample
    )
    return {
        "rules": size,
        "compile_s": round(compile_s, 3),
        "compile_rss_mb": round(rss_after - rss_before, 1),
        "terms": len(ruleset._matcher.terms),
        "detections_per_article": round(detections / len(articles), 2),
        "engine_articles_per_s": round(statistics.median(engine), 1),
        "engine_runs": [round(r, 1) for r in engine],
        "unscored_articles_per_s": round(statistics.median(unscored), 1),
        "scored_vs_unscored": round(statistics.median(engine) / statistics.median(unscored), 3),
        "naive_articles_per_s": round(statistics.median(naive_rates), 2),
        "naive_sample_articles": len(sample),
        "speedup": round(statistics.median(engine) / statistics.median(naive_rates), 1),
        "naive_agreement": f"{agree}/{len(sample)}",
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2_000, help="articles per engine run")
    parser.add_argument("--repeats", type=int, default=5, help="engine runs per size (median)")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: fewer articles and repeats"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.articles, args.repeats = 300, 2
    corpus = Corpus()
    articles = corpus.articles(args.articles)
    mean_size = statistics.mean(len(a.title) + len(a.body) for a in articles)
    samples = {100: 100, 1_000: 20, 10_000: 4} if not args.quick else {100: 20, 1_000: 5, 10_000: 2}
    results = [measure(size, corpus, articles, samples[size], args.repeats) for size in SIZES]
    packs_cost = default_packs_cost(args.repeats)
    by_size = {r["rules"]: r for r in results}
    eps = {size: float(by_size[size]["engine_articles_per_s"]) for size in SIZES}  # type: ignore[arg-type]
    targets = {
        "10k_rules_articles_per_s>=3000": eps[10_000] >= 3_000,
        "1k_rules_speedup>=100": float(by_size[1_000]["speedup"]) >= 100,  # type: ignore[arg-type]
        "10k_vs_100_throughput>=0.5": eps[10_000] / eps[100] >= 0.5,
        "1k_rules_scored_vs_unscored>=0.75": float(by_size[1_000]["scored_vs_unscored"]) >= 0.75,  # type: ignore[arg-type]
    }
    print(
        f"articles: {len(articles)} of {mean_size:,.0f} characters on average; "
        f"engine: median of {args.repeats} runs; python {platform.python_version()}, {os.cpu_count()} cores"
    )
    header = f"{'rules':>7} {'terms':>6} {'compile s':>9} {'RSS MB':>7} {'det/art':>7} {'engine art/s':>12} {'unscored':>9} {'ratio':>6} {'naive art/s':>11} {'(sample)':>8} {'speedup':>8} {'agree':>7}"
    print(header)
    for r in results:
        print(
            f"{r['rules']:>7,} {r['terms']:>6,} {r['compile_s']:>9} {r['compile_rss_mb']:>7} "
            f"{r['detections_per_article']:>7} {r['engine_articles_per_s']:>12,} "
            f"{r['unscored_articles_per_s']:>9,} {r['scored_vs_unscored']:>6} "
            f"{r['naive_articles_per_s']:>11} {r['naive_sample_articles']:>8} {r['speedup']:>7}x {r['naive_agreement']:>7}"
        )
    print("naive baseline: measured on the sample of articles shown, per-article time extrapolated")
    print("unscored: the engine with the aboutness score stubbed out; ratio: scored / unscored")
    print(
        f"default packs and gazetteer on the evaluation set ({packs_cost['articles']} articles of "
        f"{packs_cost['mean_chars']:,} characters, {packs_cost['detections_per_article']} detections "
        f"each): {packs_cost['scored_cpu_us_per_article']} µs of CPU per article, "
        f"{packs_cost['unscored_cpu_us_per_article']} µs unscored"
    )
    print(f"10k/100 throughput ratio: {eps[10_000] / eps[100]:.2f}")
    for name, ok in targets.items():
        print(f"target {name}: {'met' if ok else 'NOT met'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "results": results,
                "default_packs": packs_cost,
                "targets": targets,
                "mean_article_chars": round(mean_size),
            },
            indent=2,
        )
    )
    print(f"wrote {RESULTS}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
