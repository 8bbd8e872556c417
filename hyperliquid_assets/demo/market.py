"""A synthetic market with one planted, known signal, for the demo archive (numbers only; archive.py writes files).

Per coin the model runs in continuous time over the whole requested window, in order, so the book, the price
and the imbalance carry over every hour and day boundary. Everything is drawn from
`SeedSequence([seed, crc32(coin), stream])`, so (seed, coin, window, params) fixes every number.

The book (one Hyperliquid snapshot per event, exchange time t_i in ms, gaps Gamma-distributed with mean
`snapshot_gap_s`):

    x_i  = a_i * x_{i-1} + imbalance_scale * sqrt(1 - a_i**2) * z_i,   a_i = exp(-dt_i / imbalance_timescale_s)
    I_i  = tanh(x_i)                                   (latent top-of-book imbalance, in (-1, 1))
    log F_i = log F_{i-1} + signal_strength * k * I_{i-1} * dt_i + volatility * sqrt(dt_i / 3600) * e_i
              with k = signal_bps_per_min / 1e4 / 60  (log drift per second at |I| = 1)
    spread s_i ~ Geometric(1 / mean_spread_ticks) >= 1 tick
    best bid = round(F_i / tick - s_i / 2) ticks, best ask = best bid + s_i  (never crossed)
    top size S_i ~ LogNormal, bid_sz0 = S_i * (1 + I_i) / 2, ask_sz0 = S_i * (1 - I_i) / 2  (>= 1 lot each)

so the observed top-of-book imbalance (bid_sz0 - ask_sz0) / (bid_sz0 + ask_sz0) equals I_i up to lot rounding,
and the expected log return of the mid over the next h seconds is

    E[log(mid_{t+h} / mid_t) | I_t] = signal_strength * k * integral_0^h E[I_{t+u} | I_t] du
                                   ~= signal_strength * k * tau * (1 - exp(-h / tau)) * I_t   (tau = timescale)

(the tanh makes the last step approximate for large |x|). With signal_strength = 0 the mid is a driftless
random walk independent of the book. With the defaults (k = 6 bp/min, tau = 120 s, volatility 0.4 %/sqrt(h),
2 s snapshots) the measured correlation of I_t with the 5-minute forward log return of the mid over a week
is 0.35-0.40 at strength 1, 0.22-0.27 at 0.5 and within +-0.03 of 0 at strength 0 (seeds 1-4; 1-minute
horizon: ~0.47 / ~0.27 / 0). A fraction `identical_book_prob` of snapshots repeat the previous book unchanged
(new times only), as the real archive does. The deep levels (2..20) are drawn by archive.py as a persistent
ladder on absolute ticks whose expected size decays with depth; they carry no signal.

Binance trades: Poisson arrivals (`trades_per_hour`). At a trade the Binance quote is the latest Hyperliquid
mid (by exchange time) times (1 + binance_basis_bps / 1e4), floored to Binance's tick for the bid, ask = bid +
1 tick; a buyer-initiated trade prints at the ask, a seller-initiated one at the bid, and

    P(buyer is the aggressor) = (1 + clip(flow_bias * signal_strength * I, -0.95, 0.95)) / 2

Sizes are lognormal in USD notional, rounded to the venue's lot (or to whole COIN-M contracts).
"""

from __future__ import annotations

import logging
import math
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Mapping

import numpy as np

from hyperliquid_assets.settings import BinanceListing

log = logging.getLogger(__name__)

# Start a coin's book this long before the window so that its first hour, like the real archive's, opens with
# snapshots whose exchange time precedes the hour while their receive time is inside it.
_LEAD_MS = 3_000

# Random stream ids inside one (seed, coin) SeedSequence; fixed so that adding a stream never shifts another.
BOOK_STREAM, TRADE_STREAM, RENDER_STREAM = 1, 2, 3


