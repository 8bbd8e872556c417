"""Hyperliquid L2 archive hour (LZ4 frame of JSON lines) -> the clean book table, losslessly.

Parsing uses Arrow's multithreaded JSON reader with an explicit schema and Arrow compute for the casts, so no
Python object is made per snapshot or level (see bench/bench_ingest.py for how close this is to the floor).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import lz4.frame
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from hyperliquid_assets.formats.errors import CorruptObjectError
from hyperliquid_assets.formats.schemas import L2_BOOK_SCHEMA

_LEVEL = pa.struct([("px", pa.string()), ("sz", pa.string()), ("n", pa.int32())])
_LINE = pa.schema(
    [
        ("time", pa.string()),
        ("ver_num", pa.int64()),
        (
            "raw",
            pa.struct(
                [
                    ("channel", pa.string()),
                    (
                        "data",
                        pa.struct([("coin", pa.string()), ("time", pa.int64()), ("levels", pa.list_(pa.list_(_LEVEL)))]),
                    ),
                ]
            ),
        ),
    ]
)
_PARSE_OPTIONS = pa_json.ParseOptions(explicit_schema=_LINE, unexpected_field_behavior="error")
_READ_OPTIONS = pa_json.ReadOptions(block_size=4 << 20)
_ISO_NS = "%Y-%m-%dT%H:%M:%S%.9fZ"
_ISO_NO_ZONE = "%Y-%m-%dT%H:%M:%S%.f"


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
    try:
        table = pa_json.read_json(io.BytesIO(data), read_options=_READ_OPTIONS, parse_options=_PARSE_OPTIONS)
    except pa.ArrowInvalid as exc:
        raise CorruptObjectError(source, f"malformed snapshot line: {exc}") from None
    raw = table.column("raw").combine_chunks()
    payload = raw.field("data")
    _require(source, table.num_rows > 0, "no snapshot lines")
    _require(source, raw.null_count == 0 and payload.null_count == 0, "a line has no raw.data")
    channels = pc.unique(raw.field("channel")).to_pylist()
    _require(source, channels == ["l2Book"], f"channel must be l2Book, found {channels}")
    coins = pc.unique(payload.field("coin")).to_pylist()
    _require(source, len(coins) == 1 and (coin is None or coins == [coin]), f"expected coin {coin}, found {coins}")

    levels = payload.field("levels")
    _require(source, levels.null_count == 0, "a snapshot has no levels")
    sides = pc.list_value_length(levels)
    _require(source, pc.all(pc.equal(sides, 2)).as_py(), "a snapshot does not have exactly two sides")

    columns: dict[str, pa.Array] = {
        "received_time": _parse_receive_times(table.column("time"), source),
        "exchange_time": pc.cast(payload.field("time"), pa.timestamp("ms", "UTC")),
        "ver_num": table.column("ver_num").combine_chunks(),
    }
    for index, side in enumerate(("bid", "ask")):
        side_levels = pc.list_element(levels, index)
        flat = side_levels.flatten()
        for field, dtype in (("px", pa.float64()), ("sz", pa.float64()), ("n", pa.int32())):
            values = flat.field(field)
            _require(source, values.null_count == 0, f"a {side} level has no {field}")
            try:
                values = pc.cast(values, dtype)
            except pa.ArrowInvalid as exc:
                raise CorruptObjectError(source, f"{side} {field} is not a number: {exc}") from None
            columns[f"{side}_{field}"] = pa.ListArray.from_arrays(side_levels.offsets, values)
    for name in ("received_time", "exchange_time", "ver_num"):
        _require(source, columns[name].null_count == 0, f"a snapshot has no {name}")
    frame = pl.from_arrow(pa.table(columns))
    assert isinstance(frame, pl.DataFrame)
    return frame.cast(L2_BOOK_SCHEMA)  # type: ignore[arg-type]


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
    lines = data.rstrip(b"\n").split(b"\n")
    first = parse_l2_json_lines(lines[0], source)
    last = parse_l2_json_lines(lines[-1], source)
    return SnapshotSpan(
        snapshots=len(lines),
        first_received=first["received_time"].dt.to_string(_ISO_NS)[0],
        last_received=last["received_time"].dt.to_string(_ISO_NS)[0],
    )


def _parse_receive_times(times: pa.ChunkedArray, source: str) -> pa.Array:
    # The archive writes 6 to 9 fraction digits and no zone. polars keeps all 9 (datetime would drop 3) and,
    # unlike Arrow's cast, has no ~1 s first-call cost.
    text = pl.from_arrow(times.combine_chunks())
    try:
        parsed = text.str.to_datetime(_ISO_NO_ZONE, time_unit="ns", time_zone="UTC")
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        raise CorruptObjectError(source, f"outer time is not an ISO timestamp: {exc}") from None
    return parsed.to_arrow()


def _require(source: str, condition: bool, problem: str) -> None:
    if not condition:
        raise CorruptObjectError(source, problem)
