"""Hyperliquid L2 archive hour (LZ4 frame of JSON lines) -> the clean book table, losslessly.

What a valid object is (both parsers below implement exactly this; the fuzz tests hold them to it):
- One or more complete LZ4 frames holding lines separated by `\\n` (the last may lack it); every line is one
  strict JSON object (RFC 8259, UTF-8) `{"time", "ver_num", "raw": {"channel": "l2Book", "data": {"coin", "time",
  "levels": [bids, asks]}}}` with no other keys, each level `{"px", "sz", "n"}`. Blank lines are errors.
- `time` is `YYYY-MM-DDTHH:MM:SS` with an optional 1-9 digit fraction, no zone (UTC), kept to the nanosecond;
  `ver_num` and `data.time` (exchange ms) are JSON integers in int64, `n` in int32.
- `px` and `sz` are strings holding a JSON number, or `nan` / `inf` / `infinity` (any case, optional sign). The
  value is the correctly rounded double, as Python's `float()` gives it. NaN, infinities, zero and negative values
  are transcribed, not judged: deciding that a value is impossible is quality.py's job (the blocking checks), so
  one rule serves the assets and `convert` alike.
- Exactly one coin per object (and the expected one when given); channel `l2Book`; exactly two sides, either of
  which may be empty.
Anything else raises CorruptObjectError naming the object and what is wrong; nothing else ever escapes.

Two parsers, one result:
- `_l2_scan` (C, formats/_l2_scan.c): a single pass over the archive's canonical layout (the compact key order the
  archive writes) that fills Arrow buffers directly, handed to polars through the Arrow C stream interface without
  a copy: lz4 plus this parse takes about half the time of lz4 plus a typed msgspec parse that keeps nothing
  (bench/bench_ingest.py). It only ever accepts or declines: any
  deviation from the canonical layout (whitespace, key order, escapes, NaN spelled as a string, ...) is declined.
- the general parser: msgspec's strict typed JSON decoder, line by line, then polars for the number texts. It
  decides every declined object and every object when the C module was not built.
Neither imports pyarrow (and so never pandas).
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import lz4.frame
import msgspec
import polars as pl

from hyperliquid_assets.formats.errors import CorruptObjectError
from hyperliquid_assets.formats.schemas import L2_BOOK_SCHEMA

try:
    from hyperliquid_assets.formats import _l2_scan
except ImportError:  # built without a C compiler: the general parser does all the work
    _l2_scan = None

log = logging.getLogger(__name__)

_ISO_NS = "%Y-%m-%dT%H:%M:%S%.9fZ"
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
# JSON's number grammar, or the words Python's float() reads as NaN and the infinities (no spaces, no underscores).
_NUMBER_TEXT = r"^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|(?i:[+-]?(?:nan|inf|infinity)))$"
_OUTER_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_warned_no_fast_path = False


def decompress_lz4(blob: bytes, source: str) -> bytes:
    """The JSON lines inside an object of one or more LZ4 frames (concatenated frames are legal, e.g.
    `lz4 -c >> f`); a truncated frame, trailing bytes or an empty object is an error, never a short result."""
    if not blob:
        raise CorruptObjectError(source, "empty object (0 bytes)")
    parts, rest = [], blob
    while rest:
        decompressor = lz4.frame.LZ4FrameDecompressor()
        try:
            parts.append(decompressor.decompress(rest))
        except RuntimeError as exc:
            problem = "not a complete LZ4 frame" if not parts else f"bytes after LZ4 frame {len(parts)} are not a frame"
            raise CorruptObjectError(source, f"{problem} ({exc})") from None
        if not decompressor.eof:
            raise CorruptObjectError(source, f"not a complete LZ4 frame (frame {len(parts)} is cut short)")
        rest = decompressor.unused_data or b""
    data = parts[0] if len(parts) == 1 else b"".join(parts)
    if re.search(rb"\S", data) is None:  # bytes.strip() would copy the whole hour
        raise CorruptObjectError(source, "LZ4 frame holds no snapshot lines")
    return data


def parse_l2_json_lines(data: bytes, source: str, coin: str | None = None) -> pl.DataFrame:
    """Decompressed archive lines -> one row per snapshot in L2_BOOK_SCHEMA, in archive order."""
    global _warned_no_fast_path
    if _l2_scan is None:
        if not _warned_no_fast_path:
            log.warning("the compiled L2 scanner (_l2_scan) is not built; using the general parser (7-9x slower)")
            _warned_no_fast_path = True
        return _parse_general(data, source, coin)
    scanned = _l2_scan.scan(data)
    if isinstance(scanned, str):
        log.info("%s: not in the archive's canonical layout (%s); using the general parser", source, scanned)
        return _parse_general(data, source, coin)
    stream, found_coin, _rows = scanned
    _check_coin(source, {found_coin}, coin)
    book = pl.DataFrame(_ArrowStream(stream))
    return book if book.schema == L2_BOOK_SCHEMA else book.cast(L2_BOOK_SCHEMA)  # type: ignore[arg-type]


def parse_l2_book(blob: bytes, source: str, coin: str | None = None) -> pl.DataFrame:
    """An archive hour object (.lz4) -> the clean book table."""
    return parse_l2_json_lines(decompress_lz4(blob, source), source, coin)


@dataclass(frozen=True)
class SnapshotSpan:
    """What a raw hour holds, read from its first and last line without parsing the rest."""

    snapshots: int
    first_received: str  # ISO 8601 with all 9 fraction digits, UTC
    last_received: str


def snapshot_span(data: bytes, source: str) -> SnapshotSpan:
    end = len(data) - 1 if data.endswith(b"\n") else len(data)  # the final newline is optional
    first_end = data.find(b"\n", 0, end)
    first = data[: end if first_end < 0 else first_end]
    last = data[data.rfind(b"\n", 0, end) + 1 : end]  # slices of the two lines only: the hour is never copied
    times = [parse_l2_json_lines(line, source)["received_time"].dt.to_string(_ISO_NS)[0] for line in (first, last)]
    return SnapshotSpan(snapshots=data.count(b"\n", 0, end) + 1, first_received=times[0], last_received=times[1])


class _ArrowStream:
    """Hands the scanner's Arrow C stream capsule to polars (the PyCapsule interface)."""

    def __init__(self, capsule: object) -> None:
        self._capsule = capsule

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self._capsule


