"""The `labeling:` block of a dataset spec: what a label costs, how items are batched, who
annotates, the guideline, the agreement and gold bars, and keyword rules for weak labels."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: The batch split that lets annotators learn the guideline before the bulk of the work (the
#: seed's example 3: "split into 3 batches (30/40/30) to learn guidelines and adjust").
SEED_BATCH_SPLIT = (0.3, 0.4, 0.3)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeakLabelsSpec(_Strict):
    """Keyword rules that give unlabelled items a weak label (a cold start, before any human label).

    A weak label is marked `weak` in provenance, never counted as gold or in agreement."""

    rules: dict[str, dict[str, list[str]]] = Field(
        description="class -> language (ISO 639-1, or `*` for any) -> keywords; a keyword matches as a whole "
        "word, case-insensitively, in the redacted text."
    )
    train: bool = Field(
        default=False,
        description="Whether items with only a weak label enter the training set (marked weak); default: they "
        "are candidates for human labeling only.",
    )

    @field_validator("rules")
    @classmethod
    def _keywords_given(cls, rules: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
        empty = [
            f"{c}/{lang}" for c, by in rules.items() for lang, words in by.items() if not any(w.strip() for w in words)
        ]
        if empty:
            raise ValueError(f"weak.rules {empty}: no keyword; give at least one or remove the entry")
        return rules


class LabelingSpec(_Strict):
    """How labeling is planned and paid for, and the bars its batches are held to."""

    price_per_label: Decimal = Field(gt=0, description="Price of one label (one annotator, one item).")
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code of the price.")
    labels_per_item: int = Field(default=2, ge=1, description="Independent annotators per item (2 for agreement).")
    qa_overhead: float = Field(default=0.20, ge=0, description="QA overhead as a share of the base cost (0.20 = 20%).")
    contingency: float = Field(default=0.10, ge=0, description="Contingency as a share of the cost with QA.")
    batches: list[float] = Field(
        default=list(SEED_BATCH_SPLIT),
        min_length=1,
        description="Shares of the items after the pilot, one per batch, in order; they sum to 1.",
    )
    pilot: int = Field(
        default=200,
        ge=1,
        description="Items in the pilot batch, labelled first; 100-300 measures agreement before scaling.",
    )
    annotators: list[str] = Field(default_factory=list, description="The annotator pool: ids as the tool records them.")
    guideline: str | None = Field(
        default=None, description="Markdown guideline of rules and gold examples, relative to the workspace."
    )
    gold_per_batch: int = Field(default=10, ge=0, description="Gold items from the guideline mixed into every batch.")
    min_agreement: float = Field(
        default=0.8, ge=-1, le=1, description="Kappa a batch must reach; a pilot below it blocks scaling."
    )
    min_gold_accuracy: float = Field(
        default=0.8, ge=0, le=1, description="Share of gold items an annotator must get right; below it, flagged."
    )
    max_items: int | None = Field(default=None, ge=1, description="Most items one plan may send (a budget cap).")
    weak: WeakLabelsSpec | None = Field(default=None, description="Keyword rules for weak labels (cold start).")

    @model_validator(mode="after")
    def _batches_sum_to_one(self) -> LabelingSpec:
        total = sum(self.batches)
        if any(share <= 0 for share in self.batches) or abs(total - 1.0) > 1e-9:
            raise ValueError(f"labeling.batches {self.batches}: shares must be positive and sum to 1, got {total:g}")
        return self
