"""The route tree: matching, continue, inheritance, defaults, and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.routing import RoutesFile, RoutingTable, load_routes
from schemas import ConfigError, EntityMention, Severity
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


def test_missing_routes_file(tmp_path: Path) -> None:
    """A missing routes file says which setting to change."""
    with pytest.raises(ConfigError, match="WIREWATCH_ROUTES_PATH"):
        load_routes(tmp_path / "nope.yaml")
