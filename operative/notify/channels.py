"""Recipients' channels: ``config/apprise.yml`` read into Apprise services routed by tag.

The file is in Apprise's own YAML configuration format (``version: 1``, ``urls:`` with a
``tag:`` under each URL, optional ``asset:``, ``tag:`` and ``groups:`` at the top). A recipient
is a tag — a Member State's ISO alpha-3 code, a role such as ``secretariat``, a language such as
``lang-fr``; Apprise compares tags case-insensitively. Each URL entry carrying the tag is one
*channel* of that recipient, named by the kind of URL (``email`` for mailto/mailtos, ``json``,
``form``, ``xml``, ``inbox``, otherwise the scheme); a recipient has at most one channel of
each kind, so (message, recipient, channel) names one delivery.

Credentials never sit in the file: ``${NAME}`` is replaced by the environment variable NAME and
``${file:/run/secrets/x}`` by the content of that file (trailing newline removed), before
Apprise sees the text; inside a URL the value is percent-encoded. ``$${`` writes a literal
``${``. Every substituted value is registered with :mod:`operative.notify.masking`, so it is
masked wherever it would appear. Apprise's own ``template:`` variables and ``include:`` are
refused: both would bring values in around that substitution.

Loading fails as a whole, naming the entry with its URL masked, when a variable is unset, a
secret file unreadable, or Apprise rejects an entry — Apprise by itself skips a bad entry with a
log line, which would silently leave a recipient unreached.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from apprise import AppriseAsset, AppriseConfig
from apprise.manager_plugins import NotificationManager
from apprise.plugins import NotifyBase, url_to_dict

from operative.core.settings import get_settings
from operative.errors import Invalid, NotFound
from operative.notify import inbox as _inbox  # noqa: F401  (registers the inbox:// scheme)
from operative.notify.masking import (
    LOGGER_NAME,
    install_log_redaction,
    mask_unparsable,
    mask_url,
    register_secret,
)

CONFIG_ENV = "OPERATIVE_APPRISE_CONFIG"
IDEMPOTENCY_HEADER = "Idempotency-Key"
RECIPIENT_HEADER = "X-Operative-Recipient"
_FAMILIES = {
    "mailto": "email",
    "mailtos": "email",
    "json": "json",
    "jsons": "json",
    "form": "form",
    "forms": "form",
    "xml": "xml",
    "xmls": "xml",
}
_ROOT_KEYS = {"version", "asset", "tag", "tags", "groups", "urls"}
_REFUSED_ROOT_KEYS = {
    "include": "include: is not supported (credentials must come through ${...} here)",
    "template": "template: is not supported (use ${ENV_VAR} or ${file:/path} instead)",
}
_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

log = logging.getLogger(LOGGER_NAME)
# Apprise's plugin registry and URL parser carry no type annotations.
_plugins: Any = NotificationManager()  # type: ignore[no-untyped-call]


class ChannelConfigError(Invalid):
    """The Apprise configuration cannot be used as written (bad input: exit code 2)."""


class UnknownTarget(NotFound):
    """No channel is configured for a recipient or a channel name."""


@dataclass(frozen=True)
class Channel:
    """One configured Apprise service: what it reaches (tags) and how to build it per send."""

    name: str
    entry: int
    schema: str
    tags: frozenset[str]
    masked_url: str
    _kwargs: Mapping[str, Any] = field(repr=False, compare=False)
    _asset: AppriseAsset = field(repr=False, compare=False)

    @property
    def carries_idempotency_key(self) -> bool:
        """Whether the receiver gets the ``Idempotency-Key`` (services taking ``+headers``)."""
        return self.name == "inbox" or "headers" in _plugins[self.schema].template_kwargs

    def build(self, *, idempotency_key: str, recipient: str) -> NotifyBase:
        """A fresh service instance for one delivery, its idempotency key in a header.

        Built from the arguments Apprise parsed once at load, so a send costs no URL parsing.
        """
        kwargs = dict(self._kwargs)
        if self.carries_idempotency_key:
            headers = dict(kwargs.get("headers") or {})
            headers[IDEMPOTENCY_HEADER] = idempotency_key
            if self.name == "inbox":
                headers[RECIPIENT_HEADER] = recipient
            kwargs["headers"] = headers
        kwargs["asset"] = self._asset
        kwargs["tag"] = set(self.tags)
        service: NotifyBase = _plugins[self.schema](**kwargs)
        return service


@dataclass(frozen=True)
class ChannelConfig:
    """Every channel of the configuration, looked up by recipient tag."""

    source: str
    channels: tuple[Channel, ...]

    def for_recipient(self, tag: str) -> list[Channel]:
        """The channels reaching ``tag``; :class:`UnknownTarget` when there are none."""
        wanted = tag.strip().lower()
        found = [channel for channel in self.channels if wanted in channel.tags]
        if not found:
            raise UnknownTarget(f"no entry of {self.source} is tagged {tag!r}")
        return found

    def channel(self, tag: str, name: str) -> Channel:
        """The channel ``name`` of recipient ``tag``."""
        for channel in self.for_recipient(tag):
            if channel.name == name:
                return channel
        raise UnknownTarget(f"recipient {tag!r} has no {name!r} channel in {self.source}")

    @property
    def tags(self) -> set[str]:
        """Every tag some channel carries (lower case)."""
        return {tag for channel in self.channels for tag in channel.tags}


def config_path() -> Path:
    """``OPERATIVE_APPRISE_CONFIG``, or ``apprise.yml`` in the configuration directory."""
    configured = os.environ.get(CONFIG_ENV)
    return Path(configured) if configured else get_settings().config_dir / "apprise.yml"


def channel_name(schema: str) -> str:
    """The channel kind a URL scheme gives (``mailtos`` → ``email``)."""
    return _FAMILIES.get(schema.lower(), schema.lower())


def load_channels(path: Path | None = None) -> ChannelConfig:
    """Read, substitute and validate the Apprise configuration at ``path``."""
    install_log_redaction()
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ChannelConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_channels(text, source=str(path))


def parse_channels(text: str, *, source: str = "apprise.yml") -> ChannelConfig:
    """The channels of an Apprise YAML configuration given as text."""
    install_log_redaction()
    document = _document(text, source)
    urls = document["urls"]
    shared = {
        key: _substitute(value, where=f"{source}: {key}:", in_url=False)
        for key, value in document.items()
        if key in {"asset", "tag", "tags", "groups"}
    }
    asset = AppriseAsset(app_id="operative", app_desc="operative notifications")
    channels: list[Channel] = []
    for number, entry in enumerate(urls, start=1):
        channels.extend(_load_entry(entry, number, shared, asset, source))
    _check_one_channel_per_kind(channels, source)
    return ChannelConfig(source=source, channels=tuple(channels))


def _document(text: str, source: str) -> dict[str, Any]:
    """The YAML document, checked for what operative reads of it (``ChannelConfigError``)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ChannelConfigError(f"{source}:{where} not valid YAML") from None
    if not isinstance(document, dict):
        raise ChannelConfigError(f"{source}: expected Apprise YAML (version: 1, urls: ...)")
    _check_root(document, source)
    return document


