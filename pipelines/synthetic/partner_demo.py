"""The partner data demo: our tickets with too few Account examples for the coverage bar, and two
partners' deliveries declared as `kind: partner` sources of the dataset `triage_partners`.

    python -m pipelines.synthetic.partner_demo prepare   # our export, two deliveries, the spec
    python -m pipelines.synthetic.partner_demo sign      # a steward signs the drafted decisions

northwind sends a `;`-delimited CSV with a byte-order mark in its own schema (its own column
names, class names, Berlin time, ticket numbers that are also ours), mostly login and account
cases, under terms that allow training; globex sends JSONL under a non-commercial licence that
denies training. `sign` stands for the steward: it writes a name and a date into each drafted
record (`decisions/triage_partners/<source>.yaml`) and keeps the decision as drafted."""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import yaml

from pipelines.lib.partners.decisions import TODO, decision_path
from pipelines.lib.workspace import last_complete_day
from pipelines.synthetic.generate import GeneratorConfig, generate

DATASET = "triage_partners"
EXPORT = Path("data/exports/triage_partners.csv")
NORTHWIND = Path("data/landing/partners/northwind/northwind-delivery-1.csv")
GLOBEX = Path("data/landing/partners/globex/globex-sample.jsonl")
#: northwind's columns -> ours (its `rename` in the spec below)
NORTHWIND_COLUMNS = {
    "ticket_id": "Ticket Nr",
    "user_id": "Kunden-ID",
    "created_at": "Erstellt",
    "channel": "Kanal",
    "language": "Sprache",
    "subject": "Betreff",
    "body": "Beschreibung",
    "category": "Team",
}
#: our classes -> northwind's (the inverse of its `label_map`), and its class with no counterpart
NORTHWIND_CLASSES = {
    "Billing": "Payments",
    "Technical": "Tech Support",
    "Account": "Login & Account",
    "Other": "General",
}
UNMAPPED = "Sales Leads"

SPEC = """\
# Our tickets hold too few Account examples; two partners offer theirs (`make demo-partner`).
type: pipelines.components.TrainingDataset

requirements:
  env: [TRAINSET_PSEUDONYM_KEY]

attributes:
  name: triage_partners
  description: >-
    Support tickets labelled with their category for the ticket-triage classifier, with a
    partner's tickets where its terms and a signed decision allow.
  owner: support-ml
  steward: data-governance
  escalation:
    gate_failure: data-governance
    pii_found: privacy-office
    deletion_request: privacy-office

  sources:
    - name: tickets
      path: data/exports/triage_partners.csv
      format: csv
      owner: support-platform
      steward: support-ops
      legal_basis: legitimate_interest
      licence: internal-use-only
      escalation:
        gate_failure: support-ops
        pii_found: privacy-office
        deletion_request: privacy-office
      start_date: "{start}"
    - name: northwind
      kind: partner
      path: data/landing/partners/northwind
      deletions: data/landing/partners/northwind-deletions   # the delete lists it sends
      format: csv
      delimiter: ";"
      timezone: Europe/Berlin
      id_prefix: "nw:"                  # its ticket numbers are also ours
      owner: partnerships
      steward: data-governance
      legal_basis: contract
      escalation:
        gate_failure: partnerships
        pii_found: privacy-office
        deletion_request: partnerships
      start_date: "{start}"
      rename: {rename}
      label_map: {label_map}
      terms:
        licence: proprietary
        commercial_use: allowed
        model_training: allowed
        derivatives: allowed
        sub_licensing: denied
        share_alike: not_required
        attribution: "Contains support tickets provided by Northwind Support Services GmbH (agreement NW-2026-04)"
        retention: P24M
        deletion_on_request: required
        geography: worldwide
        agreement_expires: "{expires}"
        contract: NW-2026-04
    - name: globex
      kind: partner
      path: data/landing/partners/globex
      format: jsonl
      id_prefix: "gx:"
      owner: partnerships
      steward: data-governance
      legal_basis: contract
      escalation:
        gate_failure: partnerships
        pii_found: privacy-office
        deletion_request: partnerships
      start_date: "{start}"
      terms:
        licence: CC-BY-NC-4.0
        commercial_use: denied
        model_training: denied
        attribution: Globex Corporation

  columns:
    id: ticket_id
    user: user_id
    timestamp: created_at
    text: [subject, body]
    language: language
    segments: [channel]

  privacy:
    redact: [email, phone, credit_card, iban, ip_address, us_ssn]
    key_env: TRAINSET_PSEUDONYM_KEY

  labels:
    column: category
    classes: [Billing, Technical, Account, Other]

  labeling:
    price_per_label: 0.09
    currency: USD
    labels_per_item: 2
    qa_overhead: 0.20
    contingency: 0.10
    pilot: 200
    batches: [0.3, 0.4, 0.3]
    gold_per_batch: 10
    min_agreement: 0.8
    min_gold_accuracy: 0.8

  languages: [en, es, de, fr, pt]

  gates:
    min_examples_per_class: {{min: {bar}, severity: error}}
    min_examples_per_split: {{min: 5, severity: error}}
    max_quarantine_rate: {{max: 0.05, severity: error}}
    max_split_leakage: {{max: 0.01, severity: error}}
"""


