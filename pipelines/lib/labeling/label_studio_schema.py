"""Label Studio's task import format as a JSON Schema, and the check that tasks we send meet it.

The format is Label Studio's own ("Basic Label Studio JSON format", labelstud.io/guide/tasks; the
`predictions` key, labelstud.io/guide/predictions; the result shape of a `<Choices>` control,
labelstud.io/tags/choices): a list of tasks, each with a `data` object whose keys the labeling
config reads (`$text`), and optionally `predictions` and `annotations`, each holding `result` items
`{from_name, to_name, type, value}`. A `choices` result holds `value.choices`, a list of strings.
Keys Label Studio adds on its own (`id`, `created_at`, ...) are allowed, not required."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jsonschema import Draft202012Validator

from pipelines.lib.labeling.imported import LabelingInputError

_NAME = {"type": "string", "minLength": 1}

#: JSON Schema (draft 2020-12) of Label Studio's task import file
IMPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Label Studio task import (Basic Label Studio JSON format)",
    "description": "A list of tasks: labelstud.io/guide/tasks and labelstud.io/guide/predictions.",
    "type": "array",
    "items": {"$ref": "#/$defs/task"},
    "$defs": {
        "task": {
            "type": "object",
            "required": ["data"],
            "properties": {
                "id": {"type": "integer"},
                "data": {"type": "object", "description": "The values the labeling config reads, e.g. $text."},
                "predictions": {"type": "array", "items": {"$ref": "#/$defs/prediction"}},
                "annotations": {"type": "array", "items": {"$ref": "#/$defs/annotation"}},
            },
        },
        "prediction": {
            "type": "object",
            "required": ["result"],
            "properties": {
                "model_version": {"type": "string"},
                "score": {"type": "number", "description": "Overall score; the Data Manager sorts by it."},
                "result": {"type": "array", "items": {"$ref": "#/$defs/result"}},
            },
        },
        "annotation": {
            "type": "object",
            "required": ["result"],
            "properties": {
                "result": {"type": "array", "items": {"$ref": "#/$defs/result"}},
                "completed_by": {"type": ["integer", "string", "object"]},
                "was_cancelled": {"type": "boolean"},
                "ground_truth": {"type": "boolean"},
            },
        },
        "result": {
            "type": "object",
            "required": ["from_name", "to_name", "type", "value"],
            "properties": {
                "id": {"type": "string"},
                "from_name": _NAME,
                "to_name": _NAME,
                "type": _NAME,
                "value": {"type": "object"},
            },
            # The result of a <Choices> control: value.choices, the selected Choice values.
            "if": {"properties": {"type": {"const": "choices"}}, "required": ["type"]},
            "then": {
                "properties": {
                    "value": {
                        "required": ["choices"],
                        "properties": {"choices": {"type": "array", "minItems": 1, "items": {"type": "string"}}},
                    }
                }
            },
        },
    },
}

_VALIDATOR = Draft202012Validator(IMPORT_SCHEMA)
#: at most this many places are listed in one error; the count says how many more there are
_SHOWN = 5


def validate_tasks(tasks: object, where: str = "tasks") -> None:
    """Check `tasks` against `IMPORT_SCHEMA` (Label Studio's task import format).

    Raises LabelingInputError naming `where`, each failing place as `task [index] (item id):
    path` and what it must be, never quoting a value (a task holds ticket text)."""
    errors = sorted(_VALIDATOR.iter_errors(tasks), key=lambda error: [str(part) for part in error.absolute_path])
    if not errors:
        return
    places = [f"{_place(list(error.absolute_path), tasks)}: {_expected(error)}" for error in errors[:_SHOWN]]
    more = f" (and {len(errors) - _SHOWN} more)" if len(errors) > _SHOWN else ""
    raise LabelingInputError(
        f"{where}: not Label Studio's task import format (labelstud.io/guide/tasks): "
        f"{'; '.join(places)}{more}; fix the items the tasks are built from"
    )


def _place(path: Sequence[object], tasks: object) -> str:
    if not path:
        return "(the whole file)"
    index, rest = path[0], path[1:]
    where = f"task [{index}]"
    task = tasks[index] if isinstance(tasks, list) and isinstance(index, int) else None
    data = task.get("data") if isinstance(task, dict) else None
    item = data.get("item") if isinstance(data, dict) else None
    if isinstance(item, str | int) and not isinstance(item, bool):
        where += f" (item {item})"
    inner = ""
    for part in rest:
        inner += f"[{part}]" if isinstance(part, int) else (f".{part}" if inner else str(part))
    return f"{where}: {inner}" if inner else where


def _expected(error: Any) -> str:
    # Our own words for each rule: jsonschema's messages quote the offending value.
    rule, value = error.validator, error.validator_value
    if rule == "type":
        return f"must be {' or '.join(value) if isinstance(value, list) else value}"
    if rule == "required":
        missing = [name for name in value if isinstance(error.instance, dict) and name not in error.instance]
        return f"lacks {', '.join(f'`{name}`' for name in missing)}"
    if rule == "minLength":
        return "must not be empty"
    if rule == "minItems":
        return f"needs at least {value} entr{'y' if value == 1 else 'ies'}"
    if rule == "const":
        return f"must be {value!r}"
    return f"breaks the schema's `{rule}` rule"
