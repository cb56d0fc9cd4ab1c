"""Data a partner supplies under an agreement: its terms as data, and the steward's decision.

- `terms`: the terms a `kind: partner` source declares (`sources[].terms`), whether they allow
  training, and the release's licence section rolled up from every source's terms.
- `decisions`: the decision record per partner source (`decisions/<dataset>/<source>.yaml`), its
  draft, and whether a source's rows may be used at a given day.
"""
