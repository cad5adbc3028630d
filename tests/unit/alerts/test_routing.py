"""The route tree: matching, continue, inheritance, defaults, and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alerts.routing import RoutesFile, RouteSpec, RoutingTable, load_routes, parse_routes
from schemas import ConfigError, EntityMention, Severity
from streams.rules import load_packs
from tests.unit.alerts.factories import make_alert

TREE = {
    "receivers": {name: {} for name in ("default", "sanctions", "high", "energy", "brent")},
    "route": {
        "receiver": "default",
        "group_wait": "10s",
        "routes": [
            {"match": {"category": "sanctions"}, "receiver": "sanctions", "continue": True},
            {"match": {"severity": "high"}, "receiver": "high", "group_by": ["story_id"]},
            {"match": {"tags": ["market"], "category": ["oil", "gas"]}, "receiver": "energy"},
            {"match": {"entities": ["commodity:brent"]}, "receiver": "brent"},
        ],
    },
}


def table() -> RoutingTable:
    return RoutingTable(RoutesFile.model_validate(TREE))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"category": "sanctions", "severity": Severity.HIGH}, ["sanctions", "high"]),
        ({"category": "sanctions", "severity": Severity.LOW, "entities": ()}, ["sanctions"]),
        ({"category": "politics", "severity": Severity.CRITICAL}, ["high"]),
        ({"category": "oil", "severity": Severity.LOW, "tags": ("market",)}, ["energy"]),
        ({"category": "oil", "severity": Severity.LOW, "tags": ()}, ["brent"]),
        ({"category": "politics", "severity": Severity.INFO, "entities": ()}, ["default"]),
        (
            {
                "category": "politics",
                "severity": Severity.MEDIUM,
                "entities": (EntityMention(id="commodity:brent", kind="c", name="Brent"),),
            },
            ["brent"],
        ),
    ],
)
def test_route_matches(fields: dict[str, object], expected: list[str]) -> None:
    """Alerts go to the first matching route, further ones only after `continue`, else the default."""
    assert [r.receiver for r in table().route(make_alert(**fields))] == expected


def test_children_inherit_grouping() -> None:
    """A child route inherits group_wait from its parent and overrides group_by."""
    (route,) = table().route(make_alert(category="politics", severity=Severity.HIGH))
    assert route.group_wait == 10.0
    assert route.group_by == ("story_id",)
    assert route.id == "root.1"


def test_seed_routes_load() -> None:
    """The committed example routes file is valid."""
    routes = load_routes(Path("seeds/routes.yaml"))
    assert "desk-email" in routes.receivers


def _route_ids(node: RouteSpec, route_id: str) -> list[str]:
    return [route_id] + [
        found
        for i, child in enumerate(node.routes)
        for found in _route_ids(child, f"{route_id}.{i}")
    ]


def test_every_seed_route_and_receiver_gets_alerts_of_the_default_packs() -> None:
    """Each route of seeds/routes.yaml is reached, and each receiver fed, by some default rule."""
    path = Path("seeds/routes.yaml")
    spec = RoutesFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    table = load_routes(path)
    reached: set[str] = set()
    for pack in load_packs(Path("seeds/rules")):
        for rule in pack.rules:
            alert = make_alert(
                rule_id=rule.id, category=rule.category, severity=rule.severity, tags=rule.tags
            )
            for route in table.route(alert):
                # a route reached is the leaf and every route above it
                parts = route.id.split(".")
                reached.update(".".join(parts[:n]) for n in range(1, len(parts) + 1))
                reached.add(route.receiver)
    leaves = [i for i in _route_ids(spec.route, "root") if i != "root"]
    assert set(leaves) <= reached, sorted(set(leaves) - reached)
    assert set(spec.receivers) <= reached, sorted(set(spec.receivers) - reached)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("receivers: {a: {}}\nroute: {receiver: b}\n", "not declared"),
        ("receivers: {a: {}}\nroute: {group_wait: 1s}\n", "root route needs"),
        ("receivers: {a: {}}\nroute: {receiver: a, group_wait: soon}\n", "not a duration"),
        ("receivers: {a: {}}\nroute: {receiver: a, group_by: [colour]}\n", "cannot group by"),
        ("receivers: [\n", "not valid YAML"),
    ],
)
def test_bad_routes_file(tmp_path: Path, text: str, message: str) -> None:
    """A wrong routes file is a ConfigError naming the file and the problem."""
    path = tmp_path / "routes.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_routes(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "located"),
    [
        (
            "receivers: {a: {}}\nroute:\n  receiver: a\n  group_wait: soon\n",
            "line 4: route.group_wait",
        ),
        ("receivers:\n  a: {templat: x}\nroute: {receiver: a}\n", "line 2: receivers.a.templat"),
        (
            "receivers: {a: {}}\nroute:\n  receiver: a\n  routes:\n    - receiver: a\n"
            "      match: {severity: loud}\n",
            "line 6: route.routes.0.match.severity",
        ),
        ("receivers: [\n", "line 2, column 1"),
    ],
)
def test_routes_errors_name_their_line(text: str, located: str) -> None:
    """A schema error says the line of the YAML node at fault, as a YAML error does."""
    with pytest.raises(ConfigError, match=located):
        parse_routes(text, "routes.yaml")


def test_missing_routes_file(tmp_path: Path) -> None:
    """A missing routes file says which setting to change."""
    with pytest.raises(ConfigError, match="WIREWATCH_ROUTES_PATH"):
        load_routes(tmp_path / "nope.yaml")
