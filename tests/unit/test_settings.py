import pytest
from leadhooks.errors import ConfigurationError
from leadhooks.settings import get_settings


@pytest.fixture(autouse=True)
def _fresh_settings():
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_missing_queue_url_fails_loudly_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAILURE_QUEUE_URL", raising=False)
    monkeypatch.setenv("PARKED_QUEUE_URL", "q")
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "t")
    with pytest.raises(ConfigurationError, match="FAILURE_QUEUE_URL"):
        get_settings()


def test_defaults_and_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAILURE_QUEUE_URL", "q")
    monkeypatch.setenv("PARKED_QUEUE_URL", "p")
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "t")
    monkeypatch.setenv("VITEC_BASE_URL", "http://127.0.0.1:4010/")
    settings = get_settings()
    assert settings.vitec_base_url == "http://127.0.0.1:4010"
    assert settings.http_read_timeout_s <= 30
    assert settings.max_body_bytes == 256 * 1024


def test_the_omnicasa_address_has_no_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Omnicasa publishes no single API v3 address: a stack without one fails at start, by name."""
    monkeypatch.delenv("OMNICASA_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="OMNICASA_BASE_URL"):
        get_settings()
