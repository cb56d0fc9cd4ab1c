"""The one shape every imported annotation takes, whichever tool it came from (Label Studio's
export JSON, or a CSV): one row per (item, annotator) label."""

from __future__ import annotations

import pandas as pd

#: prefix of a gold item's id in tasks and annotations: `gold:G3` is the guideline's example G3
GOLD_PREFIX = "gold:"

#: column -> pandas dtype of an annotations frame
ANNOTATION_COLUMNS: dict[str, str] = {
    "item": "str",  # the dataset's example id, or `gold:<id>` for a gold item of the guideline
    "annotator": "str",  # the annotator's id as the tool records it (never an e-mail address)
    "label": "str",  # one of labels.classes
    "batch": "str",  # the plan's batch the task was sent in (`pilot`, `batch-1`, ...)
    "gold": "bool",  # a gold item of the guideline, scored against its answer, not adjudicated
    "ground_truth": "bool",  # Label Studio's ground-truth flag on the annotation
    "annotated_at": "datetime64[us, UTC]",  # when it was last updated; NaT when the tool does not say
    "tool": "str",  # label_studio or csv
    "task": "str",  # the tool's task id ("" for a CSV)
}


def empty_annotations() -> pd.DataFrame:
    """An annotations frame with no rows, every column typed."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in ANNOTATION_COLUMNS.items()})


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame`'s annotation columns in order and typed as `ANNOTATION_COLUMNS`; raises KeyError
    naming a missing column."""
    missing = [name for name in ANNOTATION_COLUMNS if name not in frame.columns]
    if missing:
        raise KeyError(f"annotations lack column(s) {missing}")
    return frame[list(ANNOTATION_COLUMNS)].astype(ANNOTATION_COLUMNS).reset_index(drop=True)
