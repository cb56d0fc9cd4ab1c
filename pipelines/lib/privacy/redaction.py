"""PII redaction of text columns: typed placeholders, vectorised with RE2 (pyarrow.compute).

How a column is redacted:
1. Detection reads an ASCII shadow of the text (`pii_fold`): digits, dashes and spaces of any
   script, and full-width forms, as ASCII, character for character.
2. One scan (`pii_shapes.CANDIDATE`) finds the rows holding a candidate span; in those rows every
   span is cut out at once (each wrapped in a marker, then split on it), so spans and the text
   between them are flat Arrow arrays.
3. The rule table (`pii_rules`) decides each span from its shape, the text around it and a
   confirmation (checksums, phonenumbers' metadata): a PII type or a look-alike to keep.
4. A span no rule takes (two phone numbers in a row, a date glued to a number...) is looked at
   group by group: every run of its digit groups is decided by the same rules, and the earliest
   run taken wins, the longest for a value and the shortest for a look-alike.
5. Values are replaced in the original text (the shadow's offsets are the original's) and the
   pieces joined back.
Only the spans (and rows with characters to fold) ever reach Python, never every row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.lib.privacy import pii_fold
from pipelines.lib.privacy.pii_rules import PLACEHOLDERS, RULES, classify
from pipelines.lib.privacy.pii_shapes import CANDIDATE
from pipelines.lib.privacy.pii_spans import LEFT_CHARS, RIGHT_CHARS, Spans, buffers
from pipelines.lib.privacy.redaction_runs import Edits, apply_edits, decide_runs

PII_TYPES = tuple(PLACEHOLDERS)
# National phone numbers are judged in these regions when a caller names none.
DEFAULT_REGIONS = ("US", "GB", "DE", "FR", "ES", "IN", "BR", "IT", "PT")
_MARK = "\x00"  # never in the shadow: folding turns NUL into a space
T = TypeVar("T")


@dataclass(frozen=True)
class RedactionResult:
    """Redacted text and, per row, how many values of each PII type were replaced (no values)."""

    text: pa.ChunkedArray
    counts: dict[str, np.ndarray]

    @property
    def replaced(self) -> dict[str, int]:
        """Total replacements per PII type."""
        return {pii_type: int(n.sum()) for pii_type, n in self.counts.items()}


def redact(
    text: pa.Array | pa.ChunkedArray,
    pii_types: Sequence[str],
    threads: int = 2,
    regions: Sequence[str] | None = None,
) -> RedactionResult:
    """Replace every value of the given PII types in `text` with its typed placeholder.

    `text` is any Arrow string array (nulls read as ""); the result has the same length, as
    large strings. `regions` (ISO 3166 alpha-2) are where national phone numbers are validated
    (default `DEFAULT_REGIONS`); international forms are validated for every country code.
    Large inputs are cut in `threads` slices of equal bytes redacted concurrently (pyarrow
    releases the GIL). Raises ValueError for an unknown PII type or region.
    """
    unknown = set(pii_types) - set(PII_TYPES)
    if unknown:
        raise ValueError(f"unknown PII types {sorted(unknown)}; known: {list(PII_TYPES)}")
    array = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    array = array.cast(pa.large_string()) if array.type != pa.large_string() else array
    array = pc.fill_null(array, "")
    wanted = frozenset(pii_types)
    chosen = tuple(sorted({r.upper() for r in regions})) if regions else DEFAULT_REGIONS
    unknown_regions = sorted(set(chosen) - phonenumbers.SUPPORTED_REGIONS)
    if unknown_regions:
        raise ValueError(f"unknown regions {unknown_regions}: use ISO 3166 alpha-2 codes phonenumbers knows")
    threads = threads if len(array) >= 8_192 else 1
    sizes = pc.binary_length(array).to_numpy()
    parts = _in_slices(sizes, threads, lambda rows: _redact_slice(array[rows], wanted, chosen))
    counts = {t: np.concatenate([found[t] for _, found in parts]) for t in PII_TYPES if t in wanted}
    return RedactionResult(pa.chunked_array([part for part, _ in parts]), counts)


def _in_slices(weights: np.ndarray, threads: int, work: Callable[[slice], T]) -> list[T]:
    """`work` on `threads` consecutive slices of rows of equal total weight, concurrently."""
    if threads <= 1:
        return [work(slice(0, len(weights)))]
    ends = np.cumsum(weights)
    cuts = np.searchsorted(ends, np.linspace(0, ends[-1], threads + 1)[1:-1]).tolist()
    bounds = [0, *cuts, len(weights)]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(work, [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]))


def _redact_slice(
    array: pa.Array, wanted: frozenset[str], regions: tuple[str, ...], passes: int = 3
) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """Redact `array`; rows where a value was cut from a longer span (an IBAN and the start of
    the next one) go through again, since the rest of that span was never looked at."""
    out, counts, again = _redact_pass(array, wanted, regions)
    if len(again) and passes > 1:
        redone, more = _redact_slice(pc.take(out, again), wanted, regions, passes - 1)
        mask = np.zeros(len(out), dtype=bool)
        mask[again] = True
        out = pc.replace_with_mask(out, pa.array(mask), redone)
        for pii_type, n in more.items():
            counts[pii_type][again] += n
    return out, counts


def _redact_pass(
    array: pa.Array, wanted: frozenset[str], regions: tuple[str, ...]
) -> tuple[pa.Array, dict[str, np.ndarray], np.ndarray]:
    counts = {t: np.zeros(len(array), dtype=np.int64) for t in PII_TYPES if t in wanted}
    shadow, exotic = pii_fold.shadow(array)
    # Marking every row costs less than finding the rows with a span first and marking those.
    pieces = pc.split_pattern(pc.replace_substring_regex(shadow, CANDIDATE, rf"{_MARK}\0{_MARK}"), _MARK)
    flat = pc.list_flatten(pieces)
    offsets = pieces.offsets.to_numpy()
    parent = pc.list_parent_indices(pieces).to_numpy()
    at = np.flatnonzero((np.arange(len(flat)) - offsets[parent]) % 2 == 1)  # spans sit between gaps
    if not len(at):
        return array, counts, at
    whole_spans = pc.take(flat, at)
    text, lead = _unbracket(whole_spans)
    left = _context(flat, at - 1, -LEFT_CHARS)
    opening = np.flatnonzero(lead)
    if len(opening):  # the bracket a span opened with is text before it, as the rules see it
        bracket = pc.utf8_slice_codeunits(pc.take(whole_spans, opening), 0, 1)
        gaps = pc.take(flat, at[opening] - 1)
        joined = pc.binary_join_element_wise(gaps, bracket, pa.scalar("", pa.large_string()))
        within = np.zeros(len(at), dtype=bool)
        within[opening] = True
        left = pc.replace_with_mask(left, pa.array(within), pc.utf8_slice_codeunits(joined, -LEFT_CHARS))
    spans = Spans(text=text, left=left, right=_context(flat, at + 1, RIGHT_CHARS), regions=regions)
    verdicts, whole, edits, partial = _decide(spans, wanted)
    for pii_type, n in counts.items():
        np.add.at(n, parent[at], verdicts[pii_type])
    # Spans replaced whole take their placeholder; partly replaced ones, and those that keep the
    # bracket they opened with, are rebuilt in Python.
    placeholders = np.array([*PLACEHOLDERS.values(), ""], dtype=object)
    changed = whole < len(PLACEHOLDERS)
    changed[list(edits)] = True
    replaced = np.flatnonzero(changed)
    values = placeholders[whole[replaced]]
    rebuild = np.flatnonzero((lead[replaced] > 0) | np.isin(replaced, list(edits)))
    if len(rebuild):
        originals = pc.take(flat, at[replaced[rebuild]]).to_pylist()
        for position, original in zip(rebuild.tolist(), originals, strict=True):
            values[position] = _rebuilt(original, int(replaced[position]), lead, whole, edits)
    folded = exotic.to_numpy(zero_copy_only=False)
    lengths = pc.utf8_length(flat).to_numpy(zero_copy_only=False) if folded.any() else None
    mask = np.zeros(len(flat), dtype=bool)
    mask[at[replaced]] = True
    flat = pc.replace_with_mask(flat, pa.array(mask), pa.array(values.tolist(), pa.large_string()))
    out = pc.binary_join(pa.ListArray.from_arrays(pieces.offsets, flat), pa.scalar("", pa.large_string()))
    if lengths is not None:  # rows read through the shadow: their values are cut from the original
        out = _restore_originals(out, folded, array, offsets, lengths, at, lead, whole, edits)
    return out, counts, np.unique(parent[at[partial]])


def _context(pieces: pa.Array, at: np.ndarray, chars: int) -> pa.Array:
    """The first `chars` characters of each piece at `at` (its last -`chars` for a negative
    count). Byte windows over the pieces' buffer where they hold ASCII only (most text): slicing
    by characters reads every byte of a long piece, a window reads the ones it keeps."""
    data, offsets = buffers(pieces)
    starts, ends = offsets[at], offsets[at + 1]
    if chars < 0:
        starts = np.maximum(starts, ends + chars)
    else:
        ends = np.minimum(ends, starts + chars)
    bounds = np.empty(2 * len(at), dtype=np.int64)
    bounds[0::2], bounds[1::2] = starts, ends
    # Every even element is a window; the odd ones are the bytes between two (never read). A
    # window that starts inside a character is not UTF-8: only ASCII ones are kept as they are.
    laid = pa.LargeStringArray.from_buffers(len(bounds) - 1, pa.py_buffer(bounds), pieces.buffers()[2])
    windows = pc.take(laid, pa.array(np.arange(0, len(bounds), 2)))
    other = np.flatnonzero(~pc.string_is_ascii(windows).to_numpy(zero_copy_only=False))
    if not len(other):
        return windows
    whole = pc.take(pieces, at[other])
    sliced = pc.utf8_slice_codeunits(whole, chars) if chars < 0 else pc.utf8_slice_codeunits(whole, 0, chars)
    mask = np.zeros(len(at), dtype=bool)
    mask[other] = True
    return pc.replace_with_mask(windows, pa.array(mask), sliced)


def _unbracket(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """(spans, characters cut from their start): an opening bracket whose span holds no closing
    one, `(0151 30015397)`, is not part of the value; it stays in the text, before the placeholder."""
    lead = np.zeros(len(text), dtype=np.int64)
    data, offsets = buffers(text)
    if not len(data):
        return text, lead
    starts = np.flatnonzero(data[np.minimum(offsets[:-1], len(data) - 1)] == ord("("))
    if not len(starts):
        return text, lead
    opening = starts[
        pc.match_substring_regex(pc.take(text, starts), r"^\( *[^ )][^)]*$").to_numpy(zero_copy_only=False)
    ]
    if not len(opening):
        return text, lead
    spans = pc.take(text, opening)
    rest = pc.replace_substring_regex(spans, r"^\( *", "")
    lead[opening] = pc.utf8_length(spans).to_numpy(zero_copy_only=False) - pc.utf8_length(rest).to_numpy(
        zero_copy_only=False
    )
    within = np.zeros(len(text), dtype=bool)
    within[opening] = True
    return pc.replace_with_mask(text, pa.array(within), rest), lead


def _rebuilt(original: str, span: int, lead: np.ndarray, whole: np.ndarray, edits: dict[int, Edits]) -> str:
    """A span's text with its values replaced: `original` is the span as the text has it, the
    bracket it may open with included."""
    cut = int(lead[span])
    if whole[span] < len(PLACEHOLDERS):
        return original[:cut] + [*PLACEHOLDERS.values()][whole[span]]
    return original[:cut] + apply_edits(original[cut:], edits[span])


def _decide(
    spans: Spans, wanted: frozenset[str]
) -> tuple[dict[str, np.ndarray], np.ndarray, dict[int, Edits], np.ndarray]:
    """Per span: values found per type, the placeholder index of a span replaced whole
    (len(PLACEHOLDERS) for none), the edits of spans replaced in part, and the spans whose value
    was only their start."""
    rule, cut = classify(spans)
    types = list(PLACEHOLDERS)
    # the placeholder index of each rule's verdict (len(types) for keep), then one per span
    by_rule = np.array([types.index(r.verdict) if r.verdict in wanted else len(types) for r in RULES] + [len(types)])
    kind = by_rule[rule]  # rule -1 (undecided) reads the last entry
    taken = kind < len(types)
    found = {t: (kind == i).astype(np.int64) for i, t in enumerate(types) if t in wanted}
    whole = np.where(taken & (cut == spans.length), kind, len(types))
    edits: dict[int, Edits] = {}
    partial = [int(i) for i in np.flatnonzero(taken & (cut < spans.length))]
    for i in partial:
        edits[i] = [(0, int(cut[i]), PLACEHOLDERS[types[kind[i]]])]
    undecided = np.flatnonzero(rule < 0)
    if len(undecided):
        for i, span_edits in decide_runs(spans, undecided).items():
            kept = [e for e in span_edits if _type_of(e[2]) in wanted]
            if kept:
                edits[i] = kept
                partial.append(i)  # the span's other groups may start a value the scan joined to this one
                for e in kept:
                    found[_type_of(e[2])][i] += 1
    return found, whole, edits, np.array(partial, dtype=np.int64)


def _type_of(placeholder: str) -> str:
    return next(t for t, p in PLACEHOLDERS.items() if p == placeholder)


def _restore_originals(
    out: pa.Array,
    folded: np.ndarray,
    originals: pa.Array,
    offsets: np.ndarray,
    lengths: np.ndarray,
    at: np.ndarray,
    lead: np.ndarray,
    whole: np.ndarray,
    edits: dict[int, Edits],
) -> pa.Array:
    """Rows read through the shadow, rebuilt from their original text: each piece (`lengths`
    code points, row by row as `offsets` say) cut from it, each replaced span's placeholders put in."""
    span_of = {int(flat_index): k for k, flat_index in enumerate(at.tolist())}
    rows = np.flatnonzero(folded)
    rebuilt = []
    for row, original in zip(rows.tolist(), pc.take(originals, rows).to_pylist(), strict=True):
        parts, position = [], 0
        for flat_index in range(offsets[row], offsets[row + 1]):
            piece = original[position : position + lengths[flat_index]]
            position += lengths[flat_index]
            k = span_of.get(flat_index)
            if k is not None and (whole[k] < len(PLACEHOLDERS) or k in edits):
                piece = _rebuilt(piece, k, lead, whole, edits)
            parts.append(piece)
        rebuilt.append("".join(parts))
    mask = np.zeros(len(out), dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(out, pa.array(mask), pa.array(rebuilt, pa.large_string()))
