"""Market statistics that the demo is calibrated on, each with its tolerance, computed the same way for real and
demo data: one plain module used by `hl-assets demo --compare` and by the calibration tests.

Inputs are the clean tables the pipeline writes: the L2 book (`L2_BOOK_SCHEMA`, one or more hours of one coin)
and Binance trades (`TRADES_SCHEMA`, one or more days of one listing).

Book statistics pool both sides of the book (the real hour's sides differ: its bid side alone gives, e.g., a
level-20 distance of 38.9 bps against 45.6 bps for both). Times are the recorder's receive time, except snapshot
gaps, which use the exchange time. A "1 s bar" is a second of a covered hour, and its book is the last snapshot
received before the bar's end (carried forward; bars before the first snapshot are left out), as the feature
tables see it.

Trade statistics are taken on aggregate trades. Binance's aggTrades files already are; plain trades files
(the demo's spot listing) are first aggregated the way Binance builds aggTrades: consecutive trades with the same
time, aggressor side and price are one aggregate trade. The same rule is applied to aggTrades input too (it
merges nothing there but the rare two taker orders in one millisecond at one price), so both sides of a
comparison go through the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import polars as pl

from hyperliquid_assets.formats.binance_trades import parse_trades_zip, verify_checksum
from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book
from hyperliquid_assets.settings import BinanceListing
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET, binance_trades_key, l2_book_key

_NS_PER_S = 1_000_000_000
_US_PER_S = 1_000_000


@dataclass(frozen=True)
class Tolerance:
    """How far a demo value may be from the real one.

    kind "abs": |demo - real| <= band (shares, in share units); "rel": |demo / real - 1| <= band;
    "ratio": 1 / band <= demo / real <= band (for tails and quantities that span decades).
    """

    kind: str
    band: float
    why: str

    def __post_init__(self) -> None:
        if self.kind not in ("abs", "rel", "ratio") or self.band <= 0 or (self.kind == "ratio" and self.band <= 1):
            raise ValueError(f"bad tolerance {self.kind} {self.band}")

    def bounds(self, real: float) -> tuple[float, float]:
        if self.kind == "abs":
            return real - self.band, real + self.band
        if self.kind == "rel":
            return real * (1 - self.band), real * (1 + self.band)
        return real / self.band, real * self.band

    def holds(self, real: float, demo: float) -> bool:
        if not (math.isfinite(real) and math.isfinite(demo)):
            return False
        low, high = self.bounds(real)
        return low <= demo <= high

    def describe(self) -> str:
        if self.kind == "abs":
            return f"+-{self.band * 100:g} pp"
        if self.kind == "rel":
            return f"+-{self.band * 100:g}%"
        return f"x/{self.band:g}"


@dataclass(frozen=True)
class Statistic:
    name: str
    label: str
    table: str  # "book" or "trades"
    compute: Callable[..., float]
    tolerance: Tolerance
    share: bool = False  # printed as a percentage


# ---------------------------------------------------------------------------------------------------------------
# The book


def tick_of(price: float) -> float:
    """Hyperliquid's price tick at this price: 5 significant figures, 10**(floor(log10 p) - 4)."""
    return 10.0 ** (math.floor(math.log10(price)) - 4)


