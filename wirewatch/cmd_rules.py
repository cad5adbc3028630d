"""``wirewatch rules check|test`` and ``wirewatch scan``: rule packs, offline."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from schemas import Settings
from wirewatch.options import pass_settings

if TYPE_CHECKING:
    from rich.console import Console

    from schemas import Article, Detection
    from schemas.rules import RulePack
    from schemas.stories import StoryAssignment
    from streams.rules import RuleSet
    from streams.rules.backtest import CategoryScore, LanguageScore
    from streams.rules.entities import Gazetteer
    from streams.rules.ruleset import ArticleFacts, Verdict
    from streams.series import OfflineSeries

_PACKS_HELP = (
    "A rule pack file or a directory of packs (default: WIREWATCH_RULES_PATH, seeds/rules)."
)


def _console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=not sys.stdout.isatty())


def _gazetteer(settings: Settings) -> Gazetteer | None:
    """The gazetteer at WIREWATCH_GAZETTEER_PATH when that directory exists, else None."""
    from streams.rules import load_gazetteer

    return load_gazetteer(settings.gazetteer_path)


def _load_or_exit(path: Path, settings: Settings) -> list[RulePack]:
    """Load packs within the settings' size limits; on problems print every one and exit 1."""
    from streams.rules import RulePackError, SizeLimits, load_packs

    try:
        return load_packs(path, limits=SizeLimits.from_settings(settings))
    except RulePackError as exc:
        _print_problems(exc.problems)
        raise click.exceptions.Exit(1) from None


def _compile_or_exit(packs: Sequence[RulePack], gazetteer: Gazetteer | None) -> RuleSet:
    from streams.rules import RulePackError, RuleSet

    try:
        return RuleSet.compile(packs, gazetteer=gazetteer)
    except RulePackError as exc:
        _print_problems(exc.problems)
        raise click.exceptions.Exit(1) from None


def _print_problems(problems: Sequence[str]) -> None:
    for problem in problems:
        click.secho(f"error: {problem}", fg="red", err=True)
    count = len(problems)
    click.echo(f"{count} problem{'s' if count != 1 else ''} found", err=True)


@click.group()
def rules() -> None:
    """Check and test rule packs before they go live.

    A pack is a YAML file with a 'rules:' list; see the README for the query
    language (AND, OR, NOT, "phrases", NEAR/n, ONEAR/n, wildcard*, title:(...)).
    """


@rules.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@pass_settings
def rules_check(settings: Settings, path: Path | None) -> None:
    """Validate the rule packs at PATH: YAML, fields, queries, regexes, where conditions.

    Every problem is printed as file:line:column: rule <id>: what is wrong (a
    malformed query also shows a caret under the column). Entity ids unknown to
    the gazetteer are warned about. Exit status 1 when any problem is found.
    """
    path = path or settings.rules_path
    packs = _load_or_exit(path, settings)
    gazetteer = _gazetteer(settings)
    ruleset = _compile_or_exit(packs, gazetteer)
    for pack in packs:
        for rule in pack.rules:
            wanted = (*rule.entities.any, *rule.entities.all, *rule.entities.none)
            unknown = [e for e in wanted if gazetteer is not None and e not in gazetteer]
            if unknown:
                click.secho(
                    f"warning: {pack.source}: rule {rule.id}: entities not in the gazetteer "
                    f"({settings.gazetteer_path}): {', '.join(unknown)}",
                    fg="yellow",
                    err=True,
                )
            elif wanted and gazetteer is None:
                click.secho(
                    f"warning: {pack.source}: rule {rule.id}: needs entities but there is no "
                    f"gazetteer at {settings.gazetteer_path}",
                    fg="yellow",
                    err=True,
                )
    rule_count = sum(len(pack.rules) for pack in packs)
    click.echo(
        f"{rule_count} rules in {len(packs)} packs at {path}: valid (rule set {ruleset.version})"
    )


@rules.command("test")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--failures-only", is_flag=True, help="List only the examples that fail.")
@pass_settings
def rules_test(settings: Settings, path: Path | None, failures_only: bool) -> None:
    """Run every rule's examples (match: and no_match:) and print a pass/fail table.

    An example is matched as an article whose title is its first line and whose
    body is the whole text, with the gazetteer (WIREWATCH_GAZETTEER_PATH) so
    entity requirements and where conditions apply. Exit status 1 when any
    example fails.
    """
    from rich.table import Table

    from streams.rules.examples import run_examples

    path = path or settings.rules_path
    packs = _load_or_exit(path, settings)
    results = run_examples(packs, gazetteer=_gazetteer(settings))
    table = Table(title=f"rule examples in {path}")
    for column in ("result", "rule", "expects", "example"):
        table.add_column(column, overflow="fold" if column == "example" else "ellipsis")
    for result in results:
        if failures_only and result.passed:
            continue
        table.add_row(
            "[green]pass[/]" if result.passed else "[bold red]FAIL[/]",
            result.rule_id,
            "match" if result.expected else "no match",
            _shorten(result.text, 100),
        )
    console = _console()
    console.print(table)
    untested = [
        r.id for p in packs for r in p.rules if not (r.examples.match or r.examples.no_match)
    ]
    if untested:
        console.print(f"[yellow]rules without examples:[/] {', '.join(untested)}")
    failed = sum(not r.passed for r in results)
    console.print(f"{len(results) - failed} passed, {failed} failed, {len(results)} examples")
    if failed:
        raise click.exceptions.Exit(1)


