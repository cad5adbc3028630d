"""structlog configuration: the one place ``structlog.configure`` is called.

JSON lines when stderr is not a terminal (containers, CI, log shippers), a
readable console layout on a terminal. Standard-library loggers (aiokafka,
faust, apprise) are routed through the same processors, so the secret
redaction applies to them too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

Redactor = Callable[[str], str]


def _redact_processor(redactors: Iterable[Redactor]) -> Processor:
    redactors = tuple(redactors)

    def redact(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        for key, value in event_dict.items():
            if isinstance(value, str):
                for redactor in redactors:
                    value = redactor(value)
                event_dict[key] = value
        return event_dict

    return redact


CACHE_LOGGERS = True
"""Bind each logger once, on first use (faster). The test suite turns it off: a logger
cached under one configuration ignores a later one, such as structlog.testing.capture_logs."""


def configure_logging(
    level: str = "INFO", fmt: str = "auto", redactors: Iterable[Redactor] = ()
) -> None:
    """Configure structlog and the standard logging module for this process.

    Args:
        level: ``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``.
        fmt: ``json``, ``console``, or ``auto`` (console on a terminal, else JSON).
        redactors: functions applied to every string value of every event, to
            mask secrets (apprise URLs, passwords) before anything is written.
    """
    console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redact_processor(redactors),
    ]
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=True)
        if console
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=CACHE_LOGGERS,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library chatter below WARNING is noise for users; our own loggers keep `level`.
    for noisy in ("aiokafka", "kafka", "faust", "mode", "apprise", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