@dataclass(frozen=True)
class DemoMarketParams:
    """Every knob of the demo market. Defaults give a market that looks like Hyperliquid/Binance in 2024-2025."""

    # Planted signal.
    signal_strength: float = 0.5  # 0 = no signal; 1 = full strength (drift and order flow follow I)
    signal_bps_per_min: float = 6.0  # mid drift in basis points per minute at |I| = 1 and signal_strength = 1
    imbalance_timescale_s: float = 120.0  # mean-reversion time of the latent imbalance (OU) process
    imbalance_scale: float = 1.0  # stationary sd of the OU state x; I = tanh(x)

    # Price.
    volatility: float = 0.004  # sd of the driftless log-mid noise per sqrt(hour)
    base_prices: Mapping[str, float] = field(
        default_factory=lambda: {"BTC": 90_000.0, "ETH": 3_000.0, "SOL": 150.0}, hash=False
    )
    default_base_price: float = 10.0  # for coins not in base_prices
    price_sig_figs: int = 5  # Hyperliquid prices carry 5 significant figures: tick = 10**(floor(log10 p) - 4)
    tick_size: Mapping[str, float] = field(default_factory=dict, hash=False)  # per-coin override of the tick
    mean_spread_ticks: float = 2.0  # mean bid-ask spread in ticks (>= 1)

    # Snapshot timing.
    snapshot_gap_s: float = 2.0  # mean exchange-time gap between snapshots (real: ~0.6 s in 2024)
    gap_shape: float = 4.0  # Gamma shape of the gaps (coefficient of variation 1/sqrt(shape))
    latency_s: float = 0.5  # median receive delay of the recorder (outer time - inner time)
    latency_jitter: float = 0.25  # lognormal sigma of that delay; clipped to [0.5, 2.8] x latency_s
    microsecond_time_prob: float = 0.001  # share of outer times written with 6 fraction digits instead of 9
    identical_book_prob: float = 0.1  # chance that a snapshot repeats the previous book (real: ~0.1)

    # Book shape.
    levels: int = 20  # levels per side (Hyperliquid publishes up to 20)
    thin_side_prob: float = 0.002  # chance that one side of a snapshot shows only 5-19 levels
    size_decimals: Mapping[str, int] = field(default_factory=lambda: {"BTC": 5, "ETH": 4, "SOL": 2}, hash=False)
    default_size_decimals: int = 1
    top_notional_usd: float = 60_000.0  # median USD size of best bid + best ask together
    level_notional_usd: float = 30_000.0  # median USD size of a deeper level at the top of the ladder
    depth_decay_levels: float = 15.0  # deeper levels' expected size falls by e every this many levels
    level_gap_ticks: float = 2.5  # mean gap between adjacent levels near the top (grows with depth)
    level_updates_per_snapshot: float = 1.5  # mean number of deeper levels resized per side per snapshot

    # Binance.
    trades_per_hour: float = 6_000.0  # Poisson rate of (aggregate) trades
    trade_notional_usd: float = 1_000.0  # median trade size in USD (lognormal, sigma 1.6)
    flow_bias: float = 0.6  # how strongly the aggressor side follows I (times signal_strength)
    binance_basis_bps: float = 2.0  # Binance mid = Hyperliquid mid * (1 + basis / 1e4)
    fills_per_agg_trade: float = 1.6  # mean trades per aggregate trade (aggTrades files)

    def __post_init__(self) -> None:
        if self.snapshot_gap_s <= 0 or self.gap_shape <= 0:
            raise ValueError("snapshot_gap_s and gap_shape must be positive")
        if not 0 <= self.identical_book_prob < 1:
            raise ValueError("identical_book_prob must be in [0, 1)")
        if not 1 <= self.levels <= 20:
            raise ValueError("levels must be between 1 and 20")
        if self.mean_spread_ticks < 1:
            raise ValueError("mean_spread_ticks must be >= 1")

    def base_price(self, coin: str) -> float:
        """The coin's price at the start of any window."""
        return float(self.base_prices.get(coin, self.default_base_price))

    def tick(self, coin: str, price: float) -> float:
        """Hyperliquid price tick for the coin at this price level."""
        if coin in self.tick_size:
            return float(self.tick_size[coin])
        return 10.0 ** (math.floor(math.log10(price)) - self.price_sig_figs + 1)

    def sz_decimals(self, coin: str) -> int:
        """Decimals of Hyperliquid sizes for the coin (its lot is 10**-decimals)."""
        return int(self.size_decimals.get(coin, self.default_size_decimals))