@dataclass(frozen=True)
class BookSample:
    """Per-snapshot arrays of a clean L2 table, plus its 1 s bars; built once, read by every book statistic."""

    received_ns: np.ndarray
    exchange_ms: np.ndarray
    hour: np.ndarray  # received hour (epoch hours) of each snapshot
    bid: np.ndarray  # best bid / ask price
    ask: np.ndarray
    bid_sz: np.ndarray
    ask_sz: np.ndarray
    tick: float
    level20_distance_bps: np.ndarray  # both sides, sides with 20 levels
    level19_20_gap_ticks: np.ndarray
    top20_size: np.ndarray  # both sides: summed size of the first 20 levels
    orders: np.ndarray  # n of every level, both sides
    identical: np.ndarray  # bool per snapshot after the first: same levels as the previous snapshot
    bar_end_ns: np.ndarray  # 1 s bars of covered hours that have a book
    bar_book: np.ndarray  # index of the snapshot each bar's book is

    @property
    def mid(self) -> np.ndarray:
        return (self.bid + self.ask) / 2

    @classmethod
    def of(cls, book: pl.DataFrame) -> BookSample:
        if book.height < 2:
            raise ValueError(f"book statistics need at least 2 snapshots, got {book.height}")
        book = book.sort("received_time", maintain_order=True)
        sides = ("bid", "ask")
        frame = book.select(
            received=pl.col("received_time").dt.epoch("ns"),
            exchange=pl.col("exchange_time").dt.epoch("ms"),
            bid=pl.col("bid_px").list.first(),
            ask=pl.col("ask_px").list.first(),
            bid_sz=pl.col("bid_sz").list.first(),
            ask_sz=pl.col("ask_sz").list.first(),
            **{f"{s}_p19": pl.col(f"{s}_px").list.get(18, null_on_oob=True) for s in sides},
            **{f"{s}_p20": pl.col(f"{s}_px").list.get(19, null_on_oob=True) for s in sides},
            **{f"{s}_top20": pl.col(f"{s}_sz").list.head(20).list.sum() for s in sides},
            identical=pl.all_horizontal(
                (pl.col(c) == pl.col(c).shift()).fill_null(False)
                for c in ("bid_px", "bid_sz", "bid_n", "ask_px", "ask_sz", "ask_n")
            ),
        )
        col = lambda name: frame[name].to_numpy()  # noqa: E731
        bid, ask = col("bid").astype(float), col("ask").astype(float)
        mid = (bid + ask) / 2
        tick = tick_of(float(np.nanmedian(mid)))
        distance, gaps = [], []
        for side, sign in (("bid", 1.0), ("ask", -1.0)):
            p19, p20 = (frame[f"{side}_{k}"].cast(pl.Float64).to_numpy() for k in ("p19", "p20"))
            full = ~np.isnan(p20)  # sides with 20 levels
            p19, p20 = p19[full], p20[full]
            distance.append(sign * (mid[full] - p20) / mid[full] * 1e4)
            gaps.append(np.abs(p19 - p20) / tick)
        orders = np.concatenate([book["bid_n"].explode().drop_nulls().to_numpy(),
                                 book["ask_n"].explode().drop_nulls().to_numpy()])
        received = col("received")
        hour = received // (3600 * _NS_PER_S)
        hours = np.unique(hour)
        bar_end = (hours[:, None] * 3600 + np.arange(1, 3601)[None, :]).ravel() * _NS_PER_S
        index = np.searchsorted(received, bar_end, side="left") - 1
        has_book = index >= 0
        return cls(
            received_ns=received,
            exchange_ms=col("exchange"),
            hour=hour,
            bid=bid,
            ask=ask,
            bid_sz=col("bid_sz").astype(float),
            ask_sz=col("ask_sz").astype(float),
            tick=tick,
            level20_distance_bps=np.concatenate(distance),
            level19_20_gap_ticks=np.concatenate(gaps),
            top20_size=np.concatenate([col("bid_top20"), col("ask_top20")]).astype(float),
            orders=orders,
            identical=col("identical")[1:],
            bar_end_ns=bar_end[has_book],
            bar_book=index[has_book],
        )


def snapshots_per_hour(s: BookSample) -> float:
    """Median over covered hours of the snapshots received in the hour."""
    return float(np.median(np.unique(s.hour, return_counts=True)[1]))


def gap_mean_s(s: BookSample) -> float:
    """Mean exchange-time gap between consecutive snapshots, in seconds."""
    return float(np.mean(np.diff(s.exchange_ms)) / 1e3)


def gap_p90_s(s: BookSample) -> float:
    """90th percentile of the exchange-time gap between consecutive snapshots, in seconds."""
    return float(np.percentile(np.diff(s.exchange_ms), 90) / 1e3)


