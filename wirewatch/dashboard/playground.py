"""The rule playground: which rules fire on a pasted article, and why.

It evaluates with the :class:`~streams.rules.RuleSet` the workers use (the
rule book's current set, gazetteer included), so what the page shows is what
the pipeline would do. An ad-hoc query is compiled as a one-rule set with the
same gazetteer; a malformed one is answered with its column and a caret line,
as ``wirewatch rules check`` prints it.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field

from schemas import Article, Detection, Severity
from schemas.rules import RulePack, RuleSpec
from streams.rules import QuerySyntaxError, RulePackError, RuleSet, parse_query
from streams.rules.matcher import compile_regex
from streams.rules.query import Regex, terms_of

ADHOC_RULE_ID: Final = "playground.query"
MAX_QUERY_CHARS: Final = 10_000


class PlaygroundRequest(BaseModel):
    """What the page posts: an article (title and/or body) and/or an ad-hoc query."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: Annotated[str, Field(max_length=2_000)] = ""
    body: Annotated[str, Field(max_length=1_000_000)] = ""
    language: Annotated[str, Field(min_length=2, max_length=16)] = "en"
    query: Annotated[str, Field(max_length=MAX_QUERY_CHARS)] = ""


def playground_article(request: PlaygroundRequest) -> Article | None:
    """Return the article the request describes, or None when it has no text.

    Without a title, the first line of the body is the title, as for a rule's examples.
    """
    body = request.body.strip()
    title = request.title.strip() or body.split("\n", 1)[0][:2_000]
    if not title:
        return None
    return Article(
        id="playground",
        source="playground",
        title=title,
        body=body,
        language=request.language,
    )


def query_terms(query: str) -> list[str]:
    """Parse ``query`` and compile its regexes; return its terms as written.

    Raises:
        QuerySyntaxError: it does not parse, or RE2 refuses a regex (located at the regex).
    """
    labels = []
    for leaf in terms_of(parse_query(query)):
        if isinstance(leaf, Regex):
            try:
                compile_regex(leaf.pattern)
            except ValueError as exc:
                raise QuerySyntaxError(str(exc), query, leaf.column) from None
            labels.append(f"regex:/{leaf.pattern}/")
        else:
            labels.append(leaf.source)
    return labels


def check_query(query: str, rules: RuleSet) -> tuple[dict[str, Any], RuleSet | None]:
    """Parse and compile an ad-hoc query; return the verdict and its one-rule set (or None).

    The verdict is ``{"ok": true, "terms": [...]}`` or ``{"ok": false, "error":
    ..., "column": n, "caret": "query\\n   ^"}`` (column and caret are None when
    the problem has no single place).
    """
    try:
        labels = query_terms(query)
    except QuerySyntaxError as exc:
        return _problem(exc.message, exc), None
    spec = RuleSpec(
        id=ADHOC_RULE_ID,
        title="Your query",
        category="playground",
        severity=Severity.INFO,
        query=query,
        min_score=0,  # show every match of the query, with its aboutness score
    )
    try:
        adhoc = RuleSet.compile(
            [RulePack(name="playground", rules=(spec,))], gazetteer=rules.gazetteer
        )
    except RulePackError as exc:
        return {"ok": False, "error": "; ".join(exc.problems), "column": None, "caret": None}, None
    return {"ok": True, "terms": labels}, adhoc


def _problem(message: str, located: QuerySyntaxError) -> dict[str, Any]:
    return {"ok": False, "error": message, "column": located.column, "caret": located.caret()}


def _detection_view(detection: Detection, *, adhoc: bool) -> dict[str, Any]:
    view = detection.model_dump(
        mode="json",
        include={
            "rule_id",
            "rule_title",
            "category",
            "severity",
            "tags",
            "spans",
            "snippet",
            "snippet_highlights",
            "values",
            "score",
            "score_parts",
        },
    )
    view["adhoc"] = adhoc
    return view


def run_playground(rules: RuleSet, request: PlaygroundRequest) -> dict[str, Any]:
    """Evaluate the request's article with ``rules`` (and its query, if any); return the JSON.

    Returns:
        ``ruleset_version``; ``article`` (its stored, normalised text: span
        offsets index it) or None; ``query`` (the verdict of :func:`check_query`)
        or None; ``detections`` in rule order, the ad-hoc query's last;
        ``entities`` found in the article, with their spans.
    """
    verdict: dict[str, Any] | None = None
    adhoc: RuleSet | None = None
    if request.query.strip():
        verdict, adhoc = check_query(request.query, rules)
    article = playground_article(request)
    detections: list[dict[str, Any]] = []
    entities: list[dict[str, Any]] = []
    if article is not None:
        detections = [_detection_view(d, adhoc=False) for d in rules.evaluate(article)]
        if adhoc is not None:
            detections += [_detection_view(d, adhoc=True) for d in adhoc.evaluate(article)]
        if rules.gazetteer is not None:
            entities = [m.model_dump(mode="json") for m in rules.gazetteer.mentions(article)]
    return {
        "ruleset_version": rules.version,
        "article": (
            {"title": article.title, "body": article.body, "language": article.language}
            if article is not None
            else None
        ),
        "query": verdict,
        "detections": detections,
        "entities": entities,
    }