def decimals_of(step: float) -> tuple[int, int]:
    """A price/size step as (decimals, integer step in units of 10**-decimals), e.g. 0.5 -> (1, 5), 10 -> (0, 10)."""
    for decimals in range(0, 11):
        units = step * 10**decimals
        if abs(units - round(units)) < 1e-6 * max(1.0, units):
            return decimals, int(round(units))
    raise ValueError(f"step {step} has more than 10 decimals")


@dataclass(frozen=True)
class BookPath:
    """Top of a coin's Hyperliquid book at every snapshot whose receive time is in [start, end), in order.

    Prices are integers in units of 10**-price_decimals (a tick is tick_units of them); sizes are integers in
    lots of 10**-size_decimals. Arrays have one entry per snapshot.
    """

    coin: str
    start: datetime
    end: datetime
    price_decimals: int
    tick_units: int
    size_decimals: int
    exchange_ms: np.ndarray  # int64, the exchange's book time (inner `time`)
    received_ns: np.ndarray  # int64, the recorder's receive time (outer `time`), strictly increasing
    received_digits: np.ndarray  # int8, 9 or 6 fraction digits in the outer time
    bid_px: np.ndarray  # int64 best bid in price units
    ask_px: np.ndarray  # int64 best ask in price units
    bid_sz: np.ndarray  # int64 best bid size in lots
    ask_sz: np.ndarray  # int64 best ask size in lots
    bid_n: np.ndarray  # int64 orders at the best bid
    ask_n: np.ndarray  # int64 orders at the best ask
    identical: np.ndarray  # bool, this snapshot repeats the previous book exactly
    latent_imbalance: np.ndarray  # float64, I_i of the model (drives drift and order flow)
    fair_price: np.ndarray  # float64, F_i of the model

    def __len__(self) -> int:
        return len(self.exchange_ms)

    @property
    def tick(self) -> float:
        return self.tick_units / 10**self.price_decimals

    @property
    def mid(self) -> np.ndarray:
        """Mid price of the displayed book, as float."""
        return (self.bid_px + self.ask_px) / (2 * 10**self.price_decimals)

    @property
    def imbalance(self) -> np.ndarray:
        """Displayed top-of-book imbalance (bid_sz0 - ask_sz0) / (bid_sz0 + ask_sz0)."""
        return (self.bid_sz - self.ask_sz) / (self.bid_sz + self.ask_sz)


@dataclass(frozen=True)
class TradePath:
    """Binance (aggregate) trades of one listing in [start, end), in time order.

    Prices are integers in units of 10**-price_decimals; quantities are integers in units of
    10**-qty_decimals (whole contracts, qty_decimals = 0, for COIN-M). For plain trades trade_id =
    first_trade_id = last_trade_id; for aggTrades trade_id is the aggregate id.
    """

    listing: BinanceListing
    start: datetime
    end: datetime
    price_decimals: int
    tick_units: int
    qty_decimals: int
    time_us: np.ndarray  # int64 epoch microseconds, non-decreasing
    trade_id: np.ndarray  # int64, strictly increasing
    first_trade_id: np.ndarray  # int64
    last_trade_id: np.ndarray  # int64
    price: np.ndarray  # int64 price units
    qty: np.ndarray  # int64 qty units (> 0)
    is_buyer_maker: np.ndarray  # bool; False = the buyer took the ask
    bid: np.ndarray  # int64, Binance best bid at the trade (price units)
    ask: np.ndarray  # int64, Binance best ask at the trade (price units)

    def __len__(self) -> int:
        return len(self.time_us)


def coin_rng(seed: int, coin: str, stream: int) -> np.random.Generator:
    """The generator for one (seed, coin, stream); independent of Python's hash seed."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(coin.encode()), stream]))


def epoch_ms(moment: datetime | date) -> int:
    """UTC epoch milliseconds of a datetime (naive = UTC) or of a date's midnight."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


