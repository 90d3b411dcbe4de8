"""Each rule is written once: a walk of every module under operative/, flows/ and tasks/.

The finished and open obligation statuses live beside their enum in ``operative.models``, the
working languages in ``operative.i18n``, the time in ``operative.core.clock`` and the reminder
stages in config/reminders.yaml, read by ``operative.reminders.policy``. A literal
spelling of one of those sets elsewhere, or a second clock, is a copy that will drift (issue
11 found copies that already disagreed), so it fails here with the place to fix.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from operative.core.settings import REPO_ROOT

PACKAGES = ("operative", "flows", "tasks")


@dataclass(frozen=True)
class Rule:
    """A rule with one home: ``find`` yields each node of a module that spells it out again."""

    name: str
    home: str
    find: Callable[[ast.Module], Iterator[ast.AST]]
    # Ways of writing the rule again, each of which ``find`` must flag (so the check can fail).
    copies: tuple[str, ...]
    # A module that uses the rule from its home, which ``find`` must leave alone.
    use: str


def _literal_values(node: ast.AST) -> set[str] | None:
    """The names in a literal set, tuple or list of strings and enum members (``X.done`` counts
    as ``"done"``); None for anything else."""
    if not isinstance(node, ast.Set | ast.Tuple | ast.List) or not node.elts:
        return None
    values = set()
    for element in node.elts:
        if isinstance(element, ast.Constant) and isinstance(element.value, str):
            values.add(element.value)
        elif isinstance(element, ast.Attribute):
            values.add(element.attr)
        else:
            return None
    return values


def _literals_of(values: set[str]) -> Callable[[ast.Module], Iterator[ast.AST]]:
    def find(module: ast.Module) -> Iterator[ast.AST]:
        for node in ast.walk(module):
            if _literal_values(node) == values:
                yield node

    return find


# Receivers whose .now(), .utcnow() or .today() read the machine's clock.
_SYSTEM_CLOCKS = {
    "datetime",
    "dt.datetime",
    "datetime.datetime",
    "date",
    "dt.date",
    "datetime.date",
    "pendulum",
    "pendulum.DateTime",
}
_CLOCK_NAMES = {"now", "utcnow", "today"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _clocks(module: ast.Module) -> Iterator[ast.AST]:
    """Definitions of now()/utcnow(), and reads of the machine's clock."""
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in {
            "now",
            "utcnow",
        }:
            yield node
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver, name = _dotted(node.func.value), node.func.attr
            if (name in _CLOCK_NAMES and receiver in _SYSTEM_CLOCKS) or (
                receiver == "time" and name == "time"
            ):
                yield node
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module in {"datetime", "pendulum", "time"}
            and any(alias.name in _CLOCK_NAMES | {"time"} for alias in node.names)
        ):
            yield node


# A reminder stage's name: "before-10", "overdue-3", "reminder-before"; and the opening of one
# built in an f-string.
_STAGE_NAME = re.compile(r"(before|overdue)-\d+|reminder-before")
_STAGE_PREFIX = re.compile(r"(before|overdue)-")


