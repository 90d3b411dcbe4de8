"""The local inbox: an ``inbox://`` Apprise scheme that writes each message as a file.

Registered with Apprise's ``@notify`` decorator when this module is imported, so the shipped
``config/apprise.yml`` works on a machine with no mail server or webhook: every message lands
in ``<data dir>/inbox/`` as one JSON file per delivery, named by its idempotency key.

Exactly once, by construction: the file is written to a temporary name, flushed to disk and
renamed into place (``os.replace`` is atomic), and a key whose file already exists is not
written again. A dispatcher killed mid-send leaves either no file (the delivery is sent after
the restart) or the whole file (the restart finds it and marks the delivery sent).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from apprise.decorators import notify

from operative.core import clock
from operative.core.settings import get_settings
from operative.notify.masking import LOGGER_NAME

SCHEME = "inbox"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

log = logging.getLogger(LOGGER_NAME)


def inbox_dir() -> Path:
    """Where the local inbox lives: ``inbox/`` in the data dir."""
    return get_settings().data_dir / "inbox"


def message_path(key: str, directory: Path | None = None) -> Path:
    """The file a delivery with idempotency ``key`` is (or will be) written to."""
    return (directory or inbox_dir()) / f"{_UNSAFE.sub('_', key)}.json"


def has_message(key: str, directory: Path | None = None) -> bool:
    """Whether the delivery with idempotency ``key`` has arrived."""
    return message_path(key, directory).is_file()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_once(path: Path, data: bytes) -> bool:
    """Write ``data`` at ``path`` atomically unless it is there already; True if written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
    return True


def _keep_attachments(attachments: Iterable[Any], directory: Path) -> list[dict[str, Any]]:
    kept = []
    for attachment in attachments:
        data = Path(attachment.path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        name = _UNSAFE.sub("_", attachment.name or "attachment")
        target = directory / "attachments" / digest / name
        _write_once(target, data)
        kept.append(
            {
                "name": attachment.name,
                "mimetype": attachment.mimetype,
                "size": len(data),
                "sha256": digest,
                "path": str(target),
            }
        )
    return kept


@notify(on=SCHEME, name="operative local inbox")  # type: ignore[untyped-decorator,no-untyped-call]
def deliver(
    body: str, title: str, notify_type: str, meta: dict[str, Any], *args: Any, **kwargs: Any
) -> bool:
    """Apprise calls this for every ``inbox://`` send."""
    headers = {str(k).lower(): str(v) for k, v in (meta.get("headers") or {}).items()}
    key = headers.get("idempotency-key") or f"adhoc-{uuid.uuid4().hex}"
    directory = inbox_dir()
    path = message_path(key, directory)
    if path.exists():
        return True
    try:
        record = {
            "key": key,
            "recipient": headers.get("x-operative-recipient"),
            "title": title,
            "body": body,
            "type": notify_type,
            "received_at": clock.now().isoformat(timespec="seconds"),
            "attachments": _keep_attachments(kwargs.get("attach") or [], directory),
        }
        _write_once(path, json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"))
    except OSError as exc:
        log.error("inbox: cannot write %s: %s", path.name, exc.strerror)
        return False
    return True


def list_inbox(directory: Path | None = None) -> list[dict[str, Any]]:
    """Every message in the local inbox, oldest first."""
    directory = directory or inbox_dir()
    if not directory.is_dir():
        return []
    messages = []
    for path in directory.glob("*.json"):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("inbox: skipping unreadable file %s", path.name)
            continue
        record["file"] = str(path)
        messages.append(record)
    return sorted(messages, key=lambda item: (str(item.get("received_at")), str(item.get("key"))))