def simulate_book(
    coin: str,
    start: datetime,
    end: datetime,
    params: DemoMarketParams = DemoMarketParams(),
    seed: int = 7,
    start_price: float | None = None,
) -> BookPath:
    """Simulate the coin's top of book (see the module docstring) for snapshots received in [start, end)."""
    rng = coin_rng(seed, coin, BOOK_STREAM)
    first_price = float(start_price) if start_price else params.base_price(coin)
    price_decimals, tick_units = decimals_of(params.tick(coin, first_price))
    tick = tick_units / 10**price_decimals
    size_decimals = params.sz_decimals(coin)
    lot = 10.0**-size_decimals

    start_ms, end_ms = epoch_ms(start), epoch_ms(end)
    if end_ms <= start_ms:
        raise ValueError(f"empty window {start} .. {end}")
    t0 = start_ms - _LEAD_MS
    gap_ms = params.snapshot_gap_s * 1000
    count = int((end_ms - t0) / gap_ms * 1.1) + 64
    gaps = np.maximum(np.rint(rng.gamma(params.gap_shape, gap_ms / params.gap_shape, count)), 1).astype(np.int64)
    while int(gaps.sum()) < end_ms - t0:  # rare: the draw fell short of the window
        more = rng.gamma(params.gap_shape, gap_ms / params.gap_shape, count // 4 + 64)
        gaps = np.concatenate([gaps, np.maximum(np.rint(more), 1).astype(np.int64)])
    exchange_ms = t0 + np.cumsum(gaps)
    n = int(np.searchsorted(exchange_ms, end_ms))
    exchange_ms, gaps = exchange_ms[:n], gaps[:n]
    dt = gaps / 1000.0

    # Latent imbalance: OU with exact discretisation for the uneven gaps (a sequential recursion).
    decay = np.exp(-dt / params.imbalance_timescale_s)
    shocks = (params.imbalance_scale * np.sqrt(1.0 - decay**2) * rng.standard_normal(n)).tolist()
    state = np.empty(n)
    x = params.imbalance_scale * float(rng.standard_normal())
    for i, (a, e) in enumerate(zip(decay.tolist(), shocks)):
        x = a * x + e
        state[i] = x
    latent = np.tanh(state)

    drift_per_s = params.signal_strength * params.signal_bps_per_min / 1e4 / 60.0
    previous = np.concatenate([[latent[0]], latent[:-1]])
    steps = drift_per_s * previous * dt + params.volatility * np.sqrt(dt / 3600.0) * rng.standard_normal(n)
    fair = first_price * np.exp(np.cumsum(steps))

    spread = rng.geometric(1.0 / params.mean_spread_ticks, n).astype(np.int64)
    bid_ticks = np.rint(fair / tick - spread / 2.0).astype(np.int64)
    top_lots = params.top_notional_usd / first_price / lot * rng.lognormal(0.0, 0.7, n)
    bid_sz = np.maximum(np.rint(top_lots * (1 + latent) / 2), 1).astype(np.int64)
    ask_sz = np.maximum(np.rint(top_lots * (1 - latent) / 2), 1).astype(np.int64)
    bid_n = 1 + rng.poisson(0.5, n)
    ask_n = 1 + rng.poisson(0.5, n)

    identical = rng.random(n) < params.identical_book_prob
    identical[0] = False
    shown = np.maximum.accumulate(np.where(identical, 0, np.arange(n)))
    bid_ticks, spread = bid_ticks[shown], spread[shown]
    bid_sz, ask_sz, bid_n, ask_n = bid_sz[shown], ask_sz[shown], bid_n[shown], ask_n[shown]

    latency = params.latency_s * np.clip(np.exp(params.latency_jitter * rng.standard_normal(n)), 0.5, 2.8)
    received = exchange_ms * 1_000_000 + np.rint(latency * 1e9).astype(np.int64)
    # The recorder writes in receive order; make receive times strictly increasing (this only shortens delays).
    index = np.arange(n, dtype=np.int64)
    received = np.maximum.accumulate(received - index) + index
    digits = np.full(n, 9, dtype=np.int8)
    micro = rng.random(n) < params.microsecond_time_prob
    floored = received - received % 1000
    prior = np.concatenate([[np.iinfo(np.int64).min], received[:-1]])
    micro &= floored > prior
    received = np.where(micro, floored, received)
    digits[micro] = 6

    keep = (received >= start_ms * 1_000_000) & (received < end_ms * 1_000_000)
    log.debug("simulated %d %s snapshots for %s .. %s", int(keep.sum()), coin, start, end)
    return BookPath(
        coin=coin,
        start=start,
        end=end,
        price_decimals=price_decimals,
        tick_units=tick_units,
        size_decimals=size_decimals,
        exchange_ms=exchange_ms[keep],
        received_ns=received[keep],
        received_digits=digits[keep],
        bid_px=bid_ticks[keep] * tick_units,
        ask_px=(bid_ticks + spread)[keep] * tick_units,
        bid_sz=bid_sz[keep],
        ask_sz=ask_sz[keep],
        bid_n=bid_n[keep],
        ask_n=ask_n[keep],
        identical=identical[keep],
        latent_imbalance=latent[keep],
        fair_price=fair[keep],
    )


def binance_steps(listing: BinanceListing, price: float) -> tuple[float, float]:
    """(price tick, quantity lot) of a Binance listing around this price; COIN-M quantities are contracts (1)."""
    magnitude = math.floor(math.log10(price))
    # Roughly Binance's filters: 0.01 for most spot pairs, 0.1 for BTC futures, finer below $10.
    tick = 0.01 if price >= 10 else 10.0 ** max(magnitude - 4, -8)
    if listing.market != "spot" and price >= 10_000:
        tick = 0.1
    if listing.market == "spot":
        lot = 10.0 ** -min(max(math.ceil(math.log10(price)), 0), 5)
    elif listing.market == "usdm":
        lot = 10.0 ** -min(max(math.ceil(math.log10(price)) - 2, 0), 3)
    else:
        lot = 1.0
    return tick, lot


def simulate_trades(
    book: BookPath,
    listing: BinanceListing,
    params: DemoMarketParams = DemoMarketParams(),
    seed: int = 7,
    n_trades: int | None = None,
) -> TradePath:
    """Binance trades over the book's window, quoted off the Hyperliquid book (see the module docstring).

    n_trades fixes the count (arrivals then are uniform order statistics); by default it is Poisson with
    mean trades_per_hour x hours.
    """
    if len(book) == 0:
        raise ValueError(f"book of {book.coin} has no snapshots")
    rng = coin_rng(seed, book.coin, TRADE_STREAM)
    start_us, end_us = epoch_ms(book.start) * 1000, epoch_ms(book.end) * 1000
    if n_trades is None:
        n_trades = int(rng.poisson(params.trades_per_hour * (end_us - start_us) / 3.6e9))
    n = int(n_trades)
    time_us = np.sort(rng.integers(start_us, end_us, n, dtype=np.int64))

    first_mid = float(book.mid[0])
    tick, lot = binance_steps(listing, first_mid)
    price_decimals, tick_units = decimals_of(tick)
    qty_decimals, lot_units = decimals_of(lot)

    at = np.clip(np.searchsorted(book.exchange_ms * 1000, time_us, side="right") - 1, 0, None)
    mid = book.mid[at] * (1.0 + params.binance_basis_bps / 1e4)
    scale = 10**price_decimals
    bid = (np.floor(mid * scale / tick_units).astype(np.int64)) * tick_units
    ask = bid + tick_units
    tilt = np.clip(params.flow_bias * params.signal_strength * book.latent_imbalance[at], -0.95, 0.95)
    buy = rng.random(n) < (1.0 + tilt) / 2.0
    price = np.where(buy, ask, bid)

    notional = params.trade_notional_usd * rng.lognormal(0.0, 1.6, n)
    if listing.market == "coinm":
        qty = np.maximum(np.rint(notional / listing.contract_size), 1).astype(np.int64)
    else:
        per_unit = lot_units / 10**qty_decimals
        qty = np.maximum(np.rint(notional / mid / per_unit), 1).astype(np.int64) * lot_units

    ids_from = int(rng.integers(10**8, 10**9))
    if listing.kind == "aggTrades":
        fills = 1 + rng.poisson(max(params.fills_per_agg_trade - 1.0, 0.0), n)
        last = ids_from * 3 + np.cumsum(fills)
        first = last - fills + 1
        trade_id = ids_from + np.arange(n, dtype=np.int64)
    else:
        trade_id = ids_from + np.arange(n, dtype=np.int64)
        first = last = trade_id
    return TradePath(
        listing=listing,
        start=book.start,
        end=book.end,
        price_decimals=price_decimals,
        tick_units=tick_units,
        qty_decimals=qty_decimals,
        time_us=time_us,
        trade_id=trade_id,
        first_trade_id=first,
        last_trade_id=last,
        price=price,
        qty=qty,
        is_buyer_maker=~buy,
        bid=bid,
        ask=ask,
    )