def _is_stage_name(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _STAGE_NAME.fullmatch(node.value) is not None
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        return (
            isinstance(first, ast.Constant)
            and isinstance(first.value, str)
            and _STAGE_PREFIX.fullmatch(first.value) is not None
        )
    return False


def _is_span(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _dotted(node.func).endswith("timedelta")


def _is_offset(value: ast.AST) -> bool:
    """A time span, or a moment taken that long before another: an offset of a schedule."""
    return _is_span(value) or (
        isinstance(value, ast.BinOp) and isinstance(value.op, ast.Sub) and _is_span(value.right)
    )


def _reminder_schedules(module: ast.Module) -> Iterator[ast.AST]:
    """Stage names spelled out, and an offset given to a name that speaks of reminding
    (``REMINDER_BEFORE = timedelta(days=14)``): when to remind is config/reminders.yaml's."""
    for node in ast.walk(module):
        if _is_stage_name(node):
            yield node
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            named = any("remind" in _dotted(target).lower() for target in targets)
            if named and _is_offset(node.value):
                yield node


RULES = [
    Rule(
        "finished statuses",
        "operative/models.py",
        _literals_of({"done", "cancelled"}),
        copies=(
            "closed = obligation.status in {ObligationStatus.done, ObligationStatus.cancelled}",
            'query.where(col(Obligation.status).notin_(["cancelled", "done"]))',
        ),
        use="closed = obligation.status in FINISHED\n"
        "single = obligation.status == ObligationStatus.done\n",
    ),
    Rule(
        "open statuses",
        "operative/models.py",
        _literals_of({"planned", "in_progress", "awaiting_approval"}),
        copies=(
            "OPEN = (ObligationStatus.planned, ObligationStatus.in_progress,"
            " ObligationStatus.awaiting_approval)",
        ),
        use="query.where(col(Obligation.status).in_(OPEN))\n",
    ),
    Rule(
        "working languages",
        "operative/i18n.py",
        _literals_of({"en", "fr", "es"}),
        copies=('Language = Literal["en", "fr", "es"]', 'LANGUAGES = ["es", "en", "fr"]'),
        use='for language in LANGUAGES:\n    pass\nnames = {"fr": name_fr, "es": name_es}\n',
    ),
    Rule(
        "the clock",
        "operative/core/clock.py",
        _clocks,
        copies=(
            "def utcnow():\n    return stamp",
            "stamp = dt.datetime.now(dt.UTC)",
            "stamp = pendulum.now('UTC')",
            "day = dt.date.today()",
            "seconds = time.time()",
            "from pendulum import now",
        ),
        use="stamp = clock.now()\nelapsed = time.monotonic()\n",
    ),
    Rule(
        "the reminder stages",
        "operative/reminders/policy.py",
        _reminder_schedules,
        copies=(
            "REMINDER_BEFORE = dt.timedelta(days=14)",
            "remind_from = due - timedelta(weeks=2)",
            "reminder_day = deadline - dt.timedelta(days=13)",
            'stage = "reminder-before"',
            'stage = f"overdue-{(now - due).days // 7}"',
            'STAGES = ("before-10", "before-5")',
        ),
        use="reminded = send_due_reminders(obligation_id)\n"
        "reminder_day = first_reminder(deadline) + dt.timedelta(days=1)\n"
        "expires = deadline + dt.timedelta(days=30)\n"
        'kind = "overdue" if stage.startswith("overdue") else "reminder"\n',
    ),
]


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            relative = path.relative_to(REPO_ROOT).as_posix()
            yield relative, ast.parse(path.read_text(encoding="utf-8"), filename=relative)


def _copies(rule: Rule) -> list[str]:
    return [
        f"{relative}:{getattr(node, 'lineno', '?')}"
        for relative, module in _modules()
        if relative != rule.home
        for node in rule.find(module)
    ]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_each_rule_is_written_only_in_its_home(rule: Rule) -> None:
    """A second spelling of a rule drifts from the first: change it in one place, import it."""
    assert _copies(rule) == [], f"{rule.name}: import it from {rule.home} instead"


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_each_check_flags_a_copy_and_passes_a_use(rule: Rule) -> None:
    """A check that flags nothing would pass over every copy: each must catch a known one."""
    missed = [copy for copy in rule.copies if not list(rule.find(ast.parse(copy)))]
    assert missed == []
    assert list(rule.find(ast.parse(rule.use))) == []


def test_the_homes_define_the_rules() -> None:
    """The sets the other modules import are the ones the rules describe."""
    from operative import i18n
    from operative.core import clock
    from operative.models import FINISHED, OPEN, ObligationStatus

    assert set(FINISHED) == {ObligationStatus.done, ObligationStatus.cancelled}
    assert set(OPEN) == set(ObligationStatus) - set(FINISHED)
    assert i18n.LANGUAGES == ("en", "fr", "es")
    assert set(i18n.LANGUAGE_NAMES) == set(i18n.LANGUAGES)
    home = ast.parse(Path(clock.__file__).read_text(encoding="utf-8"))
    assert [node.name for node in ast.walk(home) if isinstance(node, ast.FunctionDef)].count(
        "now"
    ) == 1
