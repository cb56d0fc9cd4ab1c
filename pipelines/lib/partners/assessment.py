"""The due-diligence assessment of a partner source's sample (`trainset assess-partner`): the seed's
partner checks (fit, quality, licensing, compliance; "approve only if coverage gaps are closed and
licensing permits model training") measured on the partner's own export, and the decision record
it drafts for the steward.

    assessed = assess_partner(root, spec, "acme", Path("exports/acme-sample.csv"), as_of=date.today())
    assessed.assessment   # PartnerAssessment: every section's figures, the findings, the drafted decision
    assessed.draft        # the decision record's YAML, approver and date left TODO

Sections: schema fit and PII (`assessment_privacy`), label fit and quality (`assessment_labels`),
overlap and freshness (`assessment_coverage`), gap closure and ROI (`assessment_gaps`), terms and
decision (here). Each finding is `blocking` (the draft rejects), a `condition` (the draft approves
on it) or a `note`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from pipelines.lib.partners.assessment_coverage import (
    freshness,
    ids_of_other_sources,
    our_texts,
    overlap,
    usable_rows,
)
from pipelines.lib.partners.assessment_gaps import gap_closure, no_gate_run, roi
from pipelines.lib.partners.assessment_labels import label_fit, label_quality, our_labels, read_relabelled
from pipelines.lib.partners.assessment_model import (
    DecisionSummary,
    Finding,
    PartnerAssessment,
    Section,
    TermsAndDecision,
)
from pipelines.lib.partners.assessment_privacy import pii_inventory, schema_fit
from pipelines.lib.partners.decisions import (
    DECISIONS_FOLDER,
    Decision,
    DecisionRecordError,
    decision_path,
    draft_record,
    load_decision,
    partner_usable,
)
from pipelines.lib.partners.sample import DEFAULT_ROWS, AssessmentError, partner_source, read_sample
from pipelines.lib.partners.terms import Verdict, allows_training
from pipelines.lib.quality.gate_report import GateReportError, load_run
from pipelines.lib.report_files import read_gate_run
from pipelines.lib.reports import GateRun
from pipelines.lib.spec import DatasetSpec
from pipelines.lib.workspace import DatasetPaths

#: one section of the assessment, as a measure returns it with its findings
S = TypeVar("S", bound=Section)


@dataclass(frozen=True)
class Assessed:
    """An assessment and the decision record it drafts (YAML text)."""

    assessment: PartnerAssessment
    draft: str


def assess_partner(
    root: Path,
    spec: DatasetSpec,
    source: str,
    sample_path: Path,
    *,
    as_of: date,
    rows: int = DEFAULT_ROWS,
    rows_available: int | None = None,
    price: Decimal | None = None,
    relabelled: Path | None = None,
) -> Assessed:
    """Assess the first `rows` records of `sample_path`, an export of the `kind: partner` source
    `source` of `spec`, in the workspace `root`, as of `as_of`. `rows_available` is the partner's
    stated delivery size (default: the sample's records), `price` what it asks (in the spec's
    labeling currency), `relabelled` a CSV of our labels of sample records by id.

    Raises AssessmentError (its `exit_code`: 2 for usage, 1 for a file that cannot be read)."""
    if rows_available is not None and rows_available < 1:
        raise AssessmentError(f"--rows-available {rows_available}: the partner's delivery holds at least one record")
    if price is not None and price < 0:
        raise AssessmentError(f"--price {price}: a price is zero or more, in {_currency(spec)}")
    paths = DatasetPaths(root, spec.name)
    partner = partner_source(spec, source)
    sample = read_sample(sample_path, spec, partner, rows, as_of)
    relabels = read_relabelled(relabelled, sample, spec) if relabelled is not None else None
    findings: list[Finding] = []

    def kept(measured: tuple[S, list[Finding]]) -> S:
        """A section's result, its findings gathered in section order."""
        findings.extend(measured[1])
        return measured[0]

    schema = kept(schema_fit(sample, spec))
    pii = kept(pii_inventory(sample, spec))
    fit = kept(label_fit(sample, spec))
    quality = kept(label_quality(sample, spec, our_labels(paths, spec), relabels))
    texts = our_texts(paths, spec, partner.name)
    repeats = kept(overlap(sample, spec, texts, ids_of_other_sources(paths, spec, partner.name)))
    fresh = kept(freshness(sample, spec, as_of))
    usable, removed = usable_rows(sample, spec, texts, as_of)
    available = rows_available or sample.records
    run = latest_gate_run(paths)
    costs, roi_note = None, ""
    if run is None:
        gaps = no_gate_run(spec, len(usable), removed, sample.records, available)
        gated = " (a partner is approved only if its rows close coverage gaps)"
        findings.append(Finding(section="coverage", level="condition", text=gaps.verdict + gated))
        roi_note = "no gate results: no gap to price"
    else:
        gaps, measured, found = gap_closure(paths, spec, run, usable, removed, sample.records, available)
        findings.extend(found)
        if spec.labeling is None:
            roi_note = f"{spec.name} declares no `labeling:` block: our own labels have no price to compare with"
        else:
            costs = kept(roi(paths, spec, measured, price))
    assert partner.terms is not None  # a partner source declares its terms (SourceSpec refuses one without)
    training = allows_training(partner.terms, as_of)
    findings += [Finding(section="terms", level="blocking", text=r) for r in training.reasons if not training.allowed]
    blocking = [f.text for f in findings if f.level == "blocking"]
    conditions = [f.text for f in findings if f.level == "condition"]
    drafted = Decision.REJECT if blocking else (Decision.CONDITIONAL if conditions else Decision.APPROVE)
    terms = _terms_section(root, spec, partner.name, training, as_of, drafted)
    summary = [f"coverage: {gaps.verdict}", f"label quality: {quality.verdict}", f"compliance: {pii.verdict}"]
    # A rejection lists what blocks it first, then what would still be asked; an approval its
    # terms, then the sections' results (its conditions go under `conditions:`).
    verdict = Verdict(allowed=False, reasons=blocking) if blocking else training
    draft = draft_record(
        spec.name,
        partner.name,
        verdict,
        findings=[*conditions, *summary] if blocking else summary,
        conditions=conditions,
        expiry=partner.terms.agreement_expires,
    )
    assessment = PartnerAssessment(
        dataset=spec.name,
        source=partner.name,
        sample=str(sample_path.relative_to(root)) if sample_path.is_relative_to(root) else str(sample_path),
        rows=rows,
        as_of=as_of,
        assessed_at=datetime.now(UTC).replace(microsecond=0),
        schema_fit=schema,
        pii=pii,
        label_fit=fit,
        label_quality=quality,
        overlap=repeats,
        freshness=fresh,
        gaps=gaps,
        roi=costs,
        roi_note=roi_note,
        terms=terms,
        findings=findings,
        conditions=conditions,
    )
    return Assessed(assessment, draft)


