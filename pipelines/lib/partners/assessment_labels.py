"""Sections 3 and 4 of a partner assessment: how the partner's classes map to ours, and how far its
labels agree with ours on the items both have labelled.

Our labels, most trusted first: our annotators' re-labels of sample records (`--relabelled`), the
guideline's gold examples, the adjudicated labels of the labeling store, and the labels of our
eligible rows. Items are matched by their normalised redacted text (the duplicate key of
`quality.splits`), since our text is stored redacted; re-labels by the partner's record id.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipelines.lib.errors import BAD_DATA
from pipelines.lib.ingest.records import UnreadableFile, read_records
from pipelines.lib.labeling.adjudication import adjudicate, read_decisions
from pipelines.lib.labeling.agreement import cohen_kappa, one_vs_rest_cohen
from pipelines.lib.labeling.guideline import load_guideline
from pipelines.lib.labeling.store import decisions_file, load_annotations
from pipelines.lib.partners.assessment_model import ClassFit, Confusion, Finding, LabelFit, LabelQuality, Mapping
from pipelines.lib.partners.assessment_privacy import NOT_SHOWN, looks_like_a_name
from pipelines.lib.partners.sample import AssessmentError, PartnerSample
from pipelines.lib.privacy.redaction import PII_TYPES, redact
from pipelines.lib.quality.splits import normalised_text
from pipelines.lib.spec import SOURCE_COLUMN, DatasetSpec
from pipelines.lib.workspace import DatasetPaths

#: Fewest items agreement is judged on. The seed pilots labeling on 100-300 items before trusting
#: agreement; at 100 items a kappa near 0.8 has a 95% interval of about +-0.08 (Cohen's large-sample
#: standard error with 90% raw agreement over four balanced classes), narrow enough to tell a
#: partner at the bar from one clearly under it; at 30 items it is +-0.15, which cannot.
MIN_ITEMS = 100
#: a partner class shown by name: letters first, then words, no digit runs, no `@`
CLASS_NAME = re.compile(r"[^\W\d_][\w .&/+()'-]{0,63}")
#: fewest rows an undeclared partner class is carried by to be shown by name
MIN_ROWS_SHOWN = 3
#: disagreements listed
CONFUSIONS_SHOWN = 5


def shown_class(name: str, rows: int, declared: bool) -> str:
    """The partner's class name if it may be shown, else `<not shown>`. A class the spec declares
    (in `label_map` or `labels.classes`) is shown; another only when shaped like a class name,
    holding no PII the engine finds, and carried by `MIN_ROWS_SHOWN` rows or more: a shifted
    column can put a customer's data where the label should be, and an id is in one row."""
    if declared:
        return name
    if rows < MIN_ROWS_SHOWN or not CLASS_NAME.fullmatch(name) or re.search(r"\d{3}", name):
        return NOT_SHOWN
    counts = redact(pa.array([name], type=pa.large_string()), PII_TYPES).counts
    return NOT_SHOWN if any(n.sum() for n in counts.values()) else name


def label_fit(sample: PartnerSample, spec: DatasetSpec) -> tuple[LabelFit, list[Finding]]:
    """The partner's classes with their rows, each mapped to ours (or not), and our classes the
    sample never has."""
    classes, label_map = spec.labels.classes, sample.source.label_map
    theirs = sample.their_labels
    blank = theirs.isna() | (theirs.fillna("").str.strip() == "")
    fits = []
    how: Mapping
    for name, n in theirs[~blank].value_counts().sort_index().items():
        name = str(name)
        if name in label_map:
            ours, how = label_map[name], "mapped" if label_map[name] is not None else "no counterpart"
        elif name in classes:
            ours, how = name, "ours"
        else:
            ours, how = None, "unknown"
        fits.append(ClassFit(theirs=shown_class(name, int(n), how != "unknown"), rows=int(n), ours=ours, how=how))
    labelled = int((~blank).sum())
    mapped = sum(f.rows for f in fits if f.ours is not None)
    ours_counts = sample.rows.loc[~blank, spec.labels.column].value_counts()
    per_class = {name: int(ours_counts.get(name, 0)) for name in classes}
    never = [name for name, n in per_class.items() if n == 0]
    findings = []
    for how, words in (("no counterpart", "map to null (no counterpart)"), ("unknown", "are neither mapped nor ours")):
        rows = sum(f.rows for f in fits if f.how == how)
        if rows:
            reason = "unmapped_label" if how == "no counterpart" else "unknown_label"
            findings.append(
                Finding(
                    section="labels",
                    level="note",
                    text=f"{rows} of {labelled} labelled rows carry classes that {words}: quarantined as {reason}",
                )
            )
    if never:
        findings.append(Finding(section="labels", level="note", text=f"the sample has no rows of {', '.join(never)}"))
    unmapped = labelled - mapped
    share = unmapped / labelled if labelled else 0.0
    verdict = (
        f"{len(fits)} partner classes; {mapped} of {labelled} labelled rows map to ours, {unmapped} ({share:.1%}) "
        "do not" + (f"; never in the sample: {', '.join(never)}" if never else "; every class of ours is present")
    )
    section = LabelFit(
        verdict=verdict,
        labelled=labelled,
        blank=int(blank.sum()),
        classes=fits,
        mapped_rows=mapped,
        unmapped_rows=unmapped,
        unmapped_share=round(share, 4),
        ours=per_class,
        never_seen=never,
    )
    return section, findings


