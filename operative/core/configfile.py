"""Reading a YAML configuration file into a validated model, with one-line errors that name
the file, and the line or key at fault."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from operative.errors import Invalid

M = TypeVar("M", bound=BaseModel)


def load_yaml_model(path: Path, model: type[M], error: type[Invalid]) -> M:
    """``path`` parsed and validated as ``model``; ``error`` (one line) when it cannot be."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise error(f"{path}{where}: not valid YAML") from None
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise error(f"{path}: {key}: {first['msg']}") from None