def latest_gate_run(paths: DatasetPaths) -> GateRun | None:
    """The latest run's gates (`gate_report.load_run`); after a run a check stopped before the
    gates, the latest run that measured them; None when no run measured any."""
    try:
        review = load_run(paths)
    except GateReportError:
        return None
    if review.gates:
        return GateRun(run_id=review.run_id, as_of=review.as_of, gates=list(review.gates))
    return read_gate_run(paths)


def _terms_section(
    root: Path, spec: DatasetSpec, source: str, training: Verdict, as_of: date, drafted: Decision
) -> TermsAndDecision:
    """The terms' verdict, the current decision record (if any, and whether it can be read), and
    where the draft goes."""
    partner = next(s for s in spec.sources if s.name == source)
    assert partner.terms is not None
    path = decision_path(root, spec.name, source)
    record, problem = None, None
    try:
        record = load_decision(root, spec.name, source)
    except DecisionRecordError as error:
        problem = str(error)
    usable = partner_usable(partner.terms, record, as_of, dataset=spec.name, source=source)
    if problem:
        usable = Verdict(allowed=False, reasons=[f"the decision record cannot be read: {problem}"])
    relative = (DECISIONS_FOLDER / spec.name / f"{source}.yaml").as_posix()
    exists = path.exists()
    verdict = (
        f"terms {'allow' if training.allowed else 'do not allow'} training; "
        + (
            f"record: {record.decision.value} by {record.approver} on {record.date}"
            if record
            else ("record unreadable" if problem else "no decision record yet")
        )
        + f"; drafted: {drafted.value}"
        + (f" ({relative} kept as it is)" if exists else f" -> {relative}")
    )
    return TermsAndDecision(
        verdict=verdict,
        training=training,
        record=None
        if record is None
        else DecisionSummary(
            decision=record.decision, approver=record.approver, signed_on=record.date, expiry=record.expiry
        ),
        record_problem=problem,
        usable=usable,
        draft=relative,
        draft_written=not exists,
        drafted=drafted,
    )


def _currency(spec: DatasetSpec) -> str:
    return spec.labeling.currency if spec.labeling else "the labeling currency"