def read_relabelled(path: Path, sample: PartnerSample, spec: DatasetSpec) -> pd.Series:
    """Our annotators' labels of sample records: a CSV with the partner's record id (the export's
    id column name, the dataset's, or `id`) and our label (`label` or the dataset's label column).
    Returns label by record id (the last row of an id wins). Raises AssessmentError naming the file,
    the line and the column, never a value."""
    if spec.columns.id is None:
        raise AssessmentError(f"{path}: dataset {spec.name!r} declares no id column: re-labels name records by id")
    if not path.is_file():
        raise AssessmentError(f"{path}: no such file; pass our annotators' re-labels with --relabelled")
    id_names = [spec.id_column, sample.export_name(spec.id_column), "id"]
    try:
        records = read_records(path, "csv", id_names[1])
    except (UnreadableFile, pa.ArrowException, UnicodeDecodeError):
        raise AssessmentError(
            f"{path}: cannot be read as CSV; expected a header line, then id,label rows", BAD_DATA
        ) from None
    table = records.rows
    id_column = next((name for name in id_names if name in table.columns), None)
    label_column = next((name for name in ("label", spec.labels.column) if name in table.columns), None)
    if id_column is None or label_column is None:
        found = [name for name in table.columns if name not in ("row", "line") and looks_like_a_name(name)]
        raise AssessmentError(
            f"{path}: expected columns {id_names[1]!r} (or {spec.id_column!r}, 'id') and 'label' (or "
            f"{spec.labels.column!r}); found {found}"
        )
    if len(records.malformed):
        first = records.malformed.iloc[0]
        raise AssessmentError(f"{path}:{first['line']}: a record that cannot be parsed ({first['reason']})", BAD_DATA)
    labels = table[label_column].fillna("").str.strip()
    wrong = ~labels.isin(spec.labels.classes)
    if wrong.any():
        line = int(table.loc[wrong, "line"].iloc[0])
        raise AssessmentError(
            f"{path}:{line}: {label_column} is not one of the classes ({', '.join(spec.labels.classes)}); "
            f"{int(wrong.sum())} row(s) like it",
            BAD_DATA,
        )
    return pd.Series(labels.to_numpy(), index=table[id_column].str.strip().to_numpy()).groupby(level=0).last()


def our_labels(paths: DatasetPaths, spec: DatasetSpec) -> dict[str, pd.Series]:
    """Our labels by normalised redacted text, per reference (gold, adjudicated, eligible); a text
    whose labels disagree within a reference is left out of it."""
    found: dict[str, pd.Series] = {}
    guideline = spec.labeling.guideline if spec.labeling else None
    if guideline and paths.landing(guideline).is_file():
        gold = load_guideline(paths.landing(guideline), spec.labels.classes).gold
        texts = pd.Series([g.text for g in gold], dtype="str")
        redacted = redact(pa.array(texts, type=pa.large_string()), spec.privacy.redact, regions=spec.phone_regions)
        keys = normalised_text(pd.DataFrame({"text": redacted.text.to_pandas()}), ["text"])
        found["gold"] = _unambiguous(keys, pd.Series([g.label for g in gold]))
    if not paths.eligible.is_file():
        return found
    eligible = pd.read_parquet(paths.eligible)
    keys = normalised_text(eligible, spec.columns.text)
    # A partner's labels are not ours: only our own sources' labels, and our adjudications, judge them.
    # (Rows stored before they named their source are all our own.)
    own = eligible.get(SOURCE_COLUMN, pd.Series(pd.NA, index=eligible.index)).isin(
        [s.name for s in spec.sources if s.kind == "partner"]
    )
    own = ~own
    annotations, _ = load_annotations(paths)
    human = annotations[~annotations["gold"]]
    if len(human):
        settled = adjudicate(human, read_decisions(decisions_file(paths), spec.labels.classes)).labels
        by_id = settled.set_index("item")["label"]
        adjudicated = eligible[spec.id_column].astype("str").map(by_id)
        found["adjudicated"] = _unambiguous(keys[adjudicated.notna()], adjudicated.dropna())
    found["eligible"] = _unambiguous(keys[own], eligible.loc[own, spec.labels.column])
    return found


def _unambiguous(keys: pd.Series, labels: pd.Series) -> pd.Series:
    """Label by key, for the keys whose labels all agree."""
    table = pd.DataFrame({"key": keys.to_numpy(), "label": labels.to_numpy()}).dropna()
    table = table[table["key"] != ""]
    kinds = table.groupby("key")["label"].nunique()
    agreed = table[table["key"].isin(kinds.index[kinds == 1])]
    return agreed.drop_duplicates("key").set_index("key")["label"]