def _check_coin(source: str, coins: set[str], expected: str | None) -> None:
    if len(coins) != 1 or (expected is not None and coins != {expected}):
        raise CorruptObjectError(source, f"expected coin {expected or 'one coin'}, found {sorted(coins)}")


# ---- the general parser ----


class _Level(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    px: str
    sz: str
    n: int


class _Book(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    coin: str
    time: int
    levels: list[list[_Level]]


class _Raw(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    channel: str
    data: _Book


class _Line(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One archive line, strictly typed: no other keys, no coercion (a number is not a string)."""

    time: str
    ver_num: int
    raw: _Raw


_LINE_DECODER = msgspec.json.Decoder(_Line)


def _parse_general(data: bytes, source: str, coin: str | None) -> pl.DataFrame:
    lines = data.split(b"\n")
    if len(lines) > 1 and not lines[-1]:
        lines.pop()  # the final newline is optional
    received, exchange, versions, coins = [], [], [], set()
    sides = {side: ([0], [], [], []) for side in ("bid", "ask")}  # offsets, px texts, sz texts, n
    for number, line in enumerate(lines, 1):
        where = f"line {number}"
        if not line.strip():
            raise CorruptObjectError(source, f"{where} is blank" if len(lines) > 1 else "no snapshot lines")
        try:
            snapshot = _LINE_DECODER.decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise CorruptObjectError(source, f"{where}: malformed snapshot line: {exc}") from None
        payload = snapshot.raw.data
        channel = snapshot.raw.channel
        _require(source, channel == "l2Book", f"{where}: channel must be l2Book, found {channel!r}")
        _require(source, len(payload.levels) == 2, f"{where}: a snapshot does not have exactly two sides")
        _require(source, _INT64[0] <= snapshot.ver_num <= _INT64[1], f"{where}: ver_num is out of the int64 range")
        _require(source, _INT64[0] <= payload.time <= _INT64[1], f"{where}: data.time is out of the int64 range")
        received.append(_outer_time_ns(snapshot.time, source, where))
        exchange.append(payload.time)
        versions.append(snapshot.ver_num)
        coins.add(payload.coin)
        for (offsets, pxs, szs, ns), levels in zip(sides.values(), payload.levels):
            pxs.extend([level.px for level in levels])
            szs.extend([level.sz for level in levels])
            ns.extend([level.n for level in levels])
            offsets.append(len(pxs))
    _check_coin(source, coins, coin)
    columns: dict[str, pl.Series] = {
        "received_time": pl.Series(received, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC")),
        "exchange_time": pl.Series(exchange, dtype=pl.Int64).cast(pl.Datetime("ms", "UTC")),
        "ver_num": pl.Series(versions, dtype=pl.Int64),
    }
    for side, (offsets, pxs, szs, ns) in sides.items():
        columns[f"{side}_px"] = _lists(_numbers(pxs, offsets, source, f"{side} px"), offsets, pl.Float64)
        columns[f"{side}_sz"] = _lists(_numbers(szs, offsets, source, f"{side} sz"), offsets, pl.Float64)
        if ns and not (_INT32[0] <= min(ns) and max(ns) <= _INT32[1]):
            first = next(i for i, n in enumerate(ns) if not _INT32[0] <= n <= _INT32[1])
            raise CorruptObjectError(source, f"line {bisect_right(offsets, first)}: {side} n is out of the int32 range")
        columns[f"{side}_n"] = _lists(pl.Series(ns, dtype=pl.Int32), offsets, pl.Int32)
    return pl.DataFrame(columns).cast(L2_BOOK_SCHEMA)  # type: ignore[arg-type]


def _outer_time_ns(text: str, source: str, where: str) -> int:
    match = _OUTER_TIME.fullmatch(text)
    try:
        if match is None:
            raise ValueError("not YYYY-MM-DDTHH:MM:SS[.fraction]")
        fields = [int(part) for part in match.groups()[:6]]
        moment = datetime(*fields, tzinfo=timezone.utc)  # type: ignore[misc]
    except ValueError as exc:
        raise CorruptObjectError(source, f"{where}: outer time is not an ISO timestamp: {text!r} ({exc})") from None
    fraction = match.group(7) or ""
    ns = (moment - _EPOCH) // timedelta(seconds=1) * 10**9 + int(fraction.ljust(9, "0"))
    _require(source, _INT64[0] <= ns <= _INT64[1], f"{where}: outer time {text!r} is beyond the ns range")
    return ns


def _numbers(texts: list[str], offsets: list[int], source: str, what: str) -> pl.Series:
    """Number texts -> float64, correctly rounded; the first text outside the grammar is an error naming its line."""
    series = pl.Series(texts, dtype=pl.String)
    bad = ~series.str.contains(_NUMBER_TEXT)
    if bad.any():
        first = bad.arg_true()[0]
        line = bisect_right(offsets, first)
        raise CorruptObjectError(source, f"line {line}: {what} is not a number: {texts[first]!r}")
    return series.cast(pl.Float64)


def _lists(values: pl.Series, offsets: list[int], dtype: pl.DataType) -> pl.Series:
    """Flat values and row offsets -> a list column (rows in order; a row may be empty)."""
    rows = pl.DataFrame({"length": [b - a for a, b in zip(offsets, offsets[1:])]}).with_row_index("row")
    row_of_value = rows.select(pl.col("row").repeat_by("length")).explode("row").drop_nulls()["row"]
    grouped = pl.DataFrame({"row": row_of_value, "value": values}).group_by("row", maintain_order=True).agg("value")
    lists = rows.join(grouped, on="row", how="left", maintain_order="left")["value"]
    return lists.fill_null(pl.lit([], dtype=pl.List(dtype)))


def _require(source: str, condition: bool, problem: str) -> None:
    if not condition:
        raise CorruptObjectError(source, problem)
