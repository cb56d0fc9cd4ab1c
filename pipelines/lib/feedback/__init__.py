"""Prediction outcomes of a deployed model, turned into metrics, drift and labels.

- `declaration`: the `feedback:` block of a spec.
- `store`, `migrations/`: the events table (PostgreSQL, or SQLite as the embedded default), its
  versioned migrations (Alembic), logging one event, reading events by watermark or by day.
- `events`: the ingested events' columns, validation and quarantine reasons.
- `metrics`: acceptance, change, ignore and misroute rates with Wilson intervals, per model version
  x class x segment x day and week.
- `drift`: each week against week 1: class and segment mix (Jensen-Shannon, PSI, chi-square),
  acceptance change (two-proportion test).
- `labels`: consented events as labels with provenance.
- `report`: the pilot report (HTML, JSON) and its post-mortem draft.
"""
