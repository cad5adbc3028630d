"""The workers' app consumes through Wirewatch's transport (the seek fix applies)."""

from __future__ import annotations

from schemas import Settings
from streams.app import create_app
from streams.transport import RewindingTransport


def test_app_consumes_through_the_rewinding_transport(unit_settings: Settings) -> None:
    """create_app installs the transport whose seek rewinds partitions with no committed offset."""
    app = create_app(unit_settings)
    assert isinstance(app.transport, RewindingTransport)