@rules.command("explain")
@click.argument("rule_id", metavar="RULE")
@click.argument("article", metavar="ARTICLE", type=click.Path(exists=True, path_type=str))
@click.option("--id", "article_id", help="The article to explain when ARTICLE holds several.")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path), help=_PACKS_HELP)
@pass_settings
def rules_explain(
    settings: Settings,
    rule_id: str,
    article: str,
    article_id: str | None,
    rules_path: Path | None,
) -> None:
    """Show how rule RULE judges ARTICLE: each test, the evidence, the aboutness score.

    ARTICLE is any input 'wirewatch produce' reads (a .txt page, .jsonl, .json,
    RSS/Atom, '-' for stdin); when it holds several articles, each is explained,
    or only the one given with --id. For every place the rule's terms matched
    (title, summary, a sentence of the body) it prints what that place is
    worth, what it added to the score, and the verdict against the rule's
    min_score. Exit status 2 when the rule or the article is not found.
    """
    from ingest.sources import Accepted, read_articles
    from schemas import ConfigError

    ruleset = _compile_or_exit(
        _load_or_exit(rules_path or settings.rules_path, settings), _gazetteer(settings)
    )
    console = _console()
    shown = 0
    for item in read_articles([article], settings, stdin=sys.stdin.buffer):
        if not isinstance(item, Accepted) or (article_id and item.article.id != article_id):
            continue
        verdict = ruleset.judge(item.article, rule_id)  # ConfigError: an unknown rule
        _print_verdict(console, item.article.id, item.article.title, verdict)
        shown += 1
    if not shown:
        wanted = f"article {article_id!r}" if article_id else "valid article"
        raise ConfigError(f"no {wanted} in {article}")


