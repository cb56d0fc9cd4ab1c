"""Coverage audit: production (the eligible rows, labelled or not) against the training set, per
segment, and what to collect or label so the training set looks like production."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from pipelines.lib.files import write_text
from pipelines.lib.ingest.language import detect_languages
from pipelines.lib.quality.splits import joined_text
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths

#: a segment is under-represented when its training share is below this part of its production share
UNDER = 0.8


class AuditRow(BaseModel):
    """One value of one column in production and in the training set."""

    model_config = ConfigDict(frozen=True)

    column: str
    value: str
    production: int = Field(ge=0)
    production_share: float
    training: int = Field(ge=0)
    training_share: float
    to_add: int = Field(ge=0, description="Examples to add for the training share to reach production's.")


class CoverageAudit(BaseModel):
    """Every segment's production and training shares, and what to collect."""

    model_config = ConfigDict(frozen=True)

    dataset: str
    production_rows: int
    production_labelled: int = Field(description="Production rows with a label: the label mix is theirs.")
    training_rows: int
    rows: list[AuditRow]
    proposals: list[str]


def coverage_audit(paths: DatasetPaths, spec: DatasetSpec) -> CoverageAudit:
    """Compare eligible (production) with the training set per label, language and segment value.
    A value whose training share is under `UNDER` x its production share is proposed for
    collection with the examples to add: n_add = (p x N - n) / (1 - p)."""
    production = pd.read_parquet(paths.eligible)
    training = pd.read_parquet(paths.training_set)
    language = spec.language_column
    if language not in production.columns:  # detected in the training set only: detect the same way
        production[language] = detect_languages(joined_text(production, spec.columns.text), spec.languages)
    rows, proposals = [], []
    for column in [spec.labels.column, language, *spec.columns.segments]:
        prod = production[column].dropna().astype("str").value_counts()
        train = training[column].dropna().astype("str").value_counts().reindex(prod.index, fill_value=0)
        p_total, t_total = int(prod.sum()), len(training)
        for value, n_prod in prod.items():
            p_share = n_prod / p_total if p_total else 0.0
            n_train = int(train[value])
            t_share = n_train / t_total if t_total else 0.0
            add = max(0, math.ceil(round((p_share * t_total - n_train) / (1 - p_share), 9))) if p_share < 1 else 0
            rows.append(
                AuditRow(
                    column=column,
                    value=str(value),
                    production=int(n_prod),
                    production_share=round(p_share, 4),
                    training=n_train,
                    training_share=round(t_share, 4),
                    to_add=add,
                )
            )
            if t_share < UNDER * p_share and add:
                proposals.append(
                    f"{column}={value}: {p_share:.1%} of production, {t_share:.1%} of the training set: "
                    f"collect and label about {add} more"
                )
    return CoverageAudit(
        dataset=spec.name,
        production_rows=len(production),
        production_labelled=int(production[spec.labels.column].notna().sum()),
        training_rows=len(training),
        rows=rows,
        proposals=proposals,
    )


def write_audit(paths: DatasetPaths, audit: CoverageAudit) -> Path:
    """audit.md, audit.json and audit.csv under data/labeling/<dataset>/audit/; returns the folder."""
    folder = paths.labeling_work / "audit"
    folder.mkdir(parents=True, exist_ok=True)
    write_text(audit.model_dump_json(indent=2) + "\n", folder / "audit.json")
    table = pd.DataFrame([r.model_dump() for r in audit.rows])
    table.to_csv(folder / "audit.csv", index=False)
    lines = [
        f"# Coverage audit — {audit.dataset}",
        "",
        f"Production: {audit.production_rows} eligible rows ({audit.production_labelled} labelled: the label "
        f"shares are theirs); training set: {audit.training_rows} examples. A value is proposed when its "
        f"training share is under {UNDER:.0%} of its production share; `to add` would make the two equal.",
        "",
        "## Proposed collection",
        "",
        *([f"- {p}" for p in audit.proposals] or ["- none: no segment is under-represented"]),
        "",
        "## Shares",
        "",
        "| column | value | production | share | training | share | to add |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
        *[
            f"| {r.column} | {r.value} | {r.production} | {r.production_share:.1%} | {r.training} | "
            f"{r.training_share:.1%} | {r.to_add} |"
            for r in audit.rows
        ],
    ]
    write_text("\n".join(lines) + "\n", folder / "audit.md")
    return folder