def bars_without_snapshot(s: BookSample) -> float:
    """Share of the covered hours' 1 s bars in which no snapshot was received."""
    hours = np.unique(s.hour)
    seconds = np.unique(s.received_ns // _NS_PER_S)
    return 1.0 - len(seconds) / (len(hours) * 3600)


def mid_moves(s: BookSample) -> float:
    """Share of snapshots whose mid differs from the previous snapshot's."""
    return float(np.mean(np.diff(s.mid) != 0))


def _spread_ticks(s: BookSample) -> np.ndarray:
    return np.rint((s.ask - s.bid) / s.tick)


def spread_one_tick(s: BookSample) -> float:
    """Share of snapshots with a one-tick spread."""
    return float(np.mean(_spread_ticks(s) == 1))


def spread_mean_ticks(s: BookSample) -> float:
    return float(np.mean(_spread_ticks(s)))


def spread_max_ticks(s: BookSample) -> float:
    return float(np.max(_spread_ticks(s)))


def level20_distance_bps(s: BookSample) -> float:
    """Median distance of the 20th level from the mid, in bps (both sides)."""
    return float(np.median(s.level20_distance_bps))


def level19_20_gap_ticks(s: BookSample) -> float:
    """Mean gap between the 19th and 20th levels, in ticks (both sides)."""
    return float(np.mean(s.level19_20_gap_ticks))


def _best_sizes(s: BookSample) -> np.ndarray:
    return np.concatenate([s.bid_sz, s.ask_sz])


def best_size_p10(s: BookSample) -> float:
    return float(np.percentile(_best_sizes(s), 10))


def best_size_p50(s: BookSample) -> float:
    return float(np.percentile(_best_sizes(s), 50))


def best_size_p90(s: BookSample) -> float:
    return float(np.percentile(_best_sizes(s), 90))


def top20_size_median(s: BookSample) -> float:
    """Median over snapshots and sides of the summed size of the first 20 levels (coin units)."""
    return float(np.median(s.top20_size))


def orders_single(s: BookSample) -> float:
    """Share of levels with one order (n = 1)."""
    return float(np.mean(s.orders == 1))


def orders_max(s: BookSample) -> float:
    return float(np.max(s.orders))


def bars_extreme_imbalance(s: BookSample) -> float:
    """Share of 1 s bars whose book has |(q_bid - q_ask) / (q_bid + q_ask)| > 0.9 at the best level."""
    bid, ask = s.bid_sz[s.bar_book], s.ask_sz[s.bar_book]
    return float(np.mean(np.abs((bid - ask) / (bid + ask)) > 0.9))


def _hourly_volatility(s: BookSample, every_s: int) -> float:
    mids = s.mid[s.bar_book]
    hours = s.bar_end_ns // (3600 * _NS_PER_S)
    keep = (s.bar_end_ns // _NS_PER_S) % every_s == 0
    vols = []
    for hour in np.unique(hours):
        sampled = mids[keep & (hours == hour)]
        if len(sampled) > 3600 // every_s // 2:  # at least half the hour
            steps = np.diff(np.log(sampled)) * 1e4
            vols.append(math.sqrt(float(np.sum(steps**2)) * (3600 // every_s) / len(steps)))
    return float(np.median(vols)) if vols else math.nan


def hourly_volatility_1s(s: BookSample) -> float:
    """sqrt(sum of squared 1 s log mid returns over an hour) in bps; median over hours."""
    return _hourly_volatility(s, 1)


def hourly_volatility_1m(s: BookSample) -> float:
    """The same from 1 min returns (differs from the 1 s figure when returns are autocorrelated)."""
    return _hourly_volatility(s, 60)


def identical_books(s: BookSample) -> float:
    """Share of snapshots whose 20 x 20 levels (px, sz, n) equal the previous snapshot's."""
    return float(np.mean(s.identical))


# ---------------------------------------------------------------------------------------------------------------
# Trades


@dataclass(frozen=True)
class TradeSample:
    """Aggregate trades in time order: time (us), side (+1 / -1), price, quote notional."""

    time_us: np.ndarray
    side: np.ndarray
    price: np.ndarray
    notional: np.ndarray

    @classmethod
    def of(cls, trades: pl.DataFrame) -> TradeSample:
        if trades.height < 2:
            raise ValueError(f"trade statistics need at least 2 trades, got {trades.height}")
        frame = trades.select(time=pl.col("time").dt.epoch("us"), side="side", price="price", notional="quote_qty")
        same = (
            (pl.col("time") == pl.col("time").shift())
            & (pl.col("side") == pl.col("side").shift())
            & (pl.col("price") == pl.col("price").shift())
        ).fill_null(False)
        aggregated = (
            frame.with_columns(_group=(~same).cum_sum())
            .group_by("_group", maintain_order=True)
            .agg(pl.col("time", "side", "price").first(), pl.col("notional").sum())
        )
        col = lambda name: aggregated[name].to_numpy()  # noqa: E731
        return cls(col("time"), col("side"), col("price"), col("notional"))


def trades_dispersion(t: TradeSample) -> float:
    """Variance / mean of aggregate trades per second over the whole hours the trades cover (1 for Poisson)."""
    seconds = t.time_us // _US_PER_S
    first_hour = seconds[0] // 3600
    hours = seconds[-1] // 3600 - first_hour + 1
    counts = np.bincount(seconds - first_hour * 3600, minlength=int(hours * 3600))
    return float(counts.var() / counts.mean())


def gaps_under_1ms(t: TradeSample) -> float:
    """Share of consecutive aggregate trades less than 1 ms apart (a sweep prints at one time)."""
    return float(np.mean(np.diff(t.time_us) < 1_000))


def same_side(t: TradeSample) -> float:
    """P(aggressor side equals the previous aggregate trade's)."""
    return float(np.mean(t.side[1:] == t.side[:-1]))


def distinct_prices_per_second(t: TradeSample) -> float:
    """Mean number of distinct prices in a second with at least one trade."""
    frame = pl.DataFrame({"second": t.time_us // _US_PER_S, "price": t.price})
    return float(frame.group_by("second").agg(pl.col("price").n_unique())["price"].mean())


def trade_size_p50(t: TradeSample) -> float:
    """Median quote notional (USD) of an aggregate trade."""
    return float(np.percentile(t.notional, 50))


def trade_size_p99(t: TradeSample) -> float:
    return float(np.percentile(t.notional, 99))


# ---------------------------------------------------------------------------------------------------------------
# The table: every statistic and its tolerance, with the reason for the band


def _abs(band: float, why: str) -> Tolerance:
    return Tolerance("abs", band, why)


def _rel(band: float, why: str) -> Tolerance:
    return Tolerance("rel", band, why)


def _ratio(band: float, why: str) -> Tolerance:
    return Tolerance("ratio", band, why)


# Bands: at least about twice the real sample's own sampling error where that is measurable (standard error of the
# hour's value from its ten 6-minute blocks, "se" below), or the spread between the real hour's two book sides
# where that is larger; quantities that span decades are compared as ratios; extremes of one sample get a factor 2.
STATISTICS: tuple[Statistic, ...] = (
    Statistic("snapshots_per_hour", "snapshots per hour", "book", snapshots_per_hour,
              _rel(0.05, "a cadence parameter per coin and era; demo hours vary by +-1%")),
    Statistic("gap_mean_s", "snapshot gap mean (s)", "book", gap_mean_s,
              _rel(0.05, "1 / cadence; se 0.3%")),
    Statistic("gap_p90_s", "snapshot gap p90 (s)", "book", gap_p90_s,
              _rel(0.10, "shape of the gap law; se 0.1%")),
    Statistic("bars_without_snapshot", "1 s bars with no new snapshot", "book", bars_without_snapshot,
              _ratio(2.0, "a rare event: ~20 bars an hour"), share=True),
    Statistic("mid_moves", "snapshots where the mid moves", "book", mid_moves,
              _abs(0.05, "se 2.4 pp"), share=True),
    Statistic("spread_one_tick", "spread at 1 tick", "book", spread_one_tick,
              _abs(0.10, "se 5.4 pp: spreads persist over many snapshots"), share=True),
    Statistic("spread_mean_ticks", "spread mean (ticks)", "book", spread_mean_ticks,
              _rel(0.15, "se 5%")),
    Statistic("spread_max_ticks", "spread max (ticks)", "book", spread_max_ticks,
              _ratio(2.0, "the extreme of one sample")),
    Statistic("level20_distance_bps", "level 20 distance from mid, median (bps)", "book", level20_distance_bps,
              _rel(0.20, "se 5%; the real hour's sides differ by 30% (38.9 vs 52 bps)")),
    Statistic("level19_20_gap_ticks", "gap between levels 19 and 20, mean (ticks)", "book", level19_20_gap_ticks,
              _rel(0.30, "se 12%; the real hour's sides: 21.6 vs 34.9 ticks")),
    Statistic("best_size_p10", "best-level size p10 (coin)", "book", best_size_p10,
              _ratio(2.0, "se 34%; sizes span 3 decades")),
    Statistic("best_size_p50", "best-level size p50 (coin)", "book", best_size_p50,
              _ratio(2.0, "se 33%; the real hour's sides alone: 0.32 vs 0.05")),
    Statistic("best_size_p90", "best-level size p90 (coin)", "book", best_size_p90,
              _ratio(1.3, "se 3%: the large resting quotes")),
    Statistic("top20_size_median", "top-20 size per side, median (coin)", "book", top20_size_median,
              _ratio(1.3, "se 3.5%; the real hour's sides: 38 vs 56")),
    Statistic("orders_single", "levels with one order (n = 1)", "book", orders_single,
              _abs(0.05, "se 1 pp"), share=True),
    Statistic("orders_max", "orders per level, max", "book", orders_max,
              _ratio(2.0, "the extreme of one sample")),
    Statistic("bars_extreme_imbalance", "1 s bars with top imbalance beyond +-0.9", "book", bars_extreme_imbalance,
              _abs(0.10, "se 12 pp (best queues persist): a band tighter than the sample's own error"),
              share=True),
    Statistic("hourly_volatility_1s", "hourly volatility from 1 s returns (bps)", "book", hourly_volatility_1s,
              _rel(0.25, "volatility varies more than this from hour to hour")),
    Statistic("hourly_volatility_1m", "hourly volatility from 1 min returns (bps)", "book", hourly_volatility_1m,
              _rel(0.30, "as above, from only 60 returns an hour")),
    Statistic("identical_books", "identical consecutive books", "book", identical_books,
              _abs(0.03, "se 0.9 pp"), share=True),
    Statistic("trades_dispersion", "variance/mean of trades per second", "trades", trades_dispersion,
              _ratio(1.5, "driven by a few bursts a day")),
    Statistic("gaps_under_1ms", "gaps under 1 ms", "trades", gaps_under_1ms,
              _abs(0.08, "set by how many levels a taker order sweeps; demo days vary by +-2 pp"), share=True),
    Statistic("same_side", "P(same aggressor side as previous trade)", "trades", same_side,
              _abs(0.04, "sweeps and runs of one side; demo days vary by +-1 pp"), share=True),
    Statistic("distinct_prices_per_second", "distinct prices per active second", "trades",
              distinct_prices_per_second, _rel(0.25, "bursts dominate the mean; demo days vary by +-10%")),
    Statistic("trade_size_p50", "trade size p50 (USD)", "trades", trade_size_p50,
              _ratio(1.5, "COIN-M sizes are whole $100 contracts; spot sizes are continuous")),
    Statistic("trade_size_p99", "trade size p99 (USD)", "trades", trade_size_p99,
              _ratio(2.0, "a tail quantile of one day")),
)

STATISTICS_BY_NAME = {s.name: s for s in STATISTICS}


def book_statistics(book: pl.DataFrame) -> dict[str, float]:
    """Every book statistic of a clean L2 table (one coin, one or more hours)."""
    sample = BookSample.of(book)
    return {s.name: s.compute(sample) for s in STATISTICS if s.table == "book"}


def trade_statistics(trades: pl.DataFrame) -> dict[str, float]:
    """Every trade statistic of a clean trades table (one listing, one or more whole days)."""
    sample = TradeSample.of(trades)
    return {s.name: s.compute(sample) for s in STATISTICS if s.table == "trades"}


@dataclass(frozen=True)
class Comparison:
    statistic: Statistic
    real: float
    demo: float

    @property
    def ok(self) -> bool:
        return self.statistic.tolerance.holds(self.real, self.demo)


def compare(real: dict[str, float], demo: dict[str, float]) -> list[Comparison]:
    """One row per statistic present in both, in table order."""
    return [Comparison(s, real[s.name], demo[s.name]) for s in STATISTICS if s.name in real and s.name in demo]


def _value(value: float, share: bool) -> str:
    if share:
        return f"{value * 100:.1f}%"
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:,.{digits}f}"


def format_table(rows: Iterable[Comparison], headers: Sequence[str] = ("statistic", "real", "demo", "tolerance",
                                                                        "ok")) -> str:
    """A Markdown table: statistic | real | demo | tolerance | ok."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        s = row.statistic
        lines.append(f"| {s.label} | {_value(row.real, s.share)} | {_value(row.demo, s.share)} | "
                     f"{s.tolerance.describe()} | {'ok' if row.ok else 'NO'} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Files: the real samples and a written demo archive


def real_book(path: Path) -> pl.DataFrame:
    """A real archive hour (.lz4) as the clean book table."""
    return parse_l2_book(Path(path).read_bytes(), str(path))


def real_trades(path: Path, listing: BinanceListing) -> pl.DataFrame:
    """A real Binance day zip as the clean trades table (checked against a sibling .CHECKSUM when there is one)."""
    path = Path(path)
    blob = path.read_bytes()
    checksum = path.with_name(path.name + ".CHECKSUM")
    if checksum.exists():
        verify_checksum(blob, checksum.read_bytes(), str(path))
    return parse_trades_zip(blob, listing, str(path))


def archive_book(mirror_root: Path, coin: str, day: date) -> pl.DataFrame:
    """Every L2 hour of the coin's day in a demo mirror, as one clean book table."""
    hours = [datetime(day.year, day.month, day.day) + timedelta(hours=h) for h in range(24)]
    paths = [Path(mirror_root) / HYPERLIQUID_BUCKET / l2_book_key(coin, hour) for hour in hours]
    present = [p for p in paths if p.exists()]
    if not present:
        raise FileNotFoundError(f"no {coin} L2 hour of {day} under {mirror_root}: write the demo archive first")
    return pl.concat([parse_l2_book(p.read_bytes(), str(p), coin) for p in present])


def archive_trades(mirror_root: Path, listing: BinanceListing, day: date) -> pl.DataFrame:
    """The listing's Binance day in a demo mirror, as the clean trades table."""
    return real_trades(Path(mirror_root) / BINANCE_HOST / binance_trades_key(listing, day), listing)