def _print_verdict(console: Console, article_id: str, title: str, verdict: Verdict) -> None:
    from rich.markup import escape
    from rich.table import Table

    console.print(f"[bold]{verdict.rule_id}[/] on {article_id}: {escape(_shorten(title, 90))}")
    console.print(f"  query: {'matched' if verdict.matched else 'no match'}")
    for name, met in (("entities", verdict.entities_met), ("where", verdict.condition_met)):
        state = "not asked" if met is None else "met" if met else "[red]not met[/]"
        console.print(f"  {name}: {state}")
    if verdict.values:
        figures = ", ".join(escape(f"{v.kind} {v.value} ({v.span.text})") for v in verdict.values)
        console.print(f"  figures: {figures}")
    table = Table(title="aboutness: each further place counts half as much as the one before")
    for column in ("part", "where", "terms", "weight", "counted"):
        table.add_column(column, justify="right" if column in ("weight", "counted") else "left")
    for part in verdict.parts:
        where = "" if part.field is None else part.field.value
        if part.sentence is not None:
            where += f" sentence {part.sentence + 1}"
        table.add_row(
            part.kind,
            where or "-",
            escape(", ".join(part.terms)) or "-",
            f"{part.weight:.2f}",
            f"{part.counted:.3f}",
        )
    if verdict.parts:
        console.print(table)
    outcome = "[green]fires[/]" if verdict.fires else "[red]does not fire[/]"
    relation = ">=" if verdict.score >= verdict.min_score else "<"
    console.print(
        f"  score {verdict.score:.3f} {relation} min_score {verdict.min_score:.2f}: {outcome}\n"
    )


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=str))
@click.option("--rules", "rules_path", type=click.Path(path_type=Path), help=_PACKS_HELP)
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "jsonl"]),
    default="table",
    show_default=True,
    help="table: hits per rule and category; jsonl: one JSON object per detection on stdout.",
)
@click.option(
    "--labels",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='JSON Lines of {"id": ..., "labels": [...]}: report precision, recall and F1 per category.',
)
@click.option(
    "--stories",
    is_flag=True,
    help="Also cluster the articles a rule fired on into stories, as the workers do, and show "
    "each article's story and why it joined it (or why the closest story was refused); "
    "with --format jsonl, one JSON object per clustered article instead of per detection.",
)
@pass_settings
def scan(
    settings: Settings,
    paths: tuple[str, ...],
    rules_path: Path | None,
    output: str,
    labels: Path | None,
    stories: bool,
) -> None:
    """Run the rules offline over the articles in PATH... (a backtest before deploying).

    Reads the same inputs as 'wirewatch produce' (.txt pages, .jsonl, .json,
    RSS/Atom; directories recursively), the teasers a page closes with as
    articles of their own; records that are not valid articles are counted and
    skipped. Change rules (previous(), change_pct_since()) compare each figure
    with the reports read before it, in input order, timed by publication.
    Prints hits per rule and per category; with --labels, precision, recall and
    F1 per category and the missed and false articles, then per language of the
    articles (every category summed, and the F1 of each category in that
    language). With --stories, articles are clustered in the order read, each
    at its publication time (its arrival time when it has none); a page and
    the teasers read on it are never one story.
    """
    from ingest.sources import Accepted, read_articles
    from schemas.languages import UNKNOWN
    from streams.detect import story_request
    from streams.rules.backtest import read_labels, score_categories, score_languages
    from streams.rules.ruleset import ArticleFacts, primary_language
    from streams.series import OfflineSeries
    from streams.stories import Clusterer

    truth = read_labels(labels) if labels else None
    ruleset = _compile_or_exit(
        _load_or_exit(rules_path or settings.rules_path, settings), _gazetteer(settings)
    )
    predicted: dict[str, set[str]] = {}
    titles: dict[str, str] = {}
    languages: dict[str, str] = {}
    rule_hits: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    detections = 0
    teasers = 0
    series = OfflineSeries()
    clusterer = Clusterer.from_settings(
        settings, lambda rule_id: spec.alert if (spec := ruleset.rules.get(rule_id)) else None
    )
    placed: list[tuple[str, StoryAssignment]] = []
    with _scan_progress() as advance:
        for item in read_articles(paths, settings):
            if not isinstance(item, Accepted):
                rejected[item.reason] += 1
                continue
            article = item.article
            teasers += article.kind == "teaser"
            facts = ArticleFacts(article, ruleset.gazetteer)
            found = _judged(ruleset, series, article, facts)
            predicted[article.id] = {d.category for d in found}
            titles[article.id] = article.title
            languages[article.id] = primary_language(article.language) or UNKNOWN
            rule_hits.update(d.rule_id for d in found)
            detections += len(found)
            if stories and found:
                request = story_request(article, found, facts, article.received_at)
                assignment = clusterer.assign(request).assignment
                if assignment is not None:
                    placed.append((item.origin, assignment))
                    if output == "jsonl":
                        click.echo(
                            json.dumps(_story_record(assignment, item.origin), ensure_ascii=False)
                        )
            elif output == "jsonl" and not stories:
                for detection in found:
                    click.echo(
                        json.dumps(_detection_record(detection, item.origin), ensure_ascii=False)
                    )
            advance(len(found))
    console = _console(stderr=output == "jsonl")
    summary = f"{len(predicted)} articles scanned"
    if teasers:
        summary += f" ({teasers} of them teasers)"
    summary += f", {detections} detections"
    if rejected:
        reasons = ", ".join(f"{n} {reason}" for reason, n in rejected.most_common())
        summary += f"; {sum(rejected.values())} records skipped ({reasons})"
    console.print(summary)
    if output == "table":
        _print_hits(console, ruleset, rule_hits, predicted)
        if stories:
            _print_stories(console, placed)
    if truth is not None:
        _print_scores(console, score_categories(predicted, truth), titles)
        _print_languages(console, score_languages(predicted, truth, languages))
        unseen = len(set(truth) - set(predicted))
        if unseen:
            console.print(f"[yellow]{unseen} labelled articles were not in the input[/]")


def _judged(
    ruleset: RuleSet, series: OfflineSeries, article: Article, facts: ArticleFacts
) -> list[Detection]:
    """The detections of ``article``, change rules judged against the series read so far."""
    at = article.published_at or article.received_at
    found = []
    for detection in ruleset.evaluate(article, facts=facts, defer_history=True):
        condition = ruleset.condition(detection.rule_id)
        if condition is None or condition.level is None:
            found.append(detection)
            continue
        passed = series.judge(detection.model_copy(update={"detected_at": at}), condition)
        found.extend(passed[:1])  # once per article, whichever series changed
    return found


@contextmanager
def _scan_progress() -> Iterator[Callable[[int], None]]:
    """Yield ``advance(detections)``: a live progress bar on a terminal, a no-op elsewhere."""
    if not sys.stderr.isatty():
        yield lambda _found: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("articles, {task.fields[detections]} detections"),
        console=_console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("scan", total=None, detections=0)
        totals = {"detections": 0}

        def advance(found: int) -> None:
            totals["detections"] += found
            progress.update(task, advance=1, detections=totals["detections"])

        yield advance


