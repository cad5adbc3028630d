"""The route tree: which receivers an alert goes to, read from a YAML file.

The shape follows Prometheus Alertmanager: a root route with the default
receiver, child routes tried in order, the first match wins unless it says
``continue: true``; a child inherits the grouping settings it does not set.
``inhibit_rules`` mute alerts while related ones fire (:mod:`alerts.inhibition`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alerts.inhibition import InhibitRule
from alerts.labels import GROUP_LABELS, alert_labels
from schemas import Alert, ConfigError, Severity
from schemas.rules import parse_duration


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class MatchSpec(_Spec):
    """What a route matches. Every given field must hold; a list means any of its values."""

    category: tuple[str, ...] = ()
    rule_id: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    severity: Severity | None = Field(default=None, description="The least severity.")

    @field_validator("category", "rule_id", "tags", "entities", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    def matches(self, alert: Alert) -> bool:
        """Return True if ``alert`` satisfies every condition given."""
        labels = alert_labels(alert)
        checks = (
            (self.category, labels["category"]),
            (self.rule_id, labels["rule_id"]),
            (self.tags, labels["tag"]),
            (self.entities, labels["entity"]),
        )
        if any(wanted and not set(wanted) & have for wanted, have in checks):
            return False
        return self.severity is None or alert.severity.rank >= self.severity.rank


class RateLimit(_Spec):
    """At most ``count`` notifications ``per`` window; beyond that, a digest at the window's end."""

    count: Annotated[int, Field(ge=1)]
    per: timedelta = timedelta(minutes=10)

    @field_validator("per", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)


class ReceiverSpec(_Spec):
    """How a receiver is notified. Its apprise URLs are secrets and come from the settings."""

    template: Literal["slack", "email", "text"] = "text"
    rate_limit: RateLimit | None = None
    digest: Literal["hourly", "daily"] | None = None


class RouteSpec(_Spec):
    """One node of the route tree as written in YAML."""

    receiver: str | None = None
    match: MatchSpec = MatchSpec()
    continue_: bool = Field(default=False, alias="continue")
    group_by: tuple[str, ...] | None = None
    group_wait: timedelta | None = None
    group_interval: timedelta | None = None
    repeat_interval: timedelta | None = None
    routes: tuple[RouteSpec, ...] = ()

    @field_validator("group_wait", "group_interval", "repeat_interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta | None:
        return None if value is None else parse_duration(value)

    @field_validator("group_by")
    @classmethod
    def _known_labels(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None or value == ("...",):
            return value
        unknown = [name for name in value if name not in GROUP_LABELS]
        if unknown:
            raise ValueError(
                f"cannot group by {unknown}; use some of {list(GROUP_LABELS)} or ['...']"
            )
        return value


class RoutesFile(_Spec):
    """The whole routes file: the receivers, the root route and the inhibit rules."""

    receivers: dict[str, ReceiverSpec]
    route: RouteSpec
    inhibit_rules: tuple[InhibitRule, ...] = ()


@dataclass(frozen=True)
class Route:
    """A resolved route: where an alert goes and how it is grouped (durations in seconds)."""

    id: str
    receiver: str
    group_by: tuple[str, ...]
    group_wait: float
    group_interval: float
    repeat_interval: float


_ROOT_DEFAULTS = Route(
    id="root",
    receiver="",
    group_by=("category",),
    group_wait=30.0,
    group_interval=300.0,
    repeat_interval=4 * 3600.0,
)


class RoutingTable:
    """The loaded route tree and receiver options."""

    def __init__(self, spec: RoutesFile, origin: str = "<routes>") -> None:
        if spec.route.receiver is None:
            raise ConfigError(f"{origin}: the root route needs a `receiver:` (the default one)")
        self.spec = spec
        self.receivers: Mapping[str, ReceiverSpec] = spec.receivers
        self.inhibit_rules = spec.inhibit_rules
        self._root = spec.route
        self._check_receivers(spec.route, "route", origin)

    def _check_receivers(self, node: RouteSpec, where: str, origin: str) -> None:
        if node.receiver is not None and node.receiver not in self.receivers:
            raise ConfigError(
                f"{origin}: {where} sends to receiver {node.receiver!r}, which is not declared "
                f"under `receivers:` (declared: {sorted(self.receivers)})"
            )
        for i, child in enumerate(node.routes):
            self._check_receivers(child, f"{where}.routes[{i}]", origin)

    def route(self, alert: Alert) -> list[Route]:
        """Return the routes ``alert`` goes to, in tree order, without duplicate receivers."""
        found = _walk(self._root, alert, _resolve(self._root, _ROOT_DEFAULTS, "root"))
        unique: dict[str, Route] = {}
        for route in found:
            unique.setdefault(route.receiver, route)
        return list(unique.values())


def _resolve(node: RouteSpec, parent: Route, route_id: str) -> Route:
    def seconds(value: timedelta | None, inherited: float) -> float:
        return inherited if value is None else value.total_seconds()

    return Route(
        id=route_id,
        receiver=node.receiver or parent.receiver,
        group_by=node.group_by if node.group_by is not None else parent.group_by,
        group_wait=seconds(node.group_wait, parent.group_wait),
        group_interval=seconds(node.group_interval, parent.group_interval),
        repeat_interval=seconds(node.repeat_interval, parent.repeat_interval),
    )


def _walk(node: RouteSpec, alert: Alert, resolved: Route) -> list[Route]:
    matched: list[Route] = []
    for i, child in enumerate(node.routes):
        if not child.match.matches(alert):
            continue
        matched.extend(_walk(child, alert, _resolve(child, resolved, f"{resolved.id}.{i}")))
        if not child.continue_:
            break
    return matched or [resolved]


def load_routes(path: Path) -> RoutingTable:
    """Read and check a routes file.

    Raises:
        ConfigError: the file is missing, is not YAML, or does not fit the schema.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the routes file {path}: {exc.strerror}. "
            "Set WIREWATCH_ROUTES_PATH (example: seeds/routes.yaml)."
        ) from exc
    return parse_routes(text, str(path))


def parse_routes(text: str, origin: str) -> RoutingTable:
    """Check the text of a routes file (``origin`` names it in errors) and return its table.

    Raises:
        ConfigError: the text is not YAML or does not fit the schema.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from exc
    try:
        spec = RoutesFile.model_validate(data)
    except ValidationError as exc:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        problems = "; ".join(
            f"{_where(root, err['loc'])}{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{origin}: {problems}") from None
    return RoutingTable(spec, origin)


def _where(root: yaml.Node | None, loc: tuple[int | str, ...]) -> str:
    """``line N: `` for the deepest YAML node on the path ``loc`` (a loop, not recursion)."""
    node = root
    line = None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if 0 <= part < len(node.value) else None
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return f"line {line}: " if line is not None else ""