def _check_root(document: dict[str, Any], source: str) -> None:
    """Top-level keys operative refuses or does not know, another version, no ``urls:``."""
    for key, reason in _REFUSED_ROOT_KEYS.items():
        if key in document:
            raise ChannelConfigError(f"{source}: {reason}")
    unknown = sorted(str(key) for key in document if key not in _ROOT_KEYS)
    if unknown:
        raise ChannelConfigError(f"{source}: unknown top-level key {unknown[0]!r}")
    if document.get("version", 1) != 1:
        raise ChannelConfigError(f"{source}: only Apprise YAML version 1 is supported")
    urls = document.get("urls")
    if not isinstance(urls, list) or not urls:
        raise ChannelConfigError(f"{source}: no urls: entries")


def _entry_url(entry: Any) -> str:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        for key in entry:
            if isinstance(key, str) and "://" in key:
                return key
    return ""


def _load_entry(
    entry: Any, number: int, shared: Mapping[str, Any], asset: AppriseAsset, source: str
) -> list[Channel]:
    raw_url = _entry_url(entry)
    label = f"{source}: entry #{number}"
    if not raw_url:
        raise ChannelConfigError(f"{label}: no Apprise URL (schema://...) found")
    resolved = _substitute(entry, where=f"{label} ({mask_unparsable(raw_url)})", in_url=False)
    url = _entry_url(resolved)
    # Before Apprise reads the entry: at DEBUG it logs the configuration text it loads, and
    # the filter on its logger can only mask credentials registered by then.
    early = _parse_url(url)
    if early is not None:
        _register_credentials(early)
    one = {"version": 1, **shared, "urls": [resolved]}
    config = AppriseConfig(asset=asset)
    config.add_config(yaml.safe_dump(one, allow_unicode=True), format="yaml")
    services = list(config.services())
    if not services:
        raise ChannelConfigError(
            f"{label} ({mask_unparsable(url)}): Apprise rejects this URL or its settings"
        )
    loaded = []
    for loaded_service in services:
        service: Any = loaded_service  # Apprise's plugin methods are untyped
        plain = service.url(privacy=False)
        kwargs = _parse_url(plain)
        if kwargs is None:
            raise ChannelConfigError(f"{label} ({mask_unparsable(url)}): cannot be rebuilt")
        _register_credentials(kwargs)
        kwargs.pop("tag", None)
        kwargs.pop("asset", None)
        tags = frozenset(str(tag).lower() for tag in service.tags)
        if not tags:
            raise ChannelConfigError(
                f"{label} ({mask_url(service.url(privacy=True))}): has no tag, so no recipient"
            )
        schema = str(kwargs["schema"])
        loaded.append(
            Channel(
                name=channel_name(schema),
                entry=number,
                schema=schema,
                tags=tags,
                masked_url=mask_url(service.url(privacy=True)),
                _kwargs=kwargs,
                _asset=asset,
            )
        )
    return loaded


