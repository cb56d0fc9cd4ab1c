"""Data a partner supplies under an agreement: its terms as data, the steward's decision, and the
due diligence that precedes it.

- `terms`: the terms a `kind: partner` source declares (`sources[].terms`), whether they allow
  training, and the release's licence section rolled up from every source's terms.
- `decisions`: the decision record per partner source (`decisions/<dataset>/<source>.yaml`), its
  draft, and whether a source's rows may be used at a given day.
- `assessment` (`trainset assess-partner`): a partner's sample read as ingestion reads it
  (`sample`) and measured section by section (`assessment_privacy`, `assessment_labels`,
  `assessment_coverage`, `assessment_gaps`) into a `PartnerAssessment` (`assessment_model`),
  written as Markdown and JSON with a drafted decision record (`assessment_report`).
"""
