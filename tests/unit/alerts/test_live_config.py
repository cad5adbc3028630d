"""The notifier's live configuration: sealed receiver URLs, published routes, personal receivers."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from alerts.live_config import LiveConfig, open_urls, receivers_box, seal
from alerts.routing import parse_routes
from schemas import ConfigError, Settings
from schemas.live_config import RoutesRecord, text_version, watch_tag
from tests.unit.alerts.factories import make_alert

ROUTES = """receivers:
  desk: {template: email}
  sanctions-desk: {template: slack}
route:
  receiver: desk
  group_wait: 30s
  routes:
    - {match: {category: sanctions}, receiver: sanctions-desk}
"""
SECRET = "https://hooks.example.org/T0K3N-secret-path"


@pytest.fixture
def settings(unit_settings: Settings) -> Settings:
    """Settings with a receivers key and the desk receiver's URL."""
    return unit_settings.model_copy(
        update={
            "receivers_key": SecretStr(Fernet.generate_key().decode()),
            "receivers": {
                "desk": [SecretStr("json://desk.example.org/hook")],
                "sanctions-desk": [SecretStr("json://desk.example.org/sanctions")],
            },
        }
    )


def test_urls_sealed_with_the_key_open_with_it_only(settings: Settings) -> None:
    """A sealed URL is not on the record; another key cannot open it, and the error shows no URL."""
    record = seal("desk", [SECRET], receivers_box(settings), "ops")
    assert record.encrypted
    assert SECRET not in record.model_dump_json()
    assert [u.get_secret_value() for u in open_urls(record, receivers_box(settings))] == [SECRET]
    with pytest.raises(ConfigError, match="receiver desk: its URLs do not open") as caught:
        open_urls(record, Fernet(Fernet.generate_key()))
    assert SECRET not in str(caught.value)


def test_no_key_means_no_unencrypted_url_unless_asked(unit_settings: Settings) -> None:
    """Without WIREWATCH_RECEIVERS_KEY, sealing refuses unless plain text is asked for."""
    with pytest.raises(ConfigError, match="unencrypted"):
        seal("desk", [SECRET], None, "ops")
    assert not seal("desk", [SECRET], None, "ops", plaintext=True).encrypted


def test_a_bad_key_is_named(unit_settings: Settings) -> None:
    """A receivers key that is not a Fernet key is a settings error saying how to make one."""
    bad = unit_settings.model_copy(update={"receivers_key": SecretStr("short")})
    with pytest.raises(ConfigError, match="wirewatch receivers key"):
        receivers_box(bad)


def live(settings: Settings) -> LiveConfig:
    """A live configuration whose file default is ROUTES."""
    return LiveConfig(settings, parse_routes(ROUTES, "routes.yaml"))


def test_a_personal_receiver_gets_its_owners_watches_and_the_file_routes_stay(
    settings: Settings,
) -> None:
    """Alerts tagged watch:ana go to ana's receiver and on to the file's child routes they match."""
    config = live(settings)
    record = seal(
        "watch.ana", [SECRET], receivers_box(settings), "ana", owner="ana", template="email"
    )
    config.take_receiver(b"watch.ana", record.model_dump_json().encode())
    built = config.build()
    mine = built.routes.route(make_alert(tags=(watch_tag("ana"),)))
    assert [r.receiver for r in mine] == ["watch.ana", "sanctions-desk"]
    assert mine[0].group_wait == 0
    assert [r.receiver for r in built.routes.route(make_alert())] == ["sanctions-desk"]
    other = make_alert(category="energy")
    assert [r.receiver for r in built.routes.route(other)] == ["desk"]
    assert built.receivers["watch.ana"].spec.template == "email"


def test_published_routes_replace_the_file_and_a_broken_record_is_refused(
    settings: Settings,
) -> None:
    """A routes record is checked like the file; an undeclared receiver or bad bytes are errors."""
    config = live(settings)
    text = ROUTES.replace("group_wait: 30s", "group_wait: 5s")
    record = RoutesRecord(text=text, version=text_version(text), published_by="ops")
    config.take_routes(b"routes", record.model_dump_json().encode())
    assert config.build().routes_origin == f"routes topic, version {record.version}"
    broken = "receivers: {}\nroute: {receiver: nobody}\n"
    config.take_routes(
        b"routes",
        RoutesRecord(text=broken, version="x", published_by="ops").model_dump_json().encode(),
    )
    with pytest.raises(ConfigError, match="nobody"):
        config.build()
    config.take_receiver(b"desk", b"{not json")
    with pytest.raises(ConfigError, match="receiver desk: unreadable record"):
        config.build()


def test_a_receiver_without_urls_anywhere_is_refused(settings: Settings, tmp_path: Path) -> None:
    """Routes naming a receiver that neither the topic nor the settings give a URL do not build."""
    config = live(settings.model_copy(update={"receivers": {}}))
    with pytest.raises(ConfigError, match="no URL configured for receiver"):
        config.build()