def _parse_url(url: str) -> dict[str, Any] | None:
    parsed: dict[str, Any] | None = url_to_dict(  # type: ignore[no-untyped-call]
        url, secure_logging=True
    )
    return parsed


def _register_credentials(kwargs: Mapping[str, Any]) -> None:
    """Literal credentials written in the file are masked like substituted ones."""
    password = kwargs.get("password")
    if isinstance(password, str):
        register_secret(password)
    for group in ("headers", "payload", "params"):
        values = kwargs.get(group)
        if isinstance(values, dict):
            for value in values.values():
                if isinstance(value, str):
                    register_secret(value)


def _check_one_channel_per_kind(channels: Iterable[Channel], source: str) -> None:
    seen: dict[tuple[str, str], Channel] = {}
    for channel in channels:
        for tag in channel.tags:
            other = seen.setdefault((tag, channel.name), channel)
            if other is not channel:
                raise ChannelConfigError(
                    f"{source}: entries #{other.entry} and #{channel.entry} both give {tag!r} "
                    f"a {channel.name!r} channel; list several addresses in one URL instead"
                )


def _substitute(value: Any, *, where: str, in_url: bool) -> Any:
    """``value`` with ``${NAME}`` / ``${file:PATH}`` replaced, recursively."""
    if isinstance(value, str):
        return _substitute_text(value, where=where, in_url=in_url or "://" in value)
    if isinstance(value, list):
        return [_substitute(item, where=where, in_url=in_url) for item in value]
    if isinstance(value, dict):
        return {
            _substitute(key, where=where, in_url=in_url): _substitute(
                item, where=where, in_url=False
            )
            for key, item in value.items()
        }
    return value


def _substitute_text(text: str, *, where: str, in_url: bool) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        reference = match.group(1).strip()
        value = _resolve(reference, where=where)
        register_secret(value)
        return quote(value, safe="") if in_url else value

    return _REFERENCE.sub(replace, text)


def _resolve(reference: str, *, where: str) -> str:
    if reference.startswith("file:"):
        file = Path(reference[len("file:") :].strip())
        try:
            return file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ChannelConfigError(
                f"{where}: secret file {file} cannot be read: {exc.strerror}"
            ) from None
    if not _ENV_NAME.fullmatch(reference):
        raise ChannelConfigError(
            f"{where}: ${{{reference}}} is neither ${{NAME}} nor ${{file:PATH}}"
        )
    value = os.environ.get(reference)
    if value is None:
        raise ChannelConfigError(f"{where}: environment variable {reference} is not set")
    return value