def _detection_record(detection: Detection, origin: str) -> dict[str, object]:
    record = detection.model_dump(
        mode="json",
        include={
            "article_id",
            "article_kind",
            "found_on",
            "rule_id",
            "rule_version",
            "category",
            "severity",
            "title",
            "score",
            "score_parts",
            "spans",
            "snippet",
            "snippet_highlights",
            "entities",
            "values",
            "change",
        },
    )
    record["origin"] = origin
    return record


def _story_record(assignment: StoryAssignment, origin: str) -> dict[str, object]:
    from streams.stories.explain import describe

    features = assignment.features
    return {
        "article_id": features.article_id,
        "origin": origin,
        "title": features.title,
        "source": features.source,
        "story_id": assignment.decision.story_id,
        "why": describe(assignment.decision),
        "decision": assignment.decision.model_dump(mode="json", exclude_defaults=True),
        "copy_of_source": assignment.copy_of_source,
    }


def _print_stories(console: Console, placed: Sequence[tuple[str, StoryAssignment]]) -> None:
    from rich.table import Table

    from streams.stories.explain import describe

    absorbed = {a: d.decision.story_id for _, d in placed for a in d.decision.merged}
    members: dict[str, list[tuple[str, StoryAssignment]]] = {}
    for origin, assignment in placed:
        story = assignment.decision.story_id
        while story in absorbed:
            story = absorbed[story]
        members.setdefault(story, []).append((origin, assignment))
    table = Table(title=f"stories: {len(placed)} articles in {len(members)} stories")
    for column in ("story", "article", "source", "why"):
        table.add_column(column, overflow="fold")
    for story, items in members.items():
        for n, (_, assignment) in enumerate(items):
            features = assignment.features
            table.add_row(
                story if n == 0 else "",
                f"{features.article_id}  {_shorten(features.title, 60)}",
                features.source,
                describe(assignment.decision),
                end_section=n == len(items) - 1,
            )
    console.print(table)


def _print_hits(
    console: Console, ruleset: RuleSet, hits: Counter[str], predicted: dict[str, set[str]]
) -> None:
    from rich.table import Table

    by_rule = Table(title="hits per rule")
    for column in ("rule", "category", "severity", "articles"):
        by_rule.add_column(column, justify="right" if column == "articles" else "left")
    for rule_id, rule in ruleset.rules.items():
        by_rule.add_row(rule_id, rule.category, rule.severity.value, str(hits.get(rule_id, 0)))
    console.print(by_rule)
    categories = Counter(c for found in predicted.values() for c in found)
    by_category = Table(title="hits per category")
    by_category.add_column("category")
    by_category.add_column("articles", justify="right")
    for category in sorted({r.category for r in ruleset.rules.values()} | set(categories)):
        by_category.add_row(category, str(categories.get(category, 0)))
    console.print(by_category)


def _print_scores(
    console: Console, scores: Sequence[CategoryScore], titles: dict[str, str]
) -> None:
    from rich.table import Table

    table = Table(title="against the labels")
    for column in ("category", "TP", "FP", "FN", "precision", "recall", "F1"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for s in scores:
        table.add_row(
            s.category,
            str(s.true_positives),
            str(s.false_positives),
            str(s.false_negatives),
            _ratio(s.precision),
            _ratio(s.recall),
            _ratio(s.f1),
        )
    console.print(table)
    for s in scores:
        for kind, ids in (("missed", s.missed), ("false", s.false)):
            for article_id in ids:
                console.print(
                    f"{kind} {s.category}: {article_id}  {_shorten(titles.get(article_id, ''), 80)}"
                )


def _print_languages(console: Console, scores: Sequence[LanguageScore]) -> None:
    from rich.table import Table

    table = Table(title="per language (every category summed)")
    for column in ("language", "articles", "TP", "FP", "FN", "precision", "recall", "F1"):
        table.add_column(column, justify="left" if column == "language" else "right")
    for s in scores:
        total = s.total
        table.add_row(
            s.language,
            str(s.articles),
            str(total.true_positives),
            str(total.false_positives),
            str(total.false_negatives),
            _ratio(total.precision),
            _ratio(total.recall),
            _ratio(total.f1),
        )
    console.print(table)
    matrix = Table(title="F1 per category and language")
    matrix.add_column("category")
    for s in scores:
        matrix.add_column(s.language, justify="right")
    f1s = {(s.language, c.category): c.f1 for s in scores for c in s.categories}
    for category in sorted({c for _, c in f1s}):
        matrix.add_row(category, *(_ratio(f1s.get((s.language, category))) for s in scores))
    console.print(matrix)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _shorten(text: str, width: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
