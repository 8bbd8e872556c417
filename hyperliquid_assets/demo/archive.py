"""Write the demo market into a local mirror, byte for byte in the upstream formats.

Hyperliquid: `<mirror>/hyperliquid-archive/market_data/YYYYMMDD/H/l2Book/COIN.lz4`, an LZ4 frame (made as the
real objects are: see compress_l2) of compact JSON lines, one per snapshot whose receive time falls in the
hour. Binance: `<mirror>/data.binance.vision/data/<market>/daily/<kind>/...zip`, one
deflated CSV member named like the zip, plus `.CHECKSUM` = `<sha256>  <zip name>` without a newline.
Spot CSVs have no header, 8-decimal numbers, `True`/`False` and ms times (us from 2025-01-01); futures CSVs
have a header, plain decimals, `true`/`false` and ms.

Every file is written under a temporary name in its folder and renamed into place, so readers never see half a
file, and a rerun with the same arguments writes the same bytes.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import logging
import math
import random
import struct
import zipfile
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import lz4.frame
import numpy as np
import polars as pl
from isal import isal_zlib

from hyperliquid_assets.demo.market import (
    RENDER_STREAM,
    BookPath,
    DemoMarketParams,
    coin_rng,
    epoch_ms,
    queue_usd,
    simulate_book,
)
from hyperliquid_assets.demo.trades import TradePath, simulate_trades
from hyperliquid_assets.lake import write_bytes_atomic
from hyperliquid_assets.settings import BinanceListing
from hyperliquid_assets.sources.layout import (
    BINANCE_HOST,
    HYPERLIQUID_BUCKET,
    binance_trades_key,
    checksum_key,
    l2_book_key,
)

log = logging.getLogger(__name__)

_MS_PER_HOUR = 3_600_000
_MAX_LEVELS = 20
_POOL_DEPTHS, _POOL_BITS = 40, 12  # pools: 4096 resting orders; gaps for 40 depths x 4096
_SPOT_US_FROM = date(2025, 1, 1)  # Binance spot files switched from ms to us timestamps on this day
_HEADERS = {
    ("usdm", "trades"): "id,price,qty,quote_qty,time,is_buyer_maker",
    ("coinm", "trades"): "id,price,qty,base_qty,time,is_buyer_maker",
    ("usdm", "aggTrades"): "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker",
    ("coinm", "aggTrades"): "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker",
}


@dataclass
class DemoArchiveSummary:
    """What write_demo_archive wrote (and left out on purpose)."""

    l2_files: int = 0
    binance_zips: int = 0
    checksum_files: int = 0
    snapshots: int = 0
    trades: int = 0
    bytes_written: int = 0
    paths: list[Path] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.l2_files} L2 hour files ({self.snapshots:,} snapshots), {self.binance_zips} Binance day zips "
            f"({self.trades:,} trades), {self.bytes_written / 1e6:.1f} MB, {len(self.left_out)} objects left out"
        )


# ---------------------------------------------------------------------------------------------------------------
# Small formatting helpers


def _decimal(units: int, decimals: int) -> str:
    """Integer units of 10**-decimals as the exchange writes them: trailing zeros trimmed, at least one decimal."""
    if decimals == 0:
        return f"{units}.0"
    whole, frac = divmod(units, 10**decimals)
    return f"{whole}.{(f'{frac:0{decimals}d}'.rstrip('0') or '0')}"


def _atomic_write(path: Path, data: bytes) -> int:
    write_bytes_atomic(path, data)
    return len(data)


# ---------------------------------------------------------------------------------------------------------------
# Hyperliquid L2 hour files


@dataclass(frozen=True)
class _Pools:
    """Pre-drawn random pieces of deeper levels: drawing from pools instead of sampling and formatting each new
    level keeps rendering at a few microseconds a side."""

    tails: list[str]  # `","sz":"...","n":k}`: a resting order's size and order count
    gaps: list[list[int]]  # [depth][random bits]: ticks to the next level, wider with depth
    mean_gap: list[float]  # [depth]: the mean of those gaps


def _pools(book: BookPath, params: DemoMarketParams, rng: np.random.Generator) -> _Pools:
    count = 1 << _POOL_BITS
    lots_per_usd = 10**book.size_decimals / float(book.mid[0])
    weights = np.broadcast_to(np.asarray(params.level_queue_weights, dtype=float),
                              (count, len(params.level_queue_weights)))
    lots = np.maximum(np.rint(queue_usd(rng, weights / weights.sum(axis=1, keepdims=True), params) * lots_per_usd), 1)
    orders = rng.geometric(1.0 / (1.0 + params.level_orders_extra), count)
    tails = [f'","sz":"{_decimal(int(q), book.size_decimals)}","n":{int(k)}}}' for q, k in zip(lots.tolist(),
                                                                                            orders.tolist())]
    depth = np.arange(_POOL_DEPTHS)[:, None]
    tick_bps = book.tick / float(book.mid[0]) * 1e4
    growth = 1.0 + params.level_gap_growth * depth.astype(float) ** params.level_gap_power
    mean_gap = np.maximum(params.level_gap_bps / tick_bps, 1.0) * growth
    gaps = (1 + np.floor(rng.exponential(1.0, (_POOL_DEPTHS, count)) * np.maximum(mean_gap - 1.0, 1e-9)))
    return _Pools(tails, gaps.astype(np.int64).tolist(), mean_gap[:, 0].tolist())


class _Ladder:
    """One side of the book as resting levels on absolute ticks, kept from snapshot to snapshot.

    Keys grow away from the touch (bid key = -tick, ask key = +tick), so both sides share the code. The best level
    comes from the BookPath; the others persist, get resized, pulled and added now and then (the path's churn
    counts), and the space a touch leaves behind is refilled, as market makers re-quote near the top.
    """

    def __init__(self, sign: int, book: BookPath, pools: _Pools, rnd: random.Random, params: DemoMarketParams
                 ) -> None:
        self.sign = sign
        self.rnd = rnd
        self.pools = pools
        self.tick_units = book.tick_units
        self.price_decimals = book.price_decimals
        self.size_decimals = book.size_decimals
        self.keys: list[int] = []
        self.text: dict[int, str] = {}
        self.best: int | None = None
        self.px_text: dict[int, str] = {}
        self.requote = params.requote_prob
        self.resize = params.level_resize_share
        self.shown_text = ""
        self.shown_state: tuple[int, int, int, int] | None = None

    def _px(self, key: int) -> str:
        text = self.px_text.get(key)
        if text is None:
            if len(self.px_text) > 50_000:
                self.px_text.clear()
            text = self.px_text[key] = '{"px":"' + _decimal(abs(key) * self.tick_units, self.price_decimals)
        return text

    def render(self, best_tick: int, lots: int, orders: int, visible: int, churn: int) -> str:
        """The side's levels (best first, at most `visible`) as JSON objects joined by commas."""
        state = (best_tick, lots, orders, visible)
        if not churn and state == self.shown_state:
            return self.shown_text  # nothing on this side changed
        keys, text, px = self.keys, self.text, self._px
        bits = self.rnd.getrandbits
        tails, gaps = self.pools.tails, self.pools.gaps
        deepest = _POOL_DEPTHS - 1
        best = self.sign * best_tick
        if best != self.best:
            cut = bisect.bisect_left(keys, best)
            if cut:
                for key in keys[:cut]:
                    del text[key]
                del keys[:cut]
            elif keys and self.rnd.random() < self.requote:
                # The touch moved inward: often the old best's owner re-quoted rather than joined.
                del text[keys[0]]
                del keys[0]
            if not keys or keys[0] != best:
                keys.insert(0, best)
            limit = keys[1] if len(keys) > 1 else best + 10**12
            new: list[int] = []
            key = best + gaps[0][bits(_POOL_BITS)]
            while key < limit and len(new) < visible:
                new.append(key)
                text[key] = px(key) + tails[bits(_POOL_BITS)]
                key += gaps[len(new)][bits(_POOL_BITS)]
            keys[1:1] = new
            self.best = best
        if self.shown_state is None or self.shown_state[:3] != state[:3]:
            text[best] = f'{px(best)}","sz":"{_decimal(lots, self.size_decimals)}","n":{orders}}}'
        size = len(keys)
        if size < visible + 4:
            key = keys[-1]
            while size < visible + 8:
                key += gaps[size if size < deepest else deepest][bits(_POOL_BITS)]
                keys.append(key)
                text[key] = px(key) + tails[bits(_POOL_BITS)]
                size += 1
        elif size > visible + 16:
            # Levels beyond the visible ones are re-drawn from the depth profile when they come into view.
            for key in keys[visible + 8 :]:
                del text[key]
            del keys[visible + 8 :]
        shown = visible if visible < len(keys) else len(keys)
        if churn and shown > 2:
            random_ = self.rnd.random
            mean_gap = self.pools.mean_gap
            for _ in range(churn):
                j = 1 + int(random_() * (shown - 1))
                if random_() < self.resize:
                    text[keys[j]] = px(keys[j]) + tails[bits(_POOL_BITS)]
                    continue
                # Pulls and adds keep the depth profile: a gap wider than usual for its depth tends to be split,
                # a narrow one tends to lose its level.
                gap = keys[j] - keys[j - 1]
                if gap > 1 and gap > mean_gap[j - 1] * -math.log(1.0 - random_()):
                    key = keys[j - 1] + 1 + int(random_() * (gap - 1))
                    keys.insert(j, key)
                    text[key] = px(key) + tails[bits(_POOL_BITS)]
                    shown = min(shown + 1, visible)
                elif shown > 3:
                    del text[keys[j]]
                    del keys[j]
                    shown -= 1
        self.shown_state = state
        self.shown_text = ",".join([text[key] for key in keys[:visible]])
        return self.shown_text


