"""The contract between Wirewatch's processes: every message, the settings, the errors.

This package imports nothing from the rest of the project, and nothing heavy
(no Kafka client): every process and the pure rule engine may import it.
"""

from schemas.alerts import Alert, Evidence
from schemas.article_input import article_id, build_article, canonical_url
from schemas.articles import Article, normalize_line, normalize_text
from schemas.common import Severity, Span, TextField, utcnow
from schemas.dead_letters import DeadLetter
from schemas.deliveries import Delivery
from schemas.detections import (
    Detection,
    EntityMention,
    ExtractedValue,
    FigureChange,
    FigurePoint,
    ScorePart,
)
from schemas.errors import (
    BrokerError,
    ConfigError,
    DeliveryError,
    InvalidRecordError,
    WirewatchError,
)
from schemas.settings import Settings, TopicNames
from schemas.silences import Matcher, Silence

__all__ = [
    "Alert",
    "Article",
    "BrokerError",
    "ConfigError",
    "DeadLetter",
    "Delivery",
    "DeliveryError",
    "Detection",
    "EntityMention",
    "Evidence",
    "ExtractedValue",
    "FigureChange",
    "FigurePoint",
    "InvalidRecordError",
    "Matcher",
    "ScorePart",
    "Settings",
    "Severity",
    "Silence",
    "Span",
    "TextField",
    "TopicNames",
    "WirewatchError",
    "article_id",
    "build_article",
    "canonical_url",
    "normalize_line",
    "normalize_text",
    "utcnow",
]
