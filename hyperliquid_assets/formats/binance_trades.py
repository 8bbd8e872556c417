"""Binance daily trade zips (+ .CHECKSUM) -> the clean trades table, one schema for every market and kind.

What varies between files and is normalized here: a header row or none (spot never has one, futures since
2022), column names (`quantity`/`qty`, `transact_time`/`time`), the time unit (spot moved from ms to us on
2025-01-01; the unit is read from each value's magnitude, not from the date), boolean spelling (`True`/`true`),
and COIN-M quantities in contracts.

What a valid file is: a zip with one member whose size and CRC-32 match, holding UTF-8 CSV lines; an optional
header row (a first line that does not start with a digit) naming each column once and at least trade id, price,
quantity, time and is_buyer_maker; every row has every column, none empty; no double quote, and no carriage return
but in CRLF line ends (a double quote is an ordinary character: Binance never quotes); ids and times are integers (optional sign, leading spaces allowed), times a non-negative
epoch value; prices and quantities are decimal numbers, and NaN or infinities are transcribed as such (quality.py's
blocking checks reject them, as in the L2 parser); booleans are true/false in any case. Anything else raises
CorruptObjectError naming the file; nothing else ever escapes.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from typing import Iterator

import polars as pl
from isal import isal_zlib

from hyperliquid_assets.formats.errors import CorruptObjectError
from hyperliquid_assets.formats.schemas import TRADES_SCHEMA
from hyperliquid_assets.settings import BinanceListing

# Column order of files without a header row, by (market, kind), from the binance-public-data README.
_POSITIONAL_COLUMNS: dict[tuple[str, str], list[str]] = {
    ("spot", "trades"): ["id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match"],
    ("spot", "aggTrades"): [
        "agg_trade_id", "price", "qty", "first_trade_id", "last_trade_id", "time", "is_buyer_maker", "is_best_match",
    ],
    ("usdm", "trades"): ["id", "price", "qty", "quote_qty", "time", "is_buyer_maker"],
    ("coinm", "trades"): ["id", "price", "qty", "base_qty", "time", "is_buyer_maker"],
    ("usdm", "aggTrades"): [
        "agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "transact_time", "is_buyer_maker",
    ],
}
_POSITIONAL_COLUMNS[("coinm", "aggTrades")] = _POSITIONAL_COLUMNS[("usdm", "aggTrades")]

_SYNONYMS = {"id": "trade_id", "agg_trade_id": "trade_id", "quantity": "qty", "transact_time": "time"}
_DTYPES = {
    "trade_id": pl.Int64, "first_trade_id": pl.Int64, "last_trade_id": pl.Int64, "price": pl.Float64,
    "qty": pl.Float64, "quote_qty": pl.Float64, "base_qty": pl.Float64, "time": pl.Int64,
    "is_buyer_maker": pl.Boolean, "is_best_match": pl.Boolean,
}
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
CHUNK_BYTES = 16 << 20  # measured best of 8-128 MB on 2 cores
_NON_SPACE = re.compile(rb"\S")


def parse_checksum(text: bytes | str, source: str) -> tuple[str, str]:
    """`<sha256>  <file name>` with or without a trailing newline -> (hex digest, file name)."""
    if isinstance(text, bytes):
        text = text.decode("ascii", errors="replace")
    parts = text.strip().split()
    if len(parts) != 2 or len(parts[0]) != 64 or any(c not in "0123456789abcdef" for c in parts[0].lower()):
        raise CorruptObjectError(source, f"not a CHECKSUM file ('<sha256>  <name>'): {text[:100]!r}")
    return parts[0].lower(), parts[1]


def verify_checksum(blob: bytes, checksum_text: bytes | str, source: str) -> str:
    """The zip's sha256 if it matches its CHECKSUM file (digest and file name), else CorruptObjectError."""
    expected, name = parse_checksum(checksum_text, source + ".CHECKSUM")
    if name != source.rsplit("/", 1)[-1]:
        raise CorruptObjectError(source, f"CHECKSUM names {name}, not this file")
    actual = hashlib.sha256(blob).hexdigest()
    if actual != expected:
        raise CorruptObjectError(source, f"sha256 {actual} does not match CHECKSUM {expected}")
    return actual


def _has_content(data: bytes) -> bool:
    """Whether `data` holds anything but white space, without copying it (bytes.strip() would copy a whole day)."""
    return _NON_SPACE.search(data) is not None


# What zipfile raises on a damaged central directory besides BadZipFile (a non-UTF-8 name flagged as UTF-8 is a
# UnicodeDecodeError, a ValueError); none of it may escape as anything but a corrupt object.
_ZIP_ERRORS = (zipfile.BadZipFile, ValueError, struct.error, EOFError, OverflowError, IndexError, KeyError,
               NotImplementedError)


