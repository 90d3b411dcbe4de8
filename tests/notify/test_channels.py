"""Reading config/apprise.yml: routing by tag, credentials from outside the file, bad entries."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from operative.core.settings import get_settings
from operative.notify.channels import (
    ChannelConfigError,
    UnknownTarget,
    load_channels,
    parse_channels,
)
from operative.notify.masking import mask_url


def test_shipped_config_routes_every_member_state_role_and_language_to_the_inbox() -> None:
    """With no channel configured, every recipient must still be reachable (the local inbox)."""
    config = load_channels(get_settings().config_dir / "apprise.yml")
    with (get_settings().config_dir / "member_states.csv").open(encoding="utf-8") as handle:
        codes = [row["iso3"] for row in csv.DictReader(handle)]
    assert len(codes) == 175
    roles = ["director_general", "chair", "pga_office", "secretariat", "focal_point"]
    for tag in [*codes, *roles, "lang-en", "lang-fr", "lang-es"]:
        assert [channel.name for channel in config.for_recipient(tag)] == ["inbox"], tag


def test_tags_match_whatever_their_case() -> None:
    """Apprise lowercases tags; a Contact's 'FRA' and the file's 'fra' must meet."""
    config = parse_channels("version: 1\nurls:\n  - inbox://:\n      tag: fra\n")
    assert config.for_recipient("FRA")[0].name == "inbox"
    with pytest.raises(UnknownTarget, match="'DEU'"):
        config.for_recipient("DEU")


def test_credentials_come_from_the_environment_and_secret_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials live outside the file; the substituted URL works and shows them masked."""
    monkeypatch.setenv("HOOK_TOKEN", "tok/with spaces&symbols")
    secret_file = tmp_path / "smtp_password"
    secret_file.write_text("pa:ss@word\n")
    config = parse_channels(
        f"""
version: 1
urls:
  - json://hooks.example.org/in?+Authorization=Bearer%20${{HOOK_TOKEN}}:
      tag: FRA
  - mailtos://notices:${{file:{secret_file}}}@relay.example.org?to=fra@example.org:
      tag: FRA
"""
    )
    json_channel = config.channel("FRA", "json")
    service = json_channel.build(idempotency_key="op-1", recipient="FRA")
    assert service.headers["Authorization"] == "Bearer tok/with spaces&symbols"
    assert service.headers["Idempotency-Key"] == "op-1"
    email = config.channel("fra", "email").build(idempotency_key="op-2", recipient="FRA")
    assert email.password == "pa:ss@word"
    for channel in config.channels:
        assert "tok" not in channel.masked_url and "pa:ss" not in channel.masked_url
        assert "****" in channel.masked_url


def test_an_unset_variable_fails_the_load_naming_the_entry() -> None:
    """A missing credential must stop everything at load, not silently drop a recipient."""
    text = (
        "version: 1\nurls:\n  - inbox://:\n      tag: A\n"
        "  - json://x.org/${NOT_SET_ANYWHERE}:\n      tag: B\n"
    )
    with pytest.raises(ChannelConfigError, match=r"entry #2 .*NOT_SET_ANYWHERE is not set"):
        parse_channels(text)


def test_an_invalid_url_fails_the_load_naming_the_entry_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Apprise alone would skip the bad entry with a log line; operative refuses the file."""
    monkeypatch.setenv("BAD_SECRET", "hunter2-bad-secret")
    text = (
        "version: 1\nurls:\n  - inbox://:\n      tag: A\n"
        "  - json://user:${BAD_SECRET}@/path?+X-Token=${BAD_SECRET}:\n      tag: B\n"
    )
    with pytest.raises(ChannelConfigError, match="entry #2") as caught:
        parse_channels(text)
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ChannelConfigError, match=r"entry #1 \(nosuchscheme://host/\*\*\*\*\)"):
        parse_channels("version: 1\nurls:\n  - nosuchscheme://host/secretpath:\n      tag: A\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: 1\nurls:\n  - inbox://:\n      tag: A\n  - inbox://:\n      tag: a\n",
            "both give 'a'",
        ),
        ("version: 1\ninclude: http://x/y.yml\nurls: []\n", "include"),
        ("version: 1\ntemplate:\n  X: y\nurls: []\n", "template"),
        ("version: 2\nurls:\n  - inbox://\n", "version"),
        ("urls: [\n", "not valid YAML"),
        ("version: 1\nurls:\n  - inbox://\n", "no tag"),
    ],
)
def test_configurations_operative_cannot_use_are_refused(text: str, message: str) -> None:
    """Ambiguous routing, remote includes and unversioned files are errors, not surprises."""
    with pytest.raises(ChannelConfigError, match=message):
        parse_channels(text)


def test_masked_urls_hide_headers_payload_params_and_passwords() -> None:
    """Apprise's privacy mode leaves +header and :payload values visible; ours does not."""
    masked = mask_url(
        "json://admin:pw123456@hooks.example.org/in?+Authorization=Bearer%20abcdef"
        "&:api_key=zzz999&-sig=qqq777&token=ttt555&format=text"
    )
    for secret in ("pw123456", "abcdef", "zzz999", "qqq777", "ttt555"):
        assert secret not in masked
    assert masked.startswith("json://admin:****@hooks.example.org/in?")
    assert "format=text" in masked
