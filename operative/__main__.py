"""``python -m operative``: the same as the ``operative`` command."""

from __future__ import annotations

from operative.cli import main

main()
