"""Receivers: a name from the routes file, its options, and its secret URLs from the settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from alerts.routing import ReceiverSpec
from schemas import ConfigError, Settings


@dataclass(frozen=True)
class Receiver:
    """A receiver ready to deliver to: its name, options, and URLs (secret)."""

    name: str
    spec: ReceiverSpec
    urls: tuple[SecretStr, ...]


def receiver_urls(settings: Settings) -> dict[str, list[SecretStr]]:
    """Merge ``settings.receivers`` with the secret files of ``settings.receivers_dir``.

    Each file is named after its receiver and holds one URL per line; blank
    lines and ``#`` comments are ignored.
    """
    urls = {name: list(values) for name, values in settings.receivers.items()}
    directory = settings.receivers_dir
    if directory is None:
        return urls
    if not directory.is_dir():
        raise ConfigError(f"WIREWATCH_RECEIVERS_DIR={directory} is not a directory")
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        found = [
            SecretStr(line.strip()) for line in lines if line.strip() and not line.startswith("#")
        ]
        urls.setdefault(path.name, []).extend(found)
    return urls


def resolve_receivers(
    settings: Settings,
    specs: Mapping[str, ReceiverSpec],
    published: Mapping[str, list[SecretStr]] | None = None,
) -> dict[str, Receiver]:
    """Pair every receiver of the routes file with its URLs.

    Args:
        published: URLs from the receivers topic; they replace the settings'
            URLs of the same receiver.

    Raises:
        ConfigError: a receiver has no URL configured.
    """
    urls = {**receiver_urls(settings), **(published or {})}
    missing = [name for name in specs if not urls.get(name)]
    if missing:
        raise ConfigError(
            f"no URL configured for receiver(s) {', '.join(sorted(missing))}: run `wirewatch "
            "receivers set NAME`, set "
            """WIREWATCH_RECEIVERS='{"NAME": ["apprise-url", ...]}' or put a file named after """
            "the receiver in WIREWATCH_RECEIVERS_DIR (one apprise URL per line)"
        )
    return {name: Receiver(name, spec, tuple(urls[name])) for name, spec in specs.items()}