def iter_l2_hours(
    book: BookPath, params: DemoMarketParams = DemoMarketParams(), seed: int = 7
) -> Iterator[tuple[datetime, bytes]]:
    """The uncompressed JSON lines of each hour of the book's window, in order: (hour start, lines).

    Rendering is sequential (the deep levels persist), so skip hours by not writing them, not by not rendering.
    """
    if len(book) == 0:
        return
    rng = coin_rng(seed, book.coin, RENDER_STREAM)
    rnd = random.Random(int(rng.integers(2**63)))
    pools = _pools(book, params, rng)
    bids = _Ladder(-1, book, pools, rnd, params)
    asks = _Ladder(1, book, pools, rnd, params)
    levels = params.levels
    thin = params.thin_side_prob

    stamps = book.received_ns.astype("datetime64[ns]")
    outer = np.datetime_as_string(stamps, unit="ns")
    micro = book.received_digits == 6
    if micro.any():
        outer[micro] = np.datetime_as_string(stamps[micro], unit="us")
    outer_list = outer.tolist()
    inner_list = book.exchange_ms.tolist()
    tick_units = book.tick_units
    bid_ticks = (book.bid_px // tick_units).tolist()
    ask_ticks = (book.ask_px // tick_units).tolist()
    bid_sz, ask_sz = book.bid_sz.tolist(), book.ask_sz.tolist()
    bid_n, ask_n = book.bid_n.tolist(), book.ask_n.tolist()
    bid_churn, ask_churn = book.bid_churn.tolist(), book.ask_churn.tolist()
    identical = book.identical.tolist()
    random_ = rnd.random

    head = '{"time":"'
    middle = f'","ver_num":1,"raw":{{"channel":"l2Book","data":{{"coin":"{book.coin}","time":'
    levels_text = ""
    first = epoch_ms(book.start) // _MS_PER_HOUR
    last = -(-epoch_ms(book.end) // _MS_PER_HOUR)
    hour_ns = np.arange(first, last + 1, dtype=np.int64) * _MS_PER_HOUR * 1_000_000
    bounds = np.searchsorted(book.received_ns, hour_ns).tolist()
    for h, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        if lo == hi:  # no snapshot received in this hour: the archive has no object for it
            continue
        lines = []
        for i in range(lo, hi):
            if not identical[i] or not levels_text:
                nb = levels if random_() >= thin else min(levels, rnd.randint(5, max(5, levels - 1)))
                na = levels if random_() >= thin else min(levels, rnd.randint(5, max(5, levels - 1)))
                b = bids.render(bid_ticks[i], bid_sz[i], bid_n[i], nb, bid_churn[i])
                a = asks.render(ask_ticks[i], ask_sz[i], ask_n[i], na, ask_churn[i])
                levels_text = f',"levels":[[{b}],[{a}]]}}}}}}\n'
            lines.append(f"{head}{outer_list[i]}{middle}{inner_list[i]}{levels_text}")
        hour = datetime.fromtimestamp((first + h) * 3600, tz=timezone.utc).replace(tzinfo=None)
        yield hour, "".join(lines).encode()


def compress_l2(lines: bytes, level: int = 9) -> bytes:
    """An LZ4 frame like the archive's: 4 MiB independent blocks, content checksum, no content size, LZ4-HC
    level 9 (`lz4 -9`; recompressing the real 2024-01-01 BTC hour this way reproduces it byte for byte).

    The streaming compressor is used because `lz4.frame.compress` shrinks the block size to fit small inputs.
    """
    compressor = lz4.frame.LZ4FrameCompressor(
        block_size=lz4.frame.BLOCKSIZE_MAX4MB, block_linked=False, content_checksum=True, compression_level=level
    )
    return compressor.begin() + compressor.compress(lines) + compressor.flush()


def write_l2_hour(path: Path, lines: bytes, level: int = 9) -> int:
    """Compress one hour's JSON lines to `path` (atomically); returns the bytes written."""
    return _atomic_write(path, compress_l2(lines, level))


# ---------------------------------------------------------------------------------------------------------------
# Binance daily zips


def _units_text(column: str, decimals: int, fixed: int | None = None) -> pl.Expr:
    """Integer units of 10**-decimals as text: `fixed` decimals zero-padded, else trailing zeros trimmed."""
    col = pl.col(column)
    whole = (col // 10**decimals).cast(pl.String)
    if decimals == 0:
        frac = pl.lit("0" * (fixed or 1))
    else:
        frac = (col % 10**decimals).cast(pl.String).str.zfill(decimals)
        if fixed is not None:
            frac = frac + "0" * (fixed - decimals)
        else:
            frac = frac.str.strip_chars_end("0")
            frac = pl.when(frac == "").then(pl.lit("0")).otherwise(frac)
    return pl.concat_str([whole, pl.lit("."), frac])


def trades_csv(trades: TradePath, day: date) -> bytes:
    """The day's CSV member exactly as Binance writes it for the listing's market and kind."""
    listing = trades.listing
    spot = listing.market == "spot"
    pd, qd = trades.price_decimals, trades.qty_decimals
    frame = pl.DataFrame(
        {
            "id": trades.trade_id,
            "first": trades.first_trade_id,
            "last": trades.last_trade_id,
            "price": trades.price,
            "qty": trades.qty,
            "time": trades.time_us if spot and day >= _SPOT_US_FROM else trades.time_us // 1000,
            "maker": trades.is_buyer_maker,
        }
    )
    yes, no = ("True", "False") if spot else ("true", "false")
    maker = pl.when(pl.col("maker")).then(pl.lit(yes)).otherwise(pl.lit(no)).alias("is_buyer_maker")
    fixed = 8 if spot else None
    if pd > 8 or (spot and qd > 8):
        raise ValueError(f"{listing.symbol}: price/qty decimals {pd}/{qd} exceed Binance's 8")
    price = _units_text("price", pd, fixed).alias("price")
    qty = _units_text("qty", qd, fixed).alias("qty")
    if listing.kind == "aggTrades":
        columns = [pl.col("id"), price, qty, pl.col("first"), pl.col("last"), pl.col("time"), maker]
    elif listing.market == "coinm":
        base = (pl.col("qty") * listing.contract_size / (pl.col("price") / 10**pd) * 1e8).round().cast(pl.Int64)
        columns = [pl.col("id"), price, qty, _units_text("base", 8).alias("base_qty"), pl.col("time"), maker]
        frame = frame.with_columns(base.alias("base"))
    else:
        # price x qty is exact in pd + qd decimals; Binance rounds the quote to 8.
        quote_decimals = pd + qd
        quote = pl.col("price") * pl.col("qty")
        if quote_decimals > 8:
            shift = 10 ** (quote_decimals - 8)
            quote, quote_decimals = (quote + shift // 2) // shift, 8
        frame = frame.with_columns(quote.alias("quote"))
        columns = [pl.col("id"), price, qty, _units_text("quote", quote_decimals, fixed).alias("quote_qty"),
                   pl.col("time"), maker]
    if spot:
        columns.append(pl.lit("True").alias("is_best_match"))
    out = frame.select(columns)
    buffer = io.BytesIO()
    header = _HEADERS.get((listing.market, listing.kind))
    if header is not None:
        buffer.write(header.encode() + b"\n")
    out.write_csv(buffer, include_header=False, line_terminator="\n")
    return buffer.getvalue()


def _zip_member(csv_name: str, data: bytes, day: date, level: int) -> bytes:
    """A one-member deflated zip, laid out as zipfile writes it (no data descriptor, no extras).

    Built by hand so the deflate can be ISA-L's (about 3x zlib at level 1: a 3M-row day in ~0.7 s). The member
    time is fixed from the day (Binance writes the file the morning after), so reruns are byte-identical.
    """
    deflater = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
    payload = deflater.compress(data) + deflater.flush()
    if max(len(data), len(payload)) >= 0xFFFFFFFF:
        raise ValueError(f"{csv_name}: {len(data):,} bytes needs ZIP64, which this writer does not do")
    after = day + timedelta(days=1)
    dos_date = ((after.year - 1980) << 9) | (after.month << 5) | after.day
    dos_time = (6 << 11) | (13 << 5) | (22 // 2)
    name = csv_name.encode()
    crc = zlib.crc32(data)
    common = struct.pack("<HHHHHIII", 20, 0, zipfile.ZIP_DEFLATED, dos_time, dos_date, crc, len(payload), len(data))
    local = b"PK\x03\x04" + common + struct.pack("<HH", len(name), 0) + name
    central = (
        b"PK\x01\x02" + struct.pack("<H", (3 << 8) | 20) + common
        + struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0o100644 << 16, 0) + name
    )
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, len(central), len(local) + len(payload), 0)
    return b"".join([local, payload, central, end])


def write_trades_zip(zip_path: Path, csv: bytes, day: date, compresslevel: int = 1) -> tuple[Path, int]:
    """Write `csv` as the day's zip and its `.CHECKSUM` next to it (atomically); returns (zip path, bytes)."""
    blob = _zip_member(zip_path.name[: -len(".zip")] + ".csv", csv, day, compresslevel)
    written = _atomic_write(zip_path, blob)
    checksum = f"{hashlib.sha256(blob).hexdigest()}  {zip_path.name}".encode()
    written += _atomic_write(zip_path.with_name(zip_path.name + ".CHECKSUM"), checksum)
    return zip_path, written


def _write_zip_bytes(zip_path: Path, csv: bytes, day: date) -> int:
    return write_trades_zip(zip_path, csv, day)[1]


def _day_slice(trades: TradePath, day: date) -> TradePath:
    lo_us, hi_us = epoch_ms(day) * 1000, epoch_ms(day + timedelta(days=1)) * 1000
    lo, hi = np.searchsorted(trades.time_us, [lo_us, hi_us])
    arrays = {
        name: getattr(trades, name)[lo:hi]
        for name in ("time_us", "trade_id", "first_trade_id", "last_trade_id", "price", "qty", "is_buyer_maker",
                     "bid", "ask")
    }
    return replace(trades, **arrays)


def _coin_of(symbol: str, params: DemoMarketParams) -> str:
    for coin in sorted(params.base_prices, key=len, reverse=True):
        if symbol.startswith(coin):
            return coin
    return symbol


def write_binance_day(
    path: Path,
    listing: BinanceListing,
    day: date,
    n_trades: int,
    seed: int = 7,
    start_price: float | None = None,
    params: DemoMarketParams = DemoMarketParams(),
    compresslevel: int = 1,
) -> Path:
    """One Binance day zip + CHECKSUM with exactly n_trades rows, from a stand-alone run of the demo market.

    `path` is either the zip's path (ending in .zip) or a mirror root, under which the upstream key is used.
    start_price defaults to the demo base price of the symbol's coin. compresslevel is ISA-L's (0-3).
    """
    path = Path(path)
    zip_path = path if path.suffix == ".zip" else path / BINANCE_HOST / binance_trades_key(listing, day)
    coin = _coin_of(listing.symbol, params)
    start = datetime(day.year, day.month, day.day)
    # A 1 s book is plenty to quote trades off and keeps the sequential part of the model short.
    book = simulate_book(coin, start, start + timedelta(days=1), replace(params, snapshot_gap_s=1.0), seed,
                         start_price=start_price)
    trades = simulate_trades(book, listing, params, seed, n_trades=n_trades)
    write_trades_zip(zip_path, trades_csv(trades, day), day, compresslevel)
    return zip_path


# ---------------------------------------------------------------------------------------------------------------
# The whole demo archive


def _parse_missing(missing: Iterable[tuple[str, str]], coins: Sequence[str], start: date, days: int
                   ) -> tuple[set[tuple[str, datetime]], set[tuple[str, date]]]:
    hours: set[tuple[str, datetime]] = set()
    day_set: set[tuple[str, date]] = set()
    end = start + timedelta(days=days)
    for coin, key in missing:
        if coin not in coins:
            raise ValueError(f"missing object ({coin}, {key}): {coin} is not one of {list(coins)}")
        try:
            if len(key) == 10:
                day = date.fromisoformat(key)
                moment = datetime(day.year, day.month, day.day)
                day_set.add((coin, day))
            elif len(key) == 13 and key[10] == "T":
                moment = datetime.strptime(key, "%Y-%m-%dT%H")
                hours.add((coin, moment))
            else:
                raise ValueError
        except ValueError:
            raise ValueError(f"missing object ({coin}, {key!r}) must name an hour 'YYYY-MM-DDTHH' or a day "
                             "'YYYY-MM-DD'") from None
        if not start <= moment.date() < end:
            raise ValueError(f"missing object ({coin}, {key}) is outside the window {start} + {days} days")
    return hours, day_set


def write_demo_archive(
    mirror_root: Path,
    coins: Sequence[str],
    start: date,
    days: int,
    listings: Mapping[str, BinanceListing],
    params: DemoMarketParams = DemoMarketParams(),
    seed: int = 7,
    missing: Iterable[tuple[str, str]] = (),
) -> DemoArchiveSummary:
    """Write every L2 hour file and every Binance day zip + CHECKSUM of the coins over [start, start + days).

    `missing` names objects to leave out, as an archive gap would: (coin, "YYYY-MM-DDTHH") for an L2 hour,
    (coin, "YYYY-MM-DD") for a Binance day (zip and CHECKSUM). They are still simulated, so the rest of the
    archive is the same with or without them. Rerunning with the same arguments writes the same bytes.
    """
    mirror_root = Path(mirror_root)
    if days < 1:
        raise ValueError("days must be >= 1")
    for coin in coins:
        if coin not in listings:
            raise KeyError(f"coin {coin} has no Binance listing")
    skip_hours, skip_days = _parse_missing(missing, coins, start, days)
    begin = datetime(start.year, start.month, start.day)
    finish = begin + timedelta(days=days)
    summary = DemoArchiveSummary()
    # Rendering lines is Python (GIL-bound) while LZ4-HC (the slower half) and ISA-L release the GIL, so two
    # writer threads compress and write while the next hours render. Outputs do not depend on the timing.
    pending: deque[Future[int]] = deque()

    def submit(write, *args) -> None:
        pending.append(writer.submit(write, *args))
        while len(pending) > 8:
            summary.bytes_written += pending.popleft().result()

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="demo-writer") as writer:
        for coin in coins:
            listing = listings[coin]
            book = simulate_book(coin, begin, finish, params, seed)
            for hour, lines in iter_l2_hours(book, params, seed):
                if (coin, hour) in skip_hours:
                    summary.left_out.append((coin, f"{hour:%Y-%m-%dT%H}"))
                    continue
                path = mirror_root / HYPERLIQUID_BUCKET / l2_book_key(coin, hour)
                submit(write_l2_hour, path, lines)
                summary.paths.append(path)
                summary.l2_files += 1
                summary.snapshots += lines.count(b"\n")
            trades = simulate_trades(book, listing, params, seed)
            for offset in range(days):
                day = start + timedelta(days=offset)
                if (coin, day) in skip_days:
                    summary.left_out.append((coin, day.isoformat()))
                    continue
                key = binance_trades_key(listing, day)
                todays = _day_slice(trades, day)
                submit(_write_zip_bytes, mirror_root / BINANCE_HOST / key, trades_csv(todays, day), day)
                summary.paths += [mirror_root / BINANCE_HOST / key, mirror_root / BINANCE_HOST / checksum_key(key)]
                summary.binance_zips += 1
                summary.checksum_files += 1
                summary.trades += len(todays)
            log.info("demo archive: %s done (%d snapshots, %d trades)", coin, len(book), len(trades))
        while pending:
            summary.bytes_written += pending.popleft().result()
    return summary  # the caller says what was written (hl-assets demo prints it once)
