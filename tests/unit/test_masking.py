from leadhooks.masking import MASK, mask, mask_text, mask_url


def test_omnicasa_secret_in_url_path_is_masked() -> None:
    url = "https://api.example/omnicasa/techworks/contactonme/s3cr3t-key?x=1"
    assert "s3cr3t-key" not in mask_url(url)
    assert mask_url(url).endswith(f"contactonme/{MASK}?x=1")


def test_user_info_in_url_is_masked() -> None:
    assert "pw" not in mask_url("https://user:pw@host/path")


def test_free_text_loses_email_personnummer_and_phone() -> None:
    text = "Ring 070-123 45 67 eller mejla anna.svensson@example.se, pnr 19850412-1234 / 850412-1234"
    masked = mask_text(text)
    for secret in ("070-123 45 67", "anna.svensson@example.se", "19850412-1234", "850412-1234"):
        assert secret not in masked


def test_known_secrets_are_masked_in_text() -> None:
    assert "hunter2" not in mask_text("password was hunter2", ("hunter2",))


def test_sensitive_keys_are_blanked_recursively() -> None:
    data = {
        "person": {
            "firstName": "Anna",
            "socialSecurityNumber": "198504121234",
            "telephone": {"cell": "0701234567"},
        },
        "leadSource": {"leadType": "AcceptObjectFlow"},
        "Password": "x",
    }
    masked = mask(data)
    assert masked["person"]["firstName"] == MASK
    assert masked["person"]["socialSecurityNumber"] == MASK
    assert masked["person"]["telephone"] == MASK
    assert masked["Password"] == MASK
    assert masked["leadSource"]["leadType"] == "AcceptObjectFlow"
