"""Landed text files made UTF-8 before they are read: byte-order marks, UTF-16, and a declared or
detected legacy encoding (Windows-1252 and the like, as spreadsheet exports write them).

Arrow reads UTF-8 only, so a file in another encoding is transcoded once, whole. Bytes that the
chosen encoding cannot read are kept as they were (surrogateescape), so the record holding them is
still found and quarantined as `bad_encoding` with its row and line, never dropped or guessed at.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from charset_normalizer import from_bytes

from pipelines.lib.ingest.record_set import UnreadableFile

#: byte-order marks and the codec each announces; UTF-32's comes first, as it begins with UTF-16's
BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]
#: legacy encodings detection may choose, most common in exports first: when several read the
#: bytes equally well (most Windows code pages agree on the letters of a short file), the first wins
LEGACY = [
    "cp1252",
    "cp1250",
    "cp1251",
    "cp1253",
    "cp1254",
    "cp1257",
    "iso8859_15",
    "latin_1",
    "mac_roman",
    "koi8_r",
    "shift_jis",
    "euc_jp",
    "gb18030",
    "big5",
    "euc_kr",
]
#: how much messier than the best reading another encoding's may be and still count as a tie
TIE = 0.01
# A character above ASCII that decoded as UTF-8: a file holding one is UTF-8 with a few damaged
# bytes, not a legacy file; transcoding it would garble every correct character.
UTF8_BEYOND_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")


@dataclass(frozen=True)
class Utf8:
    """A file's bytes as UTF-8 (except bytes no encoding could read, kept as they were), and the
    encoding it was read as (`utf-8` when it already was)."""

    data: bytes
    encoding: str


def as_utf8(data: bytes, declared: str | None = None) -> Utf8:
    """`data` (a whole file) as UTF-8, without any byte-order mark.

    A byte-order mark decides; else `declared` (a Python codec name); else UTF-8 when the bytes are
    valid UTF-8; else the legacy encoding detected (`detect_legacy`); else the bytes as they are.
    Raises LookupError for an unknown `declared` codec, UnreadableFile when the bytes break the
    encoding a byte-order mark (or the declaration) names in a way no record can be set aside for."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            return _transcode(data[len(bom) :], codec)
    if declared is not None:
        return _transcode(data, declared)
    if is_utf8(data):
        return Utf8(data, "utf-8")
    detected = detect_legacy(data)
    return _transcode(data, detected) if detected else Utf8(data, "utf-8")


def is_utf8(data: bytes) -> bool:
    """Whether `data` is valid UTF-8; checked by Arrow over the bytes in place, without a copy."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    array = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def detect_legacy(data: bytes) -> str | None:
    """The legacy encoding (one of LEGACY) that reads `data` best, or None when none is a clear
    reading: the bytes also hold valid multi-byte UTF-8, or every candidate reads them as noise."""
    if UTF8_BEYOND_ASCII.search(data.decode("utf-8", errors="surrogateescape")):
        return None
    results = list(from_bytes(data, cp_isolation=LEGACY))
    if not results:
        return None
    best = min(result.chaos for result in results)
    # charset-normalizer reports one of the encodings that decode the bytes to the same text; the
    # others are in `could_be_from_charset`
    readable = {codec for result in results if result.chaos <= best + TIE for codec in result.could_be_from_charset}
    return next((codec for codec in LEGACY if codec in readable), None)


def _transcode(data: bytes, codec: str) -> Utf8:
    name = codecs.lookup(codec).name
    if name == "utf-8":
        return Utf8(data, name)
    try:
        text = data.decode(codec, errors="surrogateescape")
    except UnicodeDecodeError as error:  # UTF-16 and -32 cannot keep a stray byte aside: the file is cut or mixed
        raise UnreadableFile(
            f"the file is not {name} from byte {error.start} on ({error.reason}); re-export it, or declare the "
            "source's `encoding:` if it is another"
        ) from None
    return Utf8(text.encode("utf-8", errors="surrogateescape"), name)
