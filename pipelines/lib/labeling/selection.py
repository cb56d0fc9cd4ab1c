"""Which unlabelled items to send to annotators to close the coverage shortfalls of the latest
gate run: targeted sampling by cell, ranked by uncertainty.

A cell is one shortfall of a coverage gate (`Account: 812 < 1000`, `pt: 240 < 300`, `chat: absent`)
with the number of examples its gate says are missing. An item fills a class cell with the
probability the text model gives that class (so more items are sent than are missing when the
model is unsure), and a language or segment cell with certainty when its (detected) language or
segment value matches. Within a cell, items that also fill other open cells come first, then the
most uncertain (active learning's uncertainty sampling: the labels that teach the model most)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.lib.quality.gate_results import GateResult, Shortfall

#: coverage gates: shortfalls that labeling more examples can close
COVERAGE_GATES = (
    "min_examples_per_class",
    "min_share_per_class",
    "min_examples_per_split",
    "min_examples_top_languages",
    "min_share_outside_language",
    "required_values",
)


@dataclass(frozen=True)
class Cell:
    """One shortfall to fill: `column` == `segment` (or != when `other_than`), `missing` examples."""

    gate: str
    column: str
    segment: str
    other_than: bool
    missing: int
    text: str

    @property
    def name(self) -> str:
        """`category=Account`, `language!=en`."""
        return f"{self.column}{'!=' if self.other_than else '='}{self.segment}"


def open_cells(gates: list[GateResult]) -> list[Cell]:
    """The cells of every coverage gate that did not pass (failed, warned or waived), one per
    column and value (the largest shortfall where two gates name the same cell)."""
    cells: dict[tuple[str, str, bool], Cell] = {}
    for gate in gates:
        if gate.name not in COVERAGE_GATES or gate.passed:
            continue
        for short in gate.failing:
            if not _fillable(short):
                continue
            key = (str(short.column), str(short.segment), short.other_than)
            cell = Cell(gate.name, key[0], key[1], key[2], int(short.missing or 0), short.text)
            if key not in cells or cells[key].missing < cell.missing:
                cells[key] = cell
    return sorted(cells.values(), key=lambda c: (-c.missing, c.name))


def _fillable(short: Shortfall) -> bool:
    return short.column is not None and short.segment is not None and bool(short.missing)


@dataclass(frozen=True)
class Selection:
    """The items chosen: `items` (pool rows, in sending order, with `cell`, `expected_fill` and
    `rank`) and, per cell, the expected examples gained and what the pool could not cover."""

    items: pd.DataFrame
    expected: dict[str, float]
    unfilled: dict[str, int]
    candidates: dict[str, int]


def fill_matrix(pool: pd.DataFrame, cells: list[Cell], proba: pd.DataFrame, label: str) -> np.ndarray:
    """items x cells: the expected contribution of each pool item to each cell, in [0, 1]. A class
    cell takes the model's probability of the class; other cells 1 where the value matches."""
    fill = np.zeros((len(pool), len(cells)))
    for j, cell in enumerate(cells):
        if cell.column == label:
            p = proba[cell.segment].to_numpy() if cell.segment in proba.columns else np.zeros(len(pool))
            fill[:, j] = 1 - p if cell.other_than else p
        elif cell.column in pool.columns:
            match = (pool[cell.column].astype("str") == cell.segment).fillna(False).to_numpy(dtype=bool)
            fill[:, j] = ~match if cell.other_than else match
    return fill


def select(
    pool: pd.DataFrame, cells: list[Cell], proba: pd.DataFrame, uncertainty: pd.Series, label: str, cap: int | None
) -> Selection:
    """Greedy targeted sampling, vectorised per cell. `pool` holds the candidates' columns (label
    predicted or not, detected language, segments), `proba` the model's class probabilities and
    `uncertainty` (0 sure .. 1 unsure), all aligned. A class cell takes the items the model
    predicts as that class; `cap` bounds the total items (labeling.max_items)."""
    pool = pool.reset_index(drop=True)
    fill = fill_matrix(pool, cells, proba.reset_index(drop=True), label)
    predicted = proba.idxmax(axis=1).reset_index(drop=True) if len(proba.columns) else pd.Series(dtype="str")
    need = np.array([c.missing for c in cells], dtype=float)
    taken = np.zeros(len(pool), dtype=bool)
    chosen: list[pd.DataFrame] = []
    candidates: dict[str, int] = {}
    unsure = uncertainty.reset_index(drop=True).to_numpy(dtype=float)
    for j, cell in enumerate(cells):
        eligible = fill[:, j] > 0
        if cell.column == label and not cell.other_than:
            eligible &= (predicted == cell.segment).to_numpy()
        candidates[cell.name] = int(eligible.sum())
        if need[j] <= 0:
            continue
        free = np.flatnonzero(eligible & ~taken)
        also = (fill[free][:, need > 0] > 0).sum(axis=1)  # open cells each item fills
        order = free[np.lexsort((-unsure[free], -also))]
        reached = np.cumsum(fill[order, j]) >= need[j] - 1e-9
        count = int(np.argmax(reached)) + 1 if reached.any() else len(order)
        picked = order[:count]
        if cap is not None:
            picked = picked[: max(0, cap - int(taken.sum()))]
        taken[picked] = True
        need -= fill[picked].sum(axis=0)
        chosen.append(pd.DataFrame({"row": picked, "cell": cell.name, "rank": np.arange(len(picked))}))
    expected = {c.name: round(float(fill[taken, j].sum()), 1) for j, c in enumerate(cells)}
    unfilled = {c.name: int(np.ceil(max(0.0, need[j]))) for j, c in enumerate(cells)}
    picks = pd.concat(chosen, ignore_index=True) if chosen else pd.DataFrame({"row": [], "cell": [], "rank": []})
    # Round robin over cells, so that the pilot (the first items) holds some of every cell.
    picks = picks.sort_values(["rank", "cell"], kind="stable")
    items = pool.iloc[picks["row"].astype(int).to_numpy()].reset_index(drop=True)
    items["cell"] = picks["cell"].to_numpy()
    items["predicted"] = predicted.iloc[picks["row"].astype(int).to_numpy()].to_numpy() if len(picks) else []
    items["uncertainty"] = unsure[picks["row"].astype(int).to_numpy()].round(4) if len(picks) else []
    return Selection(items=items, expected=expected, unfilled=unfilled, candidates=candidates)
