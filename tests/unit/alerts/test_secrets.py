"""Secret redaction of receiver URLs and settings."""

from __future__ import annotations

import pytest

from alerts.secrets import MASK, make_redactor, settings_secrets, url_secrets
from schemas import Settings


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("json://user:hunter2pass@127.0.0.1:8080/hook", "hunter2pass"),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7", "TIiajkdnlazkcOXrIdevi7"),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7", "T1JJ3T3L2"),
        ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "JHMHI8qBe7bk2ZwO5U711o3dV_js"),
        ("json://host/path?token=abcd1234efgh", "abcd1234efgh"),
        ("mailtos://bob:s3cr3t%21pw@smtp.example.org?to=desk@example.org", "s3cr3t!pw"),
    ],
)
def test_url_secrets(url: str, secret: str) -> None:
    """Passwords, path tokens and key-like query values of a URL are secrets, and get masked."""
    assert secret in url_secrets(url)
    redact = make_redactor(url_secrets(url))
    line = f"sending to {url} failed; token {secret} refused"
    assert secret not in redact(line)
    assert MASK in redact(line)


def test_generic_password_is_masked() -> None:
    """A URL password not known in advance is still masked."""
    redact = make_redactor(())
    assert redact("json://alice:topsecret@host/x") == f"json://alice:{MASK}@host/x"


def test_settings_secrets(unit_settings: Settings) -> None:
    """Receiver URLs and the SASL password of the settings are all known secrets."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        receivers={"desk": ["json://u:pw-desk-123@h/p"]},
        kafka_sasl_password="sasl-pass-999",
    )
    found = settings_secrets(settings)
    assert {"pw-desk-123", "sasl-pass-999"} <= found


def test_receivers_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """WIREWATCH_RECEIVERS is JSON mapping receiver names to secret URL lists."""
    monkeypatch.setenv("WIREWATCH_RECEIVERS", '{"desk": ["json://h/a", "json://h/b"]}')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert [u.get_secret_value() for u in settings.receivers["desk"]] == [
        "json://h/a",
        "json://h/b",
    ]
    assert "json://h/a" not in repr(settings)
