"""The emulator's own matching of an alert against OpsGenie's condition sets and time restrictions
(notification and routing rules, integration action filters, policies).

Decisions (assumptions the paging computation names, see `paging.ASSUMPTIONS`):
- list-conditions: on list fields (tags, actions, teams, recipients, responders) `contains` and
  `equals` hold when one element equals the expected value, the other string operations when one
  element satisfies them, `is-empty` when the list is empty. On extra properties without a `key`,
  `contains-key`/`contains-value` test the keys/values. Comparisons are case-sensitive.
- priority-order: `greater-than`/`less-than` compare numbers; on P1..P5 they compare the digit.
- `matches` is a whole-string regular expression (Java's String.matches); a bad pattern matches
  nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from oncall_sync.emulator.timeline import restriction_windows

Payload = dict[str, Any]
PRIORITY = re.compile(r"^P([1-5])$")


def _number(text: str) -> float | None:
    priority = PRIORITY.match(text)
    if priority:
        return float(priority.group(1))
    try:
        return float(text)
    except ValueError:
        return None


def _string_holds(operation: str, actual: str, expected: str) -> bool:
    if operation == "equals":
        return actual == expected
    if operation == "contains":
        return expected in actual
    if operation == "starts-with":
        return actual.startswith(expected)
    if operation == "ends-with":
        return actual.endswith(expected)
    if operation == "is-empty":
        return actual == ""
    if operation == "equals-ignore-whitespace":
        return "".join(actual.split()) == "".join(expected.split())
    if operation == "matches":
        try:
            return re.fullmatch(expected, actual) is not None
        except re.error:
            return False
    if operation in ("greater-than", "less-than"):
        a, b = _number(actual), _number(expected)
        if a is None or b is None:
            return False
        return a > b if operation == "greater-than" else a < b
    return False  # contains-key / contains-value on a string, or an unknown operation


def _holds(cond: Payload, fields: Mapping[str, Any]) -> bool:
    operation, expected = cond.get("operation", ""), str(cond.get("expectedValue", ""))
    value = fields.get(cond.get("field", ""))
    if isinstance(value, Mapping):
        key = cond.get("key")
        if key:
            return _string_holds(operation, str(value.get(key, "")), expected)
        if operation == "contains-key":
            return expected in value
        if operation == "contains-value":
            return expected in (str(v) for v in value.values())
        if operation == "is-empty":
            return not value
        return any(_string_holds(operation, str(v), expected) for v in value.values())
    if isinstance(value, list | tuple):
        if operation == "is-empty":
            return not value
        if operation == "contains":
            return any(str(v) == expected for v in value)
        return any(_string_holds(operation, str(v), expected) for v in value)
    return _string_holds(operation, "" if value is None else str(value), expected)


def condition_holds(cond: Payload, fields: Mapping[str, Any]) -> bool:
    """One condition, with its `not`."""
    return _holds(cond, fields) != bool(cond.get("not", False))


def conditions_match(
    match_type: str | None, conditions: Sequence[Payload], fields: Mapping[str, Any]
) -> bool:
    """A condition set: `match-all` (or none given) always, `match-any-condition` one,
    `match-all-conditions` every one."""
    if match_type in (None, "", "match-all"):
        return True
    if match_type == "match-any-condition":
        return any(condition_holds(c, fields) for c in conditions)
    return all(condition_holds(c, fields) for c in conditions)


def criteria_match(criteria: Payload | None, fields: Mapping[str, Any], key: str = "type") -> bool:
    """A `criteria`/`filter` object whose match type sits under `key` (reference 13.3)."""
    if not criteria:
        return True
    return conditions_match(criteria.get(key), criteria.get("conditions") or [], fields)


def in_restriction(restriction: Payload | None, zone: tzinfo, moment: datetime) -> bool:
    """Whether `moment` lies inside the time restriction (none: always), read in `zone`."""
    if not restriction:
        return True
    if restriction.get("type") not in ("time-of-day", "weekday-and-time-of-day"):
        return True
    return bool(restriction_windows(restriction, zone, moment, moment + timedelta(seconds=1)))
