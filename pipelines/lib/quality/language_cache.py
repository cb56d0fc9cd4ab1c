"""Detected languages kept between runs, so a new day costs the detection of its new texts only.

Language detection is the dearest step of a training-set build (about half of it on 1M tickets),
and a text's language does not change from one run to the next: each distinct text's result is
kept in the warehouse, keyed by a 128-bit hash of the text (two keyed 64-bit hashes; no text is
stored) under a file named for the detector's candidate languages, so another candidate set
never reads it. Each run writes back the results of the texts it holds only: texts past
retention leave the cache with their rows.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import lingua
import pandas as pd

from pipelines.lib.files import write_parquet
from pipelines.lib.ingest.language import BACKGROUND, detect_languages
from pipelines.lib.quality.splits import text_hash

#: the two keys of the text hash (siphash keys are 16 characters)
HASH_KEYS = ("trainset-lang-01", "trainset-lang-02")
#: the cache's columns: the text's hash, and the language detected ("" when undecided)
COLUMNS = ["h1", "h2", "detected"]


def cache_file(folder: Path, candidates: list[str]) -> Path:
    """The cache of the detector for `candidates` (with the background languages), in `folder`."""
    known = sorted({c for c in candidates if c} | set(BACKGROUND))
    version = getattr(lingua, "__version__", "")
    fingerprint = hashlib.sha256(f"{version}|low-accuracy|{','.join(known)}".encode()).hexdigest()[:16]
    return folder / f"languages-{fingerprint}.parquet"


def text_keys(texts: pd.Series) -> pd.DataFrame:
    """`h1`, `h2` (uint64): the 128-bit hash of each text, aligned with `texts` (reset index)."""
    values = texts.reset_index(drop=True)
    return pd.DataFrame({name: text_hash(values, key) for name, key in zip(("h1", "h2"), HASH_KEYS, strict=True)})


def detect_languages_cached(texts: pd.Series, candidates: list[str], folder: Path) -> pd.Series:
    """What `ingest.language.detect_languages(texts, candidates)` returns (ISO 639-1 code per text,
    NA when undecided, aligned with `texts`), detecting only the distinct texts the cache under
    `folder` does not hold; writes the cache back with the results of this call's texts only.
    Raises UnknownLanguageError for a candidate the detector does not know."""
    positions, distinct = pd.factorize(texts.fillna(""))
    distinct_texts = pd.Series(distinct, dtype="str").reset_index(drop=True)
    keys = text_keys(distinct_texts)
    path = cache_file(folder, candidates)
    cached = (
        pd.read_parquet(path)
        if path.is_file()
        else pd.DataFrame(columns=COLUMNS).astype({"h1": "uint64", "h2": "uint64", "detected": "str"})
    )
    found = keys.merge(cached, on=["h1", "h2"], how="left", sort=False)
    missing = found["detected"].isna().to_numpy()
    if missing.any():
        detected = detect_languages(distinct_texts[missing], candidates)
        found.loc[missing, "detected"] = detected.fillna("").to_numpy()
    write_parquet(found[COLUMNS], path)
    for stale in folder.glob("languages-*.parquet"):  # another candidate set's results are not read again
        if stale != path:
            stale.unlink()
    codes = found["detected"].astype("str").to_numpy(dtype=object)
    result = pd.Series(codes[positions], index=texts.index, dtype="str")
    return result.where(result != "")