def _member_payload(blob: bytes, source: str) -> tuple[zipfile.ZipInfo, memoryview]:
    """The single member's entry and its compressed bytes, located through the zip's own directory."""
    try:
        with zipfile.ZipFile(BytesIO(blob)) as archive:
            members = archive.infolist()
    except _ZIP_ERRORS as exc:
        raise CorruptObjectError(source, f"not a zip file ({type(exc).__name__}: {exc})") from None
    if len(members) != 1:
        raise CorruptObjectError(source, f"expected one member, found {[m.filename for m in members]}")
    member = members[0]
    if not 0 <= member.header_offset <= len(blob) - _LOCAL_HEADER.size:
        raise CorruptObjectError(source, "member's local header lies outside the file")
    header = _LOCAL_HEADER.unpack_from(blob, member.header_offset)
    if header[0] != b"PK\x03\x04":
        raise CorruptObjectError(source, "bad local file header")
    if member.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
        raise CorruptObjectError(source, f"unsupported zip compression {member.compress_type}")
    start = member.header_offset + _LOCAL_HEADER.size + header[9] + header[10]
    return member, memoryview(blob)[start : start + member.compress_size]


def iter_csv_chunks(blob: bytes, source: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The single CSV member, inflated with ISA-L (about 2x zipfile) in pieces that end on a line break; its size
    and CRC-32 are checked before the last piece is handed out, so a corrupt member never yields a full table.
    (ISA-L's streaming inflater holds the GIL, unlike its one-shot one; parsing in polars does not need it.)"""
    member, payload = _member_payload(blob, source)
    inflater = isal_zlib.decompressobj(-15) if member.compress_type == zipfile.ZIP_DEFLATED else None
    crc, size, carry = 0, 0, b""
    # Compressed input per step: Binance CSVs deflate about 3.5x, so this yields roughly chunk_bytes of text.
    step = max(1, chunk_bytes // 4)
    for offset in range(0, len(payload), step):
        piece = payload[offset : offset + step]
        try:
            text = inflater.decompress(piece) if inflater else bytes(piece)
        except isal_zlib.error as exc:
            raise CorruptObjectError(source, f"member {member.filename} does not inflate ({exc})") from None
        crc, size = isal_zlib.crc32(text, crc), size + len(text)
        text = carry + text if carry else text
        cut = text.rfind(b"\n") + 1
        if cut:
            carry = text[cut:]
            yield text[:cut]
        else:
            carry = text
    if inflater:
        try:
            tail = inflater.flush()
        except isal_zlib.error as exc:
            raise CorruptObjectError(source, f"member {member.filename} does not inflate ({exc})") from None
        crc, size = isal_zlib.crc32(tail, crc), size + len(tail)
        carry += tail
    if size != member.file_size or crc != member.CRC:
        raise CorruptObjectError(source, f"member {member.filename} fails its size/CRC-32 check")
    if _has_content(carry):
        yield carry


def inflate_single_member(blob: bytes, source: str) -> bytes:
    """The whole CSV member of a Binance zip, checked."""
    return b"".join(iter_csv_chunks(blob, source, chunk_bytes=1 << 40))


@dataclass(frozen=True)
class CsvLayout:
    names: list[str]
    has_header: bool


def _check_plain_csv(data: bytes, source: str) -> None:
    """Binance never ends a line with a bare CR, and CSV readers disagree on what one means."""
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        raise CorruptObjectError(source, "a carriage return outside a CRLF line end")


def csv_layout(first_chunk: bytes, listing: BinanceListing, source: str) -> CsvLayout:
    """Column names from the header row when there is one, else from the market and kind's documented order."""
    if not _has_content(first_chunk):
        raise CorruptObjectError(source, "empty CSV")
    _check_plain_csv(first_chunk, source)
    has_header = not first_chunk[:1].isdigit()
    if has_header:
        end = first_chunk.find(b"\n")
        try:
            names = (first_chunk if end < 0 else first_chunk[:end]).decode("utf-8").strip().split(",")
        except UnicodeDecodeError as exc:
            raise CorruptObjectError(source, f"header row is not UTF-8 text ({exc})") from None
    else:
        names = _POSITIONAL_COLUMNS[(listing.market, listing.kind)]
    names = [_SYNONYMS.get(n, n) for n in names]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise CorruptObjectError(source, f"columns {twice} appear more than once in {names}")
    missing = {"trade_id", "price", "qty", "time", "is_buyer_maker"} - set(names)
    if missing:
        raise CorruptObjectError(source, f"columns {sorted(missing)} missing from {names}")
    return CsvLayout(names, has_header)


def parse_csv_chunk(
    data: bytes, layout: CsvLayout, listing: BinanceListing, source: str, first: bool = True
) -> pl.DataFrame:
    """Complete CSV lines; the header row, if the layout has one, is skipped only in the `first` chunk (a row in a
    later chunk that does not parse is an error, never a header)."""
    _check_plain_csv(data, source)
    try:
        raw = pl.read_csv(
            data,
            has_header=layout.has_header and first,
            quote_char=None,  # Binance never quotes: a quote is an ordinary character (so "5" is not a number)
            new_columns=layout.names,
            # Columns this project does not use are read as text: never a type guessed from the first rows.
            schema_overrides={n: _DTYPES.get(n, pl.String) for n in layout.names},
        )
    except pl.exceptions.PolarsError as exc:
        raise CorruptObjectError(source, f"malformed trades CSV: {_first_lines(exc)}") from None
    # A short row (or a blank line) reads as nulls: every column of the layout must be present in every row.
    nulls = {n: c for n, c in zip(raw.columns, raw.null_count().row(0)) if c}
    if nulls:
        raise CorruptObjectError(source, f"empty values (or a short row) in {nulls}")
    if raw.height and raw["time"].min() < 0:  # type: ignore[operator]
        raise CorruptObjectError(source, f"negative trade time {raw['time'].min()}")
    return raw.select(_normalized_columns(set(layout.names), listing)).cast(TRADES_SCHEMA)  # type: ignore[arg-type]


def _first_lines(exc: Exception) -> str:
    """polars' message without its advice paragraph (which suggests ignoring errors, the opposite of what we do)."""
    return " ".join(str(exc).split("\n\nYou might want to try")[0].split())


def parse_trades_csv(data: bytes, listing: BinanceListing, source: str) -> pl.DataFrame:
    """A Binance trades/aggTrades CSV (either header convention) -> TRADES_SCHEMA, in file order."""
    trades = parse_csv_chunk(data, csv_layout(data, listing, source), listing, source, first=True)
    if trades.height == 0:
        raise CorruptObjectError(source, "CSV has a header but no trades")
    return trades


def _normalized_columns(names: set[str], listing: BinanceListing) -> list[pl.Expr]:
    raw_time = pl.col("time")
    # Epoch magnitudes: ms ~1.7e12, us ~1.7e15, ns ~1.7e18.
    micros = (
        pl.when(raw_time >= 10**17).then(raw_time // 1000)
        .when(raw_time >= 10**14).then(raw_time)
        .otherwise(raw_time * 1000)
    )
    if listing.market == "coinm":
        notional = pl.col("qty") * listing.contract_size
        quote_qty = notional
        qty = pl.col("base_qty") if "base_qty" in names else notional / pl.col("price")
    else:
        qty = pl.col("qty")
        quote_qty = pl.col("quote_qty") if "quote_qty" in names else pl.col("price") * pl.col("qty")
    first_id = pl.col("first_trade_id") if "first_trade_id" in names else pl.lit(None, pl.Int64)
    last_id = pl.col("last_trade_id") if "last_trade_id" in names else pl.lit(None, pl.Int64)
    best_match = pl.col("is_best_match") if "is_best_match" in names else pl.lit(None, pl.Boolean)
    return [
        micros.cast(pl.Datetime("us", "UTC")).alias("time"),
        pl.col("trade_id"),
        first_id.alias("first_trade_id"),
        last_id.alias("last_trade_id"),
        pl.col("price"),
        qty.alias("qty"),
        quote_qty.alias("quote_qty"),
        pl.col("is_buyer_maker"),
        pl.when(pl.col("is_buyer_maker")).then(-1).otherwise(1).cast(pl.Int8).alias("side"),
        best_match.alias("is_best_match"),
    ]


def parse_trades_zip(
    blob: bytes, listing: BinanceListing, source: str, chunk_bytes: int = CHUNK_BYTES
) -> pl.DataFrame:
    """A day's zip -> TRADES_SCHEMA, in file order.

    Inflating the next chunk (this thread) overlaps with parsing the previous one (a worker thread): on 2 cores
    about 10% faster than inflate-then-parse (bench/bench_ingest.py).
    """
    chunks = iter_csv_chunks(blob, source, chunk_bytes)
    first = next(chunks, b"")
    layout = csv_layout(first, listing, source)
    with ThreadPoolExecutor(max_workers=1) as worker:
        parsed = [worker.submit(parse_csv_chunk, first, layout, listing, source, True)]
        parsed += [worker.submit(parse_csv_chunk, data, layout, listing, source, False) for data in chunks]
        trades = pl.concat([future.result() for future in parsed], rechunk=False)
    if trades.height == 0:
        raise CorruptObjectError(source, "CSV has a header but no trades")
    return trades