def label_quality(
    sample: PartnerSample,
    spec: DatasetSpec,
    references: dict[str, pd.Series],
    relabelled: pd.Series | None,
) -> tuple[LabelQuality, list[Finding]]:
    """Raw agreement and Cohen's kappa of the partner's labels (mapped to ours) with ours, on the
    sample rows we have a label for, each taking our most trusted label."""
    rows, label, classes = sample.rows, spec.labels.column, spec.labels.classes
    ours = pd.Series(pd.NA, index=rows.index, dtype="str")
    source = pd.Series(pd.NA, index=rows.index, dtype="str")
    key = sample.text_key(spec)
    columns = [normalised_text(rows, [c]) for c in spec.columns.text]
    lookups: list[tuple[str, pd.Series]] = []
    if relabelled is not None:
        lookups.append(("relabelled", rows[spec.id_column].astype("str").map(relabelled)))
    if "gold" in references:  # a gold text is one text: it may equal any of the row's text columns
        gold = references["gold"]
        lookups.append(("gold", _first_of([key.map(gold), *(c.map(gold) for c in columns)])))
    lookups += [(name, key.map(references[name])) for name in ("adjudicated", "eligible") if name in references]
    for name, found in lookups:
        take = ours.isna() & found.notna()
        ours[take], source[take] = found[take], name
    compared = ours.notna() & rows[label].isin(classes)
    partner, mine = rows.loc[compared, label].astype("str"), ours[compared].astype("str")
    n = int(compared.sum())
    counts = {"relabelled": len(relabelled) if relabelled is not None else 0}
    counts |= {name: len(labels) for name, labels in references.items()}
    matched = {str(k): int(v) for k, v in source[compared].value_counts().items()}
    bar = _bar(spec)
    judged = n >= MIN_ITEMS
    raw = float((partner == mine).mean()) if n else None
    kappa = cohen_kappa(partner.reset_index(drop=True), mine.reset_index(drop=True)) if judged else None
    low, high = _interval(partner, mine, kappa) if kappa is not None else (None, None)
    per_class = one_vs_rest_cohen(partner, mine, classes) if judged else {}
    table = pd.crosstab(partner, mine) if n else pd.DataFrame()
    confusions = [
        Confusion(partner=str(a), ours=str(b), items=int(v))
        for (a, b), v in (table.stack().sort_values(ascending=False, kind="stable").items() if n else [])
        if a != b and v
    ][:CONFUSIONS_SHOWN]
    findings = []
    if not judged:
        verdict = f"too few items to judge: {n} compared, {MIN_ITEMS} needed"
        findings.append(
            Finding(
                section="label quality",
                level="condition",
                text=f"label quality is not judged ({n} items, {MIN_ITEMS} needed): our annotators re-label at least "
                f"{MIN_ITEMS - n} more sample records (--relabelled) before the partner's labels are used",
            )
        )
    elif kappa is None:
        verdict = f"kappa undefined over {n} items: every label is one class"
    else:
        below = bar is not None and kappa < bar
        verdict = f"kappa {kappa:.3f} (95% {low:.2f}..{high:.2f}), raw agreement {raw:.1%} over {n} items" + (
            f"; {'below' if below else 'at least'} the bar {bar}" if bar is not None else ""
        )
        if below:
            findings.append(
                Finding(
                    section="label quality",
                    level="condition",
                    text=f"the partner's labels agree with ours at kappa {kappa:.3f} over {n} items, below the bar "
                    f"{bar}: our annotators re-label its rows before they are used",
                )
            )
    section = LabelQuality(
        verdict=verdict,
        references=counts,
        matched=matched,
        items=n,
        minimum=MIN_ITEMS,
        judged=judged,
        raw_agreement=None if raw is None else round(raw, 4),
        kappa=None if kappa is None else round(kappa, 4),
        kappa_low=low,
        kappa_high=high,
        per_class={k: round(v, 4) for k, v in per_class.items() if v is not None},
        confusions=confusions,
        bar=bar,
    )
    return section, findings


def _first_of(series: list[pd.Series]) -> pd.Series:
    found = series[0]
    for more in series[1:]:
        found = found.where(found.notna(), more)
    return found


def _bar(spec: DatasetSpec) -> float | None:
    if "min_label_agreement" in spec.gates:
        return float(spec.gates["min_label_agreement"].min)  # type: ignore[attr-defined]
    return spec.labeling.min_agreement if spec.labeling else None


def _interval(first: pd.Series, second: pd.Series, kappa: float) -> tuple[float, float]:
    """Kappa +- 1.96 standard errors, the large-sample error sqrt(po (1 - po) / (n (1 - pe)^2))
    (Cohen 1960), clipped to [-1, 1]."""
    n = len(first)
    observed = float((first.to_numpy() == second.to_numpy()).mean())
    p1, p2 = first.value_counts(normalize=True), second.value_counts(normalize=True)
    chance = float((p1 * p2.reindex(p1.index, fill_value=0)).sum())
    if chance >= 1:
        return kappa, kappa
    error = math.sqrt(observed * (1 - observed) / (n * (1 - chance) ** 2))
    return round(max(-1.0, kappa - 1.96 * error), 4), round(min(1.0, kappa + 1.96 * error), 4)
