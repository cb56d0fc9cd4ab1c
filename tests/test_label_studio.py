"""Label Studio and CSV out and in: the labeling config, tasks that meet Label Studio's import format,
and exports (JSON as Label Studio documents it, CSV as spreadsheets write it) read into the one
annotations frame, with what could not be used counted or set aside with a reason."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pandas as pd
import pytest
from conftest import FIXTURES

from pipelines.lib.errors import BAD_DATA, exit_code
from pipelines.lib.labeling.annotation_csv import read_annotations_csv, write_tasks_csv
from pipelines.lib.labeling.annotations import ANNOTATION_COLUMNS, typed
from pipelines.lib.labeling.label_studio import (
    IMPORT_SCHEMA,
    LabelingInputError,
    labeling_config,
    read_export,
    tasks,
    validate_tasks,
    write_batch,
)

HERE = FIXTURES / "label_studio"
EXPORT = HERE / "export.json"
CLASSES = ["account", "billing", "technical"]
#: every e-mail address, name and domain the export's `completed_by` objects carry
PERSONAL = ("@", "example.org", "ana.lopez", "guest.reviewer", "Ana", "López", "Guest", "Reviewer")


def items() -> pd.DataFrame:
    return pd.read_csv(HERE / "items.csv", dtype={"item": "str"})


def expected(rows: list[tuple], tool: str = "label_studio") -> pd.DataFrame:
    """An annotations frame from (item, annotator, label, gold, ground_truth, annotated_at, task)."""
    frame = pd.DataFrame(
        [
            {
                "item": item,
                "annotator": annotator,
                "label": label,
                "batch": "pilot",
                "gold": gold,
                "ground_truth": truth,
                "annotated_at": pd.Timestamp(at) if at else None,
                "tool": tool,
                "task": task,
            }
            for item, annotator, label, gold, truth, at, task in rows
        ],
        columns=list(ANNOTATION_COLUMNS),
    )
    frame["annotated_at"] = pd.Series(list(frame["annotated_at"]), dtype=ANNOTATION_COLUMNS["annotated_at"])
    return typed(frame)


def problems(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["task", "item", "annotator", "reason"]).astype("str")


# --- out: the labeling config and the tasks ---------------------------------------------------------


def test_the_labeling_config_parses_and_lists_every_class_escaped():
    classes = ["billing", "R&D <lab>", 'say "hi"', "cuenta/facturación"]
    xml = labeling_config(classes)
    view = ElementTree.fromstring(xml)
    text, choices = view.find("Text"), view.find("Choices")
    assert (view.tag, text.get("name"), text.get("value")) == ("View", "text", "$text")
    assert {name: choices.get(name) for name in ("name", "toName", "choice")} == {
        "name": "label",
        "toName": "text",
        "choice": "single",
    }
    assert [choice.get("value") for choice in choices.findall("Choice")] == classes
    assert "R&amp;D &lt;lab&gt;" in xml
    other = ElementTree.fromstring(labeling_config(["a"], from_name="topic", to_name="ticket"))
    assert (other.find("Choices").get("name"), other.find("Text").get("name")) == ("topic", "ticket")


@pytest.mark.parametrize("classes", [[], ["a", " "], ["a", "b", "a"]])
def test_a_labeling_config_needs_distinct_named_classes(classes):
    with pytest.raises(ValueError, match="labels.classes"):
        labeling_config(classes)


def test_tasks_carry_redacted_text_segments_and_weak_labels_as_predictions():
    built = tasks(items(), "weak-rules-v1")
    validate_tasks(built)
    jsonschema.Draft202012Validator.check_schema(IMPORT_SCHEMA)
    jsonschema.validate(built, IMPORT_SCHEMA)
    assert [task["data"]["item"] for task in built] == ["1001", "1002", "1003", "1004", "gold:G1"]
    assert built[0] == {
        "data": {
            "text": "My invoice shows [EMAIL] twice this month",
            "item": "1001",
            "batch": "pilot",
            "language": "en",
            "channel": "email",
        },
        "predictions": [
            {
                "model_version": "weak-rules-v1",
                "score": 0.8,
                "result": [
                    {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["billing"]}}
                ],
            }
        ],
    }
    assert [("predictions" in task) for task in built] == [True, False, True, False, False]
    unversioned = tasks(items().drop(columns="weak_score"), None)
    assert unversioned[2]["predictions"] == [{"result": built[2]["predictions"][0]["result"]}]


def test_tasks_are_what_label_studio_exports_back_as_data():
    exported = json.loads(EXPORT.read_text(encoding="utf-8"))
    built = tasks(items(), "weak-rules-v1")
    assert [task["data"] for task in built] == [task["data"] for task in exported[:5]]
    for sent, back in zip(built, exported, strict=False):
        for ours, theirs in zip(sent.get("predictions", []), back["predictions"], strict=True):
            assert ours["model_version"] == theirs["model_version"] and ours["score"] == theirs["score"]
            assert [{k: v for k, v in r.items() if k != "id"} for r in theirs["result"]] == ours["result"]


def test_tasks_refuse_items_they_cannot_send():
    with pytest.raises(LabelingInputError, match=r"lack column\(s\) \['batch'\]"):
        tasks(items().drop(columns="batch"))
    repeated = pd.concat([items(), items().head(1)], ignore_index=True)
    with pytest.raises(LabelingInputError, match=r"row\(s\) \[0, 5\] repeat an item id"):
        tasks(repeated)
    scored = items().assign(weak_score=[0.8, None, 1.7, None, None])
    with pytest.raises(LabelingInputError, match=r"row\(s\) \[2\] have a weak_score not in 0..1"):
        tasks(scored)


def test_a_broken_task_fails_the_schema_with_its_place_and_never_its_text():
    good = tasks(items(), "weak-rules-v1")
    broken = json.loads(json.dumps(good))
    broken[0]["predictions"][0]["score"] = "high"
    broken[0]["predictions"][0]["result"][0]["value"]["choices"] = []
    del broken[1]["data"]
    broken[2]["predictions"][0]["result"][0].pop("from_name")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, IMPORT_SCHEMA)
    with pytest.raises(LabelingInputError) as raised:
        validate_tasks(broken, where="batch pilot")
    message = str(raised.value)
    assert message.startswith("batch pilot: not Label Studio's task import format")
    assert "task [0] (item 1001): predictions[0].score: must be number" in message
    assert "task [0] (item 1001): predictions[0].result[0].value.choices: needs at least 1 entry" in message
    assert "task [1]: lacks `data`" in message
    assert "task [2] (item 1003): predictions[0].result[0]: lacks `from_name`" in message
    assert "high" not in message and "invoice" not in message
    with pytest.raises(LabelingInputError, match=r"\(the whole file\): must be array"):
        validate_tasks({"data": {}})


def test_a_batch_is_written_as_utf8_tasks_and_its_config(tmp_path):
    built = tasks(items().assign(text=["Café ☕ [PHONE]", "b", "c", "d", "e"]), "weak-rules-v1")
    tasks_path, config_path = write_batch(tmp_path / "pilot", built, labeling_config(CLASSES))
    assert "Café ☕ [PHONE]" in tasks_path.read_text(encoding="utf-8")
    assert json.loads(tasks_path.read_bytes()) == built
    assert [c.get("value") for c in ElementTree.parse(config_path).getroot().iter("Choice")] == CLASSES
    with pytest.raises(LabelingInputError, match=r"other[/\\]tasks.json: .*task \[0\]"):
        write_batch(tmp_path / "other", [{"predictions": []}], labeling_config(CLASSES))
    with pytest.raises(ValueError, match="not well-formed XML"):
        write_batch(tmp_path / "other", built, "<View>")
    assert not (tmp_path / "other").exists()


# --- in: Label Studio's JSON export ------------------------------------------------------------------


def test_an_export_as_documented_reads_into_the_annotations_frame():
    imported = read_export(EXPORT, CLASSES)
    assert (imported.tasks, imported.cancelled, imported.duplicates) == (6, 1, 1)
    pd.testing.assert_frame_equal(
        imported.frame,
        expected(
            [
                ("1001", "10", "billing", False, False, "2026-10-30T10:00:05Z", "101"),
                ("1001", "11", "account", False, False, "2026-10-30T12:00:09Z", "101"),
                ("1002", "10", "account", False, False, "2026-10-30T11:00:00Z", "102"),
                ("gold:G1", "10", "billing", True, True, "2026-10-30T14:00:00Z", "105"),
            ]
        ),
    )
    pd.testing.assert_frame_equal(
        imported.problems,
        problems(
            [
                ("101", "1001", "", "no_annotator"),
                ("104", "1004", "11", "several_choices"),
                ("104", "1004", "10", "no_choice"),
                ("105", "gold:G1", "11", "unknown_label"),
                ("106", "", "10", "no_item_id"),
            ]
        ),
    )


def test_no_email_or_name_of_an_annotator_leaves_the_export():
    imported = read_export(EXPORT, CLASSES)
    written = imported.frame.astype("str").to_csv() + imported.problems.to_csv()
    assert not [word for word in PERSONAL if word in written]


def test_the_batch_given_wins_and_a_task_without_one_is_a_problem(tmp_path):
    assert set(read_export(EXPORT, CLASSES, batch="batch-1").frame["batch"]) == {"batch-1"}
    exported = json.loads(EXPORT.read_text(encoding="utf-8"))
    for task in exported:
        task["data"].pop("batch", None)
        for annotation in task["annotations"]:
            annotation["completed_by"] = "reviewer@example.org" if annotation["id"] == 2001 else "u-7"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported), encoding="utf-8")
    imported = read_export(path, CLASSES)
    assert imported.frame.empty
    assert imported.problems["reason"].value_counts().to_dict() == {"no_batch": 8, "no_annotator": 1, "no_item_id": 1}
    assert "reviewer" not in imported.problems.to_csv()
    assert set(read_export(path, CLASSES, batch="pilot").frame["annotator"]) == {"u-7"}


def test_a_label_of_another_control_is_not_read_as_the_class(tmp_path):
    exported = json.loads(EXPORT.read_text(encoding="utf-8"))
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported), encoding="utf-8")
    topics = read_export(path, CLASSES, from_name="topic")
    assert topics.frame.empty and set(topics.problems["reason"]) == {"no_choice", "no_annotator", "no_item_id"}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such file; export the project from Label Studio"),
        ('[{"id": 1, "data": {}', r"not valid JSON \(line 1, column 22: "),
        ('{"id": 1, "data": {}}', "the top level is an object, not a list of tasks"),
        ('[{"text": "hello", "label": [{"choices": ["billing"]}]}]', "looks like the JSON_MIN or CSV export"),
        ('[{"id": 1, "data": {"item": "1"}, "annotations": []}, {"id": 2, "annotations": []}]', r"task \[1\] has no"),
        ('[{"id": 9, "data": {"item": "1"}, "annotations": {"a": 1}}]', r"task \[0\] \(id 9\): `annotations` is not"),
    ],
)
def test_an_export_that_cannot_be_read_names_the_file_and_what_to_do(tmp_path, content, says):
    path = tmp_path / "project-7-at-2026-10-31.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(LabelingInputError, match=says) as raised:
        read_export(path, CLASSES)
    assert str(path) in str(raised.value)
    assert isinstance(raised.value, ValueError) and exit_code(raised.value) == BAD_DATA == 1
    assert "hello" not in str(raised.value)


def test_an_export_not_in_utf8_is_named(tmp_path):
    path = tmp_path / "export.json"
    content = '[{"data": {"text": "café"}}]'
    path.write_bytes(content.encode("cp1252"))
    with pytest.raises(LabelingInputError, match=rf"export\.json: not UTF-8 \(byte {content.index('é')}\)"):
        read_export(path, CLASSES)


# --- CSV for teams without Label Studio ---------------------------------------------------------------


def test_a_task_sheet_round_trips_through_a_spreadsheet(tmp_path):
    sheet_path = write_tasks_csv(items(), tmp_path / "pilot.csv")
    sheet = pd.read_csv(sheet_path, dtype="str", keep_default_na=False)
    assert list(sheet.columns) == [
        "item",
        "batch",
        "text",
        "language",
        "channel",
        "suggested_label",
        "suggested_score",
        "annotator",
        "label",
    ]
    assert sheet[["item", "suggested_label", "suggested_score"]].values.tolist() == [
        ["1001", "billing", "0.8"],
        ["1002", "", ""],
        ["1003", "technical", "0.6"],
        ["1004", "", ""],
        ["gold:G1", "", ""],
    ]
    # Annotators fill the sheet in a European spreadsheet: `;`, a byte-order mark, CRLF, padding.
    first = sheet.assign(annotator=" ann-1 ", label=["Billing ", "account", "technical", "", "billing"])
    second = sheet.head(2).assign(annotator="ann-2", label=["billing", "refund"])
    filled = pd.concat([first, second], ignore_index=True)
    back = tmp_path / "pilot-filled.csv"
    back.write_bytes(b"\xef\xbb\xbf" + filled.to_csv(sep=";", index=False, lineterminator="\r\n").encode("utf-8"))
    imported = read_annotations_csv(back, CLASSES)
    assert (imported.tasks, imported.cancelled, imported.duplicates) == (5, 0, 0)
    pd.testing.assert_frame_equal(
        imported.frame,
        expected(
            [
                ("1001", "ann-1", "billing", False, False, None, ""),
                ("1002", "ann-1", "account", False, False, None, ""),
                ("1003", "ann-1", "technical", False, False, None, ""),
                ("gold:G1", "ann-1", "billing", True, False, None, ""),
                ("1001", "ann-2", "billing", False, False, None, ""),
            ],
            tool="csv",
        ),
    )
    pd.testing.assert_frame_equal(
        imported.problems,
        problems([("row 5", "1004", "ann-1", "no_choice"), ("row 8", "1002", "ann-2", "unknown_label")]),
    )


def test_a_task_sheet_never_hands_a_spreadsheet_a_formula(tmp_path):
    texts = ['=HYPERLINK("http://example.com/x","click")', "+1 [PHONE] called", "@team help", "plain - text"]
    path = write_tasks_csv(items().head(4).assign(text=texts, channel="=cmd"), tmp_path / "sheet.csv")
    sheet = pd.read_csv(path, dtype="str", keep_default_na=False)
    assert sheet["text"].tolist() == [f"'{text}" for text in texts[:3]] + ["plain - text"]
    assert set(sheet["channel"]) == {"'=cmd"} and sheet["item"].tolist() == ["1001", "1002", "1003", "1004"]


def test_an_annotations_sheet_as_people_write_it(tmp_path):
    path = tmp_path / "labels.csv"
    lines = [
        " Item ; Annotator ; Label ; Batch ; Annotated_At ",
        "1001 ; ann-1 ; billing ; pilot ; 2026-10-31T09:00:00Z",
        "",
        ";;;;",
        "1001 ; ann-1 ; account ; pilot ; 2026-10-31 22:30-05:00",
        "1002 ; ann-1 ; technical ; pilot ; 2026-10-31T10:00:00+01:00",
        "1002 ; ; billing ; pilot ;",
        "1003 ; jane.doe@example.org ; billing ; pilot ;",
        " ; ann-2 ; billing ; pilot ;",
        "1004 ; ann-2 ; billing ; ; ",
        "1005 ; ann-2 ; billing ; pilot ; 31/10/2026",
        "gold:G2 ; ann-2 ; TECHNICAL ; pilot ;",
        ";;;;",
    ]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n")
    imported = read_annotations_csv(path, CLASSES)
    assert (imported.tasks, imported.cancelled, imported.duplicates) == (6, 0, 1)
    pd.testing.assert_frame_equal(
        imported.frame,
        expected(
            [
                ("1001", "ann-1", "account", False, False, "2026-11-01T03:30:00Z", ""),
                ("1002", "ann-1", "technical", False, False, "2026-10-31T09:00:00Z", ""),
                ("gold:G2", "ann-2", "technical", True, False, None, ""),
            ],
            tool="csv",
        ),
    )
    pd.testing.assert_frame_equal(
        imported.problems,
        problems(
            [
                ("row 7", "1002", "", "no_annotator"),
                ("row 8", "1003", "", "no_annotator"),
                ("row 9", "", "ann-2", "no_item_id"),
                ("row 10", "1004", "ann-2", "no_batch"),
                ("row 11", "1005", "ann-2", "bad_timestamp"),
            ]
        ),
    )
    assert "jane" not in imported.problems.to_csv() + imported.frame.astype("str").to_csv()
    assert set(read_annotations_csv(path, CLASSES, batch="batch-2").frame["batch"]) == {"batch-2"}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such file"),
        (b"", "empty; a sheet starts with a header line"),
        (b"item,annotator,category\n1,a,billing\n", r"lacks column\(s\) \['label'\]"),
        ("item;annotator;label\n1;a;facturación\n".encode("cp1252"), "line 2: not UTF-8"),
        (b'item,annotator,label\n1,a,"billing\n2,b,account\n', "cannot be read as CSV"),
    ],
)
def test_a_sheet_that_cannot_be_read_names_the_file(tmp_path, content, says):
    path = tmp_path / "labels.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(LabelingInputError, match=says) as raised:
        read_annotations_csv(path, CLASSES)
    assert str(path) in str(raised.value) and exit_code(raised.value) == 1


def test_readers_return_empty_typed_frames_for_nothing_labelled(tmp_path):
    path = tmp_path / "export.json"
    path.write_text("[]", encoding="utf-8")
    imported = read_export(path, CLASSES)
    assert imported.tasks == 0 and imported.frame.empty and imported.problems.empty
    assert dict(imported.frame.dtypes.astype("str")) == {
        name: str(pd.Series(dtype=dtype).dtype) for name, dtype in ANNOTATION_COLUMNS.items()
    }
    sheet = write_tasks_csv(items(), tmp_path / "pilot.csv")
    untouched = read_annotations_csv(sheet, CLASSES)
    assert (untouched.tasks, len(untouched.frame), len(untouched.problems)) == (5, 0, 0)


def test_fixtures_say_where_their_shape_comes_from():
    readme = (HERE / "README.md").read_text(encoding="utf-8")
    assert "labelstud.io/guide/export" in readme and "serializers.py" in readme
    assert Path(EXPORT).read_text(encoding="utf-8").count('"completed_by": {') == 5
