"""Errors in words: pydantic's validation errors as `key.subkey: message`, OS errors as `path:
what`, and the exit code each error means to a user.

One place formats every kind, so a spec, a waiver file, a stage report and a manifest all read the
same way, and none shows pydantic's boilerplate (the type code, "For further information visit
https://errors.pydantic.dev/...") or, worse, the offending input: a value pydantic quotes back may
be a record's text, and PII must never reach an error. No heavy import here: `trainset` loads this
module to report an error after any verb.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: exit code of a usage error: unknown dataset, bad option, missing file, invalid spec, missing key
USAGE = 2
#: exit code of bad data: a gate blocks the release, records that cannot be read, a version that
#: fails its integrity check
BAD_DATA = 1

# pydantic names each member of a union it tried as one more key of the location
# (`measured.float`, `measured.int`): they are folded into one place, "one of float, int".
_UNION_MEMBER = re.compile(r"^(str|int|float|bool|none|list|dict|tuple|set|date|datetime|bytes|decimal)$|\[")
# A validator of a nested block may already place its message (`dataset 'x': gates.a.b: ...`).
_DATASET_PREFIX = re.compile(r"^dataset '[^']*': ")
# `str(ValidationError)`, as a Dagster step failure carries it: a location line, then its message
# indented, with pydantic's bracketed details (which quote the input) at the end.
_TEXT_HEADER = re.compile(r"^\d+ validation errors? for (\S+)\s*$")
_TEXT_DETAILS = re.compile(r"\s*\[type=.*$")


def validation_problems(errors: Iterable[Mapping[str, Any]], prefix: str = "") -> list[str]:
    """pydantic's `error.errors()` as `prefix.key.subkey: message` lines, one per place (the members
    of a union folded into one), never quoting the input."""
    problems: dict[str, list[str]] = {}
    members: dict[str, list[str]] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if len(loc) > 1 and _UNION_MEMBER.search(loc[-1]):
            members.setdefault(_place([*_prefix(prefix), *loc[:-1]]), []).append(loc[-1])
            continue
        message = _message(error)
        placed = _DATASET_PREFIX.sub("", message)
        if loc and placed.startswith(f"{loc[-1]}."):  # the validator named the place itself
            parent = _place([*_prefix(prefix), *loc[:-1]])
            joiner = f"{parent}." if parent else ""
            problems.setdefault(joiner + placed.replace(f"; {loc[-1]}.", f"; {joiner}{loc[-1]}."), [])
            continue
        problems.setdefault(_place([*_prefix(prefix), *loc]) or "(the whole document)", []).append(message)
    lines = [f"{place}: {'; '.join(messages)}" if messages else place for place, messages in problems.items()]
    lines += [f"{place}: expected one of {', '.join(kinds)}" for place, kinds in members.items()]
    return lines


def describe_validation(error: Any, prefix: str = "") -> str:
    """A pydantic `ValidationError` in one line: `prefix.key: message; prefix.other: message`."""
    return "; ".join(validation_problems(error.errors(), prefix))


def describe_validation_text(text: str) -> str | None:
    """`str(ValidationError)` (all that is left of one that crossed a process or Dagster's step
    boundary) as `Model: key.subkey: message; ...`, or None if `text` is not one. The input values
    pydantic quotes are dropped."""
    lines = text.strip().splitlines()
    header = _TEXT_HEADER.match(lines[0]) if lines else None
    if header is None:
        return None
    problems, place = [], ""
    for line in lines[1:]:
        if line.lstrip().startswith("For further information"):
            continue
        if not line.startswith(" "):
            place = line.strip()
            continue
        message = _TEXT_DETAILS.sub("", line).strip().removeprefix("Value error, ")
        problems.append({"loc": tuple(place.split(".")) if place else (), "msg": message})
    return f"{header[1]}: " + "; ".join(validation_problems(problems))


def describe_os_error(error: OSError) -> str:
    """`path: no such file or directory` (both paths for a rename or link), else the error's text."""
    what = (error.strerror or str(error)).lower()
    if error.filename is None:
        return str(error)
    where = f"{error.filename} -> {error.filename2}" if error.filename2 else str(error.filename)
    return f"{where}: {what}"


def exit_code(error: BaseException) -> int:
    """The code `trainset` exits with for a user error: the error's own `exit_code` (1 for bad
    data, see BAD_DATA), else 2 (usage)."""
    code = getattr(error, "exit_code", USAGE)
    return code if isinstance(code, int) else USAGE


def _message(error: Mapping[str, Any]) -> str:
    # A validator's own message already says what is wrong and where; drop pydantic's prefix.
    if error.get("type") == "value_error" and "ctx" in error and "error" in error["ctx"]:
        return str(error["ctx"]["error"])
    return str(error.get("msg", "invalid"))


def _prefix(prefix: str) -> list[str]:
    return [prefix] if prefix else []


def _place(loc: Sequence[str]) -> str:
    """`gates.7.measured` -> `gates[7].measured`: list items as YAML and JSON readers count them."""
    text = ""
    for part in loc:
        text += f"[{part}]" if part.isdigit() and text else (f".{part}" if text else part)
    return text