def prepare(root: Path, rows: int = 3000, seed: int = 43, as_of: date | None = None) -> Path:
    """Write our export (Account scarce), northwind's and globex's deliveries, the spec under
    pipelines/defs/triage_partners/ and its GX suite (ticket_triage's, renamed). Returns the spec
    file. The same arguments always write the same bytes."""
    end = as_of or last_complete_day()
    weights = {"Billing": 0.42, "Technical": 0.40, "Account": 0.04, "Other": 0.14}
    ours = generate(GeneratorConfig(rows=rows, seed=seed, as_of=end, months=3, class_weights=weights)).tickets
    _write_csv(ours, root / EXPORT)
    partner = {"Billing": 0.10, "Technical": 0.10, "Account": 0.70, "Other": 0.10}
    theirs = generate(GeneratorConfig(rows=1200, seed=seed + 1, as_of=end, months=2, class_weights=partner)).tickets
    _write_northwind(theirs, root / NORTHWIND)
    globex = generate(GeneratorConfig(rows=400, seed=seed + 2, as_of=end, months=2, class_weights=partner)).tickets
    path = root / GLOBEX
    path.parent.mkdir(parents=True, exist_ok=True)
    globex[list(NORTHWIND_COLUMNS)].to_json(path, orient="records", lines=True, force_ascii=False)
    # The bar: more Account examples than ours alone, fewer than ours with northwind's.
    bar = int((ours["category"] == "Account").sum()) + 200
    start = (end - timedelta(days=100)).isoformat()
    folder = root / "pipelines" / "defs" / DATASET
    folder.mkdir(parents=True, exist_ok=True)
    label_map = {theirs: ours for ours, theirs in NORTHWIND_CLASSES.items()} | {UNMAPPED: None}
    spec = folder / "defs.yaml"
    spec.write_text(
        SPEC.format(
            start=start,
            bar=bar,
            expires=(end + timedelta(days=365)).isoformat(),
            rename=json.dumps({v: k for k, v in NORTHWIND_COLUMNS.items()}, ensure_ascii=False),
            label_map=json.dumps(label_map, ensure_ascii=False),
        ),
        encoding="utf-8",
    )
    project = Path(__file__).resolve().parents[2]
    suite = json.loads((project / "expectations" / "ticket_triage.json").read_text(encoding="utf-8"))
    suite["name"] = DATASET
    (root / "expectations").mkdir(exist_ok=True)
    (root / "expectations" / f"{DATASET}.json").write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")
    return spec


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n")


def _write_northwind(tickets: pd.DataFrame, path: Path) -> None:
    """Northwind's export: its columns and classes, Berlin local time without an offset, every
    twentieth ticket in its own class with no counterpart, `;` and a byte-order mark."""
    frame = tickets[list(NORTHWIND_COLUMNS)].copy()
    frame["category"] = frame["category"].map(NORTHWIND_CLASSES)
    frame.loc[frame.index % 20 == 7, "category"] = UNMAPPED
    local = pd.to_datetime(frame["created_at"], utc=True).dt.tz_convert("Europe/Berlin")
    frame["created_at"] = local.dt.strftime("%Y-%m-%d %H:%M:%S")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.rename(columns=NORTHWIND_COLUMNS).to_csv(
        path, index=False, sep=";", encoding="utf-8-sig", lineterminator="\r\n"
    )


def sign(root: Path, approver: str = "dana.steward", on: date | None = None) -> list[Path]:
    """Sign each drafted record of the dataset's partner sources as drafted: the approver's name
    and the day where the draft leaves TODO. Returns the records signed; a record already signed
    is left as it is."""
    signed = []
    for source in ("northwind", "globex"):
        path = decision_path(root, DATASET, source)
        if not path.is_file():
            raise SystemExit(f"no drafted record at {path}: run trainset assess-partner {DATASET} --source {source}")
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
        if record.get("approver") != TODO:
            continue
        record |= {"approver": approver, "date": (on or last_complete_day()).isoformat()}
        header = "".join(line + "\n" for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#"))
        path.write_text(header + yaml.safe_dump(record, sort_keys=False, allow_unicode=True), encoding="utf-8")
        signed.append(path)
    return signed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["prepare", "sign"])
    parser.add_argument("--workspace", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    root = args.workspace.resolve()
    if args.step == "prepare":
        print(f"wrote {prepare(root).relative_to(root)}, {EXPORT}, {NORTHWIND} and {GLOBEX}")
    else:
        for path in sign(root):
            print(f"signed {path.relative_to(root)}")


if __name__ == "__main__":
    main()
