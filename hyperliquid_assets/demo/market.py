"""A synthetic market calibrated to real Hyperliquid and Binance samples, with one planted, tunable signal
(numbers only; archive.py writes the files, calibration.py measures them against the real samples).

Per coin the model runs in continuous time over the whole requested window, so the book, the price and the
latent state carry over every hour and day boundary. Everything is drawn from
`SeedSequence([seed, crc32(coin), stream])`, so (seed, coin, window, params) fixes every number.

Latent states, each tanh of an OU process on a 1 s grid (x_{n+1} = a x_n + sqrt(1 - a**2) sd z_n, a = exp(-1/tau)):
  * I(t), tau = imbalance_timescale_s (300 s), sd imbalance_scale: slow buying (I > 0) or selling pressure;
  * P(t), tau = pressure_timescale_s (8 s), sd 1: fast order-flow pressure;
  * S(t), tau = quote_skew_timescale_s (30 s): which side market makers quote large on; carries no signal.

The Hyperliquid book, one snapshot per block (exchange time t_i; Gamma gaps, capped by a heartbeat):
  * A share `identical_book_prob` of snapshots are idle blocks: the book repeats exactly (new times only).
  * The mid M (in half ticks) moves only at touch events, k_i ~ Poisson(nu * dt_i / (1 - identical_book_prob))
    of them in a non-idle snapshot. Touch j draws the spread after it, s_j ~ pi (1 tick, or 2 + Poisson body,
    or a geometric tail), and a mid step D_j whose magnitude (discrete Pareto in half ticks) has the parity that
    keeps bid = (M - s) / 2 and ask = (M + s) / 2 on ticks, and whose sign is

        P(D_j > 0) = (1 + drift(t_{i-1}) / u) / 2,   drift = clip(signal_strength * (signal_bps_per_min * I
                                                                  + pressure_bps_per_min * P), -u, u)
        u = 60 * nu * E|D| * half_tick_bps   (bps per minute when every step goes up; ~9.4 for BTC)

    Given everything observable before the snapshot (book, trades, the mid's own past), the magnitude of each
    step is independent of its sign, so at signal_strength 0 the mid is a martingale and no feature of the past
    predicts it. nu is set so that 3600 * nu * E[D**2] * half_tick_bps**2 = volatility_bps_per_hour**2
    (nu = mid_moves_per_s when the tick allows, else lowered; half_tick_bps at the window's first price).
  * Best queues (per side): a fresh size when the side's price changes or at a redraw event, drawn in USD from
    a mixture of tiny / small / medium / large resting orders in which the large one's weight is multiplied by
    1 +- (book_tilt * I + pressure_tilt * P + quote_skew * S), + for bids, - for asks; between, size events
    grow or shrink the queue by exp(+-|N(0, queue_noise)|), growing with probability (1 +- queue_drift * P) / 2:
    bids fill up and asks drain under buying pressure. Orders at the best: 1 + Poisson.
  * Deeper levels (archive.py): a persistent ladder on absolute ticks per side, mean gaps growing with depth
    as level_gap_bps * (1 + level_gap_growth * d**level_gap_power), sizes from the same mixture, churned
    (resized, pulled, added toward that profile) about once a snapshot; no signal beyond the best level.
The recorder's receive time (outer `time`) is the exchange time plus a lognormal latency.

The planted drift (BookPath.planted_drift, per snapshot) is therefore exactly, on average over spread states,

    E[d mid / mid_0 | I, P] = drift dt / 1e4,   drift in bps per minute as above
    E[log(mid_{t+h} / mid_t) | I_t] ~= signal_strength * signal_bps_per_min / 60 * tau * (1 - exp(-h / tau)) * I_t
                                        (+ the same for P with its own tau; tanh makes this approximate)

so at the default strength 0.5 the slow part moves the mid by up to ~12 bps x I over its life (7.6 bps x I in
5 minutes) and the fast part by ~0.4 bps x P over a few seconds. It shows only noisily: in the best-level and
near-book imbalance (book_imbalance_1/5/10, and the bid/ask depth within 5-10 bps, which hold the best queue)
through the queue mixture; in the order-flow imbalance (book_ofi) through the pressure's queue drift and the
tilted steps; in the Binance aggressor side (flow_imbalance_1m/5m, flow_signed_notional) through flow_tilt;
and, as any persistent drift does, in past returns. The couplings are the same at every strength; the strength
only sets how much I and P move the mid. Measured with the project's features and labels (1 s bars, BTC,
non-overlapping samples, seeds 1-4 one day each, pooled; test_demo_signal.py checks the strength 0 and default
rows):

    feature             label    strength 0   0.5 (default; per day)      1.0
    book_imbalance_1    10 s       -0.002     +0.100 (0.087 to 0.110)    +0.181
    book_imbalance_1    1 min      -0.000     +0.161 (0.144 to 0.190)    +0.239
    book_imbalance_1    5 min      -0.007     +0.181 (0.118 to 0.230)    +0.239
    book_imbalance_5    1 min      -0.006     +0.120 (0.099 to 0.136)    +0.149
    book_imbalance_10   1 min      -0.000     +0.101 (0.087 to 0.107)    +0.140
    flow_imbalance_1m   1 min      -0.013     +0.124 (0.100 to 0.157)    +0.185
    flow_imbalance_5m   5 min      +0.022     +0.206 (0.143 to 0.231)    +0.244
    book_ofi            10 s       +0.004     +0.025 (0.016 to 0.038)    +0.064   (weak: needs days, not hours)
    book_ret_bps_1m     1 min      -0.017     +0.142 (0.120 to 0.157)    +0.348   (a drift's footprint)
    At strength 0 the largest |z| over all 189 (feature, horizon) pairs is 2.4 (z = corr * sqrt(n)).

Why strength 0.5 is the default: with fees of 4.5 bps taker / 1.5 bps maker, an oracle that knows the drift and
trades its strongest tenth over 5 minutes makes ~7 bps gross (seeds 4-5, a week each): less than a taker round
trip (9 bps), so nobody beats flat as a taker. A ridge regression on every feature, fitted on two days and
scored on two others, makes ~4.2 bps gross on its strongest tenth over 5 minutes, just above a maker round trip
(3 bps); book_imbalance_1 alone makes ~2.6 bps, just below it. So a good model can just beat flat and a poor
one cannot (58 test trades over two days: +-1.3 bps standard error). At strength 1 the same model makes
~6.7 bps, so the knob spans "nothing" to "beats a maker round trip comfortably".

Binance trades (aggregate trades, i.e. one taker order at one price):
  * Taker orders come in clusters: cluster starts are Poisson with a rate modulated by a log-normal OU
    intensity (trade_burst_sd, trade_burst_timescale_s); a cluster has Geometric(mean orders_per_cluster)
    orders at lognormal gaps (median cluster_gap_ms). A cluster's side is a buy with probability
    (1 + flow_tilt * I(t)) / 2; each of its orders keeps that side with probability same_side_in_cluster.
  * An order sweeps L levels (discrete Pareto), one aggregate trade per level, all at the order's time: a buy
    at ask, ask + step, ... (steps of mean sweep_step_bps), a sell at bid, bid - step, ...
  * The Binance quote: bid = floor(R / tick) * tick, ask = bid + tick, with R = (Hyperliquid mid of the last
    snapshot the recorder RECEIVED by t + cross_venue_lead_s) * (1 + binance_basis_bps / 1e4). With the lead at
    0 (default) a Binance trade at t knows nothing the Hyperliquid features at t do not: no cross-venue lead.
    A positive lead gives Binance that many seconds of the Hyperliquid future (a venue lead, as its own knob).
  * Sizes are lognormal in USD (trade_notional_usd median, trade_notional_sigma); plain-trades files split each
    aggregate trade into 1 + Poisson(fills_per_agg_trade - 1) fills at its price and time. The trade-flow
    statistics are calibrated on aggregate trades (the real sample is COIN-M aggTrades), so a plain spot day,
    aggregated back as Binance builds aggTrades, matches them; sizes are continuous in USD where COIN-M's are
    whole $100 contracts.

So with signal_strength = 0 and cross_venue_lead_s = 0 nothing in the book or the trades predicts the
Hyperliquid mid; the tests check every feature column against every label horizon.
"""

from __future__ import annotations

import logging
import math
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Mapping

import numpy as np

log = logging.getLogger(__name__)

# Start a coin's book this long before the window so that its first hour, like the real archive's, opens with
# snapshots whose exchange time precedes the hour while their receive time is inside it.
_LEAD_MS = 3_000
_GRID_MS = 1_000  # the latent state's grid

# Random stream ids inside one (seed, coin) SeedSequence; fixed so that adding a stream never shifts another.
BOOK_STREAM, TRADE_STREAM, RENDER_STREAM, LATENT_STREAM, SKEW_STREAM, PRESSURE_STREAM = 1, 2, 3, 4, 5, 6


@dataclass(frozen=True)
class DemoMarketParams:
    """Every knob of the demo market. Defaults are calibrated to the real BTC hour 2024-01-01 12h (book) and the
    BTCUSD_PERP aggTrades day 2026-05-08 (trades); see calibration.py for the statistics and tolerances."""

    # Planted signal.
    signal_strength: float = 0.5  # 0 = none; scales the drift the latent I and P put on the mid
    signal_bps_per_min: float = 4.8  # mid drift in bps per minute at |I| = 1 and signal_strength = 1
    imbalance_timescale_s: float = 300.0  # mean-reversion time of the latent OU state
    imbalance_scale: float = 1.0  # stationary sd of the OU state x; I = tanh(x)
    pressure_bps_per_min: float = 6.0  # drift at |P| = 1 and strength 1 from the fast order-flow pressure P
    pressure_timescale_s: float = 8.0  # mean-reversion time of P's OU state (stationary sd 1)
    book_tilt: float = 2.0  # large best queues lean to the side I favours (at every strength)
    queue_drift: float = 0.8  # P(a size event adds to the bid / cancels from the ask) = (1 + queue_drift P) / 2
    pressure_tilt: float = 1.5  # fresh best queues also lean with the fast pressure P
    queue_noise: float = 0.8  # sd of the (half-normal) log size change at a size event
    flow_tilt: float = 0.5  # Binance aggressor side leans with I (at every strength)
    cross_venue_lead_s: float = 0.0  # Binance sees the Hyperliquid mid this many seconds early; 0 = no lead

    # Price.
    volatility_bps_per_hour: float = 23.0
    mid_moves_per_s: float = 0.53  # touch events per second (moves of the best bid and/or ask)
    mid_step_tail: float = 1.6  # Pareto tail index of the mid step in half ticks
    max_mid_step_half_ticks: int = 80
    base_prices: Mapping[str, float] = field(
        default_factory=lambda: {"BTC": 42_000.0, "ETH": 2_300.0, "SOL": 100.0}, hash=False
    )
    default_base_price: float = 10.0  # for coins not in base_prices
    price_sig_figs: int = 5  # Hyperliquid prices carry 5 significant figures: tick = 10**(floor(log10 p) - 4)
    tick_size: Mapping[str, float] = field(default_factory=dict, hash=False)  # per-coin override of the tick
    spread_one_tick_prob: float = 0.45  # spread law pi: 1 tick with this probability, else
    spread_body_ticks: float = 1.45  # 2 + Poisson(this) ticks, or with spread_tail_prob
    spread_tail_prob: float = 0.03  # 2 + Geometric(mean spread_tail_ticks), capped at max_spread_ticks
    spread_tail_ticks: float = 6.0
    max_spread_ticks: int = 40

    # Snapshot timing.
    snapshot_gap_s: float = 0.644  # mean exchange-time gap between snapshots (real 2024-01: 0.644 s)
    snapshot_gap_by_coin: Mapping[str, float] = field(default_factory=dict, hash=False)
    gap_shape: float = 12.0  # Gamma shape of the gaps (coefficient of variation 1 / sqrt(shape))
    snapshot_max_gap_s: float = 1.0  # heartbeat: a snapshot at least this often (or 1.55 x the mean gap) ...
    snapshot_outage_prob: float = 0.005  # ... except in outages, which last this much longer (exponential)
    snapshot_outage_s: float = 0.6
    latency_s: float = 0.5  # median receive delay of the recorder (outer time - inner time)
    latency_jitter: float = 0.1  # lognormal sigma of that delay; clipped to [0.5, 2.8] x latency_s
    microsecond_time_prob: float = 0.001  # share of outer times written with 6 fraction digits instead of 9
    identical_book_prob: float = 0.096  # idle blocks: the snapshot repeats the previous book (real: 9.6%)

    # Book shape.
    levels: int = 20  # levels per side (Hyperliquid publishes up to 20)
    thin_side_prob: float = 0.0005  # chance that one side of a snapshot shows only 5-19 levels
    size_decimals: Mapping[str, int] = field(default_factory=lambda: {"BTC": 5, "ETH": 4, "SOL": 2}, hash=False)
    default_size_decimals: int = 1
    # Resting orders in USD: a lognormal mixture of tiny, small, medium and large (market-maker) quotes.
    queue_usd: tuple[float, ...] = (45.0, 430.0, 6_000.0, 165_000.0)  # component medians
    queue_sigma: tuple[float, ...] = (0.3, 0.7, 1.2, 0.2)  # component lognormal sigmas
    best_queue_weights: tuple[float, ...] = (0.06, 0.31, 0.30, 0.33)  # at the best level
    level_queue_weights: tuple[float, ...] = (0.05, 0.22, 0.23, 0.50)  # at deeper levels
    quote_skew: float = 1.5  # large best quotes also lean with a skew S(t) that carries no signal:
    quote_skew_scale: float = 1.5  # S = tanh(OU with this sd), weight x (1 +- book_tilt I +- quote_skew S)
    quote_skew_timescale_s: float = 30.0
    size_event_prob: float = 0.17  # per side and non-idle snapshot: the best queue changes in place
    redraw_prob: float = 0.4  # share of those that replace the queue outright
    best_orders_extra: float = 0.9  # orders at the best level: 1 + Poisson(this)
    level_orders_extra: float = 0.33  # at deeper levels: 1 + a geometric count with this mean
    level_gap_bps: float = 0.57  # mean gap between adjacent levels at the top (>= 1 tick; BTC 2024: 2.4 ticks)
    level_gap_growth: float = 0.14  # the mean gap at depth d is level_gap_bps * (1 + growth * d**power)
    level_gap_power: float = 1.5
    level_churn_per_snapshot: float = 0.5  # deeper-level events (resize, pull, add) per side and snapshot
    level_resize_share: float = 0.6  # share of those that resize; the others pull or add toward the profile
    requote_prob: float = 0.5  # when the touch moves inward, the old best is pulled with this probability

    # Binance.
    trades_per_hour: float = 4_400.0  # aggregate trades (real BTCUSD_PERP 2026-05-08: 105,280 a day)
    trades_per_hour_by_coin: Mapping[str, float] = field(default_factory=dict, hash=False)
    levels_per_order_tail: float = 1.4  # Pareto tail index of the levels one taker order sweeps
    levels_per_order_scale: float = 0.95
    max_levels_per_order: int = 50
    orders_per_cluster: float = 4.0
    cluster_gap_ms: float = 40.0  # median gap between orders of a cluster
    cluster_gap_sigma: float = 2.2
    same_side_in_cluster: float = 0.95
    trade_burst_sd: float = 0.8  # sd of the log intensity
    trade_burst_timescale_s: float = 600.0
    sweep_step_bps: float = 0.06  # mean price step between the levels of one sweep
    trade_notional_usd: float = 200.0  # median USD of an aggregate trade
    trade_notional_sigma: float = 2.6
    max_trade_notional_usd: float = 5_000_000.0
    binance_basis_bps: float = 2.0  # Binance mid = Hyperliquid mid * (1 + basis / 1e4)
    fills_per_agg_trade: float = 2.28  # mean fills per aggregate trade (real: 2.28)

    def __post_init__(self) -> None:
        if self.snapshot_gap_s <= 0 or self.gap_shape <= 0 or self.snapshot_max_gap_s <= 0:
            raise ValueError("snapshot_gap_s, gap_shape and snapshot_max_gap_s must be positive")
        if not 0 <= self.identical_book_prob < 1:
            raise ValueError("identical_book_prob must be in [0, 1)")
        if not 1 <= self.levels <= 20:
            raise ValueError("levels must be between 1 and 20")
        if not 0 <= self.spread_one_tick_prob <= 1 or not 0 <= self.spread_tail_prob <= 1:
            raise ValueError("spread probabilities must be in [0, 1]")
        if self.cross_venue_lead_s < 0:
            raise ValueError("cross_venue_lead_s must be >= 0")
        if self.volatility_bps_per_hour <= 0 or self.mid_moves_per_s <= 0:
            raise ValueError("volatility_bps_per_hour and mid_moves_per_s must be positive")

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

    def gap_s(self, coin: str) -> float:
        """Mean snapshot gap of the coin (cadence per coin and era)."""
        return float(self.snapshot_gap_by_coin.get(coin, self.snapshot_gap_s))

    def trade_rate(self, coin: str) -> float:
        """Aggregate Binance trades per hour for the coin."""
        return float(self.trades_per_hour_by_coin.get(coin, self.trades_per_hour))


def decimals_of(step: float) -> tuple[int, int]:
    """A price/size step as (decimals, integer step in units of 10**-decimals), e.g. 0.5 -> (1, 5), 10 -> (0, 10)."""
    for decimals in range(0, 11):
        units = step * 10**decimals
        if abs(units - round(units)) < 1e-6 * max(1.0, units):
            return decimals, int(round(units))
    raise ValueError(f"step {step} has more than 10 decimals")


# ---------------------------------------------------------------------------------------------------------------
# Discrete laws shared by the book and the trades


def pareto_pmf(tail: float, scale: float, largest: int) -> np.ndarray:
    """P(X = d) for d = 1..largest with P(X >= d) = (1 + (d - 1) / scale) ** -tail, renormalised; index 0 is d = 1."""
    d = np.arange(1, largest + 2, dtype=float)
    survival = (1.0 + (d - 1.0) / scale) ** -tail
    pmf = survival[:-1] - survival[1:]
    return pmf / pmf.sum()


def spread_pmf(params: DemoMarketParams) -> np.ndarray:
    """pi(s) for s = 0..max_spread_ticks (pi(0) = 0): the spread after a touch event."""
    top = params.max_spread_ticks
    s = np.arange(top + 1)
    body = np.zeros(top + 1)
    lam = params.spread_body_ticks
    extra = s[2:] - 2
    body[2:] = np.exp(-lam + extra * math.log(lam) - np.array([math.lgamma(e + 1) for e in extra]))
    tail = np.zeros(top + 1)
    q = 1.0 / max(params.spread_tail_ticks, 1.0)
    tail[2:] = q * (1 - q) ** extra
    pmf = np.zeros(top + 1)
    pmf[1] = params.spread_one_tick_prob
    wide = (1 - params.spread_tail_prob) * body + params.spread_tail_prob * tail
    pmf[2:] = (1 - params.spread_one_tick_prob) * wide[2:] / wide[2:].sum()
    return pmf


@dataclass(frozen=True)
class MidStepLaw:
    """The mid step of one touch event, in half ticks, conditioned on its parity (odd / even magnitude)."""

    odd: np.ndarray  # magnitudes 1, 3, 5, ...
    odd_pmf: np.ndarray
    even: np.ndarray  # magnitudes 2, 4, ...
    even_pmf: np.ndarray
    odd_share: float  # P(the spread change is odd) for iid spreads from pi
    mean_abs: float  # E|D| over parities
    mean_square: float  # E[D**2] over parities

    @classmethod
    def build(cls, scale: float, params: DemoMarketParams, spreads: np.ndarray) -> MidStepLaw:
        pmf = pareto_pmf(params.mid_step_tail, scale, params.max_mid_step_half_ticks)
        d = np.arange(1, len(pmf) + 1)
        odd_mask = d % 2 == 1
        odd_spread = float(spreads[1::2].sum())
        odd_share = 2 * odd_spread * (1 - odd_spread)
        odd, even = d[odd_mask], d[~odd_mask]
        odd_pmf, even_pmf = pmf[odd_mask] / pmf[odd_mask].sum(), pmf[~odd_mask] / pmf[~odd_mask].sum()
        mean_abs = odd_share * float(odd @ odd_pmf) + (1 - odd_share) * float(even @ even_pmf)
        mean_square = odd_share * float(odd**2 @ odd_pmf) + (1 - odd_share) * float(even**2 @ even_pmf)
        return cls(odd, odd_pmf, even, even_pmf, odd_share, mean_abs, mean_square)


def mid_dynamics(params: DemoMarketParams, half_tick_bps: float) -> tuple[float, MidStepLaw]:
    """(nu, step law) giving volatility_bps_per_hour: the step scale is solved for nu = mid_moves_per_s; if even
    the smallest steps are too large for this tick, nu is lowered instead."""
    spreads = spread_pmf(params)
    target = params.volatility_bps_per_hour**2 / (3600 * half_tick_bps**2)  # nu * E[D**2]
    nu = params.mid_moves_per_s
    smallest = MidStepLaw.build(1e-3, params, spreads)
    if smallest.mean_square * nu >= target:
        return target / smallest.mean_square, smallest
    low, high = 1e-3, 1e3
    for _ in range(80):  # E[D**2] grows with the scale: bisect on a log scale
        mid = math.sqrt(low * high)
        if MidStepLaw.build(mid, params, spreads).mean_square * nu < target:
            low = mid
        else:
            high = mid
    return nu, MidStepLaw.build(math.sqrt(low * high), params, spreads)


def ar1(decay: float, shocks: np.ndarray, start: float) -> np.ndarray:
    """x_n = decay * x_{n-1} + shocks_n with x_{-1} = start, vectorised in blocks (decay**-block stays small)."""
    out = np.empty(len(shocks))
    block = max(1, min(len(shocks), int(20.0 / max(-math.log(decay), 1e-12))))
    powers = decay ** np.arange(1, block + 1)
    inverse = decay ** -np.arange(0, block)
    x = start
    for lo in range(0, len(shocks), block):
        chunk = shocks[lo : lo + block]
        m = len(chunk)
        out[lo : lo + m] = powers[:m] * x + np.cumsum(chunk * inverse[:m]) / inverse[:m]
        x = out[lo + m - 1]
    return out


def queue_usd(rng: np.random.Generator, weights: np.ndarray, params: DemoMarketParams) -> np.ndarray:
    """Resting order sizes in USD from the queue mixture; `weights` has one row of component weights per draw."""
    cumulative = np.cumsum(weights, axis=-1)
    component = (rng.random(len(weights))[:, None] > cumulative[:, :-1]).sum(axis=1)
    medians, sigmas = np.asarray(params.queue_usd), np.asarray(params.queue_sigma)
    return medians[component] * np.exp(sigmas[component] * rng.standard_normal(len(weights)))


# ---------------------------------------------------------------------------------------------------------------
# The latent state


@dataclass(frozen=True)
class LatentPath:
    """I(t) = tanh(x(t)) on a 1 s grid starting at start_ms (value at grid point n holds on [n, n + 1) s)."""

    start_ms: int
    values: np.ndarray

    def at(self, time_ms: np.ndarray) -> np.ndarray:
        index = np.clip((np.asarray(time_ms) - self.start_ms) // _GRID_MS, 0, len(self.values) - 1)
        return self.values[index]


def simulate_latent(coin: str, start_ms: int, end_ms: int, timescale_s: float, scale: float, seed: int,
                    stream: int = LATENT_STREAM) -> LatentPath:
    """tanh of an OU state with this timescale and stationary sd, on the 1 s grid over [start_ms, end_ms]."""
    rng = coin_rng(seed, coin, stream)
    n = (end_ms - start_ms) // _GRID_MS + 2
    decay = math.exp(-(_GRID_MS / 1000) / timescale_s)
    shocks = scale * math.sqrt(1 - decay**2) * rng.standard_normal(n)
    state = ar1(decay, shocks, scale * float(rng.standard_normal()))
    return LatentPath(start_ms, np.tanh(state))


# ---------------------------------------------------------------------------------------------------------------
# The Hyperliquid book


@dataclass(frozen=True)
class BookPath:
    """Top of a coin's Hyperliquid book at every snapshot whose receive time is in [start, end), in order, and
    what the renderer needs to keep the deeper levels moving.

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
    identical: np.ndarray  # bool, an idle block: this snapshot repeats the previous book exactly
    bid_churn: np.ndarray  # int64, deeper-level events on the bid side in this snapshot
    ask_churn: np.ndarray
    latent_imbalance: np.ndarray  # float64, I at the snapshot (drives drift, queues and flow)
    planted_drift: np.ndarray  # float64, E[d log mid / dt] in bps per minute from this snapshot to the next
    latent: LatentPath  # I over the whole window, for the trades

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


def _snapshot_times(rng: np.random.Generator, t0: int, end_ms: int, gap_s: float, params: DemoMarketParams
                    ) -> np.ndarray:
    """Exchange times (ms) of the snapshots after t0 and before end_ms: Gamma gaps with mean gap_s, none longer
    than the heartbeat max(snapshot_max_gap_s, 1.55 * gap_s) except outages (snapshot_outage_prob), which add
    an exponential snapshot_outage_s to it."""
    mean_ms = gap_s * 1000
    cap_ms = max(params.snapshot_max_gap_s * 1000, 1.55 * mean_ms)
    count = int((end_ms - t0) / mean_ms * 1.1) + 64

    def draw(k: int) -> np.ndarray:
        gaps = np.minimum(rng.gamma(params.gap_shape, mean_ms / params.gap_shape, k), cap_ms)
        outage = rng.random(k) < params.snapshot_outage_prob
        gaps[outage] = cap_ms + rng.exponential(params.snapshot_outage_s * 1000, int(outage.sum()))
        return np.maximum(np.rint(gaps), 1).astype(np.int64)

    gaps = draw(count)
    while int(gaps.sum()) < end_ms - t0:  # rare: the draw fell short of the window
        gaps = np.concatenate([gaps, draw(count // 4 + 64)])
    times = t0 + np.cumsum(gaps)
    return times[: int(np.searchsorted(times, end_ms))]


def _mid_and_spread(rng: np.random.Generator, touches: np.ndarray, tilt: np.ndarray, first_spread: int,
                    law: MidStepLaw, spreads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per snapshot: the mid change (half ticks) summed over its touch events, and the spread after them."""
    n, total = len(touches), int(touches.sum())
    if total == 0:
        return np.zeros(n, dtype=np.int64), np.full(n, first_spread, dtype=np.int64)
    owner = np.repeat(np.arange(n), touches)
    s = rng.choice(len(spreads), size=total, p=spreads)
    previous = np.concatenate([[first_spread], s[:-1]])
    odd = (s - previous) % 2 == 1
    magnitude = np.where(odd, rng.choice(law.odd, size=total, p=law.odd_pmf),
                         rng.choice(law.even, size=total, p=law.even_pmf))
    up = rng.random(total) < (1.0 + tilt[owner]) / 2.0
    change = np.bincount(owner, weights=np.where(up, magnitude, -magnitude), minlength=n)
    last = np.cumsum(touches) - 1  # the last touch at or before each snapshot (-1: none yet)
    spread = np.where(last >= 0, s[np.clip(last, 0, None)], first_spread)
    return np.rint(change).astype(np.int64), spread.astype(np.int64)


def _best_queue(rng: np.random.Generator, moved: np.ndarray, active: np.ndarray, latent: np.ndarray,
                skew: np.ndarray, pressure: np.ndarray, sign: float, lots_per_usd: float, params: DemoMarketParams
                ) -> tuple[np.ndarray, np.ndarray]:
    """One side's best queue (lots) and orders per snapshot (see the module docstring)."""
    n = len(moved)
    event = active & (rng.random(n) < params.size_event_prob)
    redraw = event & (rng.random(n) < params.redraw_prob)
    reset = moved | redraw
    reset[0] = True
    components = len(params.best_queue_weights)
    weights = np.broadcast_to(np.asarray(params.best_queue_weights, dtype=float), (n, components)).copy()
    lean = params.book_tilt * latent + params.pressure_tilt * pressure + params.quote_skew * skew
    weights[:, -1] *= np.clip(1.0 + sign * lean, 0.02, None)
    weights /= weights.sum(axis=1, keepdims=True)
    fresh = np.log(queue_usd(rng, weights, params) * lots_per_usd)
    grow = event & ~redraw
    adds = rng.random(n) < (1.0 + sign * params.queue_drift * pressure) / 2.0  # an addition, else a cancel or fill
    steps = np.where(grow, np.where(adds, 1.0, -1.0) * np.abs(params.queue_noise * rng.standard_normal(n)), 0.0)
    walked = np.cumsum(steps)
    since = np.maximum.accumulate(np.where(reset, np.arange(n), 0))
    log_lots = fresh[since] + walked - walked[since]
    lots = np.maximum(np.rint(np.exp(np.minimum(log_lots, 40.0))), 1).astype(np.int64)
    orders_fresh = 1 + rng.poisson(params.best_orders_extra, n)
    changed = reset | event
    orders = orders_fresh[np.maximum.accumulate(np.where(changed, np.arange(n), 0))]
    return lots, orders.astype(np.int64)


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
    lots_per_usd = 10.0**size_decimals / first_price

    start_ms, end_ms = epoch_ms(start), epoch_ms(end)
    if end_ms <= start_ms:
        raise ValueError(f"empty window {start} .. {end}")
    t0 = start_ms - _LEAD_MS
    exchange_ms = _snapshot_times(rng, t0, end_ms, params.gap_s(coin), params)
    n = len(exchange_ms)
    dt = np.diff(np.concatenate([[t0], exchange_ms])) / 1000.0
    latent_path = simulate_latent(coin, t0, end_ms, params.imbalance_timescale_s, params.imbalance_scale, seed)
    latent = latent_path.at(exchange_ms)
    skew = simulate_latent(coin, t0, end_ms, params.quote_skew_timescale_s, params.quote_skew_scale, seed,
                           SKEW_STREAM).at(exchange_ms)
    pressure = simulate_latent(coin, t0, end_ms, params.pressure_timescale_s, 1.0, seed,
                               PRESSURE_STREAM).at(exchange_ms)

    idle = rng.random(n) < params.identical_book_prob
    idle[0] = False
    active = ~idle
    half_tick_bps = tick / 2 / first_price * 1e4
    nu, law = mid_dynamics(params, half_tick_bps)
    spreads = spread_pmf(params)
    touches = np.where(active, rng.poisson(nu * dt / (1 - params.identical_book_prob)), 0)
    drift_units = 60.0 * nu * law.mean_abs * half_tick_bps  # bps per minute at tilt 1
    drive = params.signal_bps_per_min * latent + params.pressure_bps_per_min * pressure
    drift = np.clip(params.signal_strength * drive, -drift_units, drift_units)  # bps per minute
    tilt = np.concatenate([[drift[0]], drift[:-1]]) / drift_units
    first_spread = int(rng.choice(len(spreads), p=spreads))
    change, spread = _mid_and_spread(rng, touches, tilt, first_spread, law, spreads)
    first_mid = 2 * int(round(first_price / tick))
    first_mid += (first_mid - first_spread) % 2  # the mid and the spread share their parity
    mid = first_mid + np.cumsum(change)
    bid_ticks, ask_ticks = (mid - spread) // 2, (mid + spread) // 2
    if bid_ticks.min() <= 0:
        raise ValueError(f"{coin}: the simulated bid fell to zero; raise the base price or lower the volatility")

    bid_moved = np.concatenate([[True], np.diff(bid_ticks) != 0])
    ask_moved = np.concatenate([[True], np.diff(ask_ticks) != 0])
    bid_sz, bid_n = _best_queue(rng, bid_moved, active, latent, skew, pressure, 1.0, lots_per_usd, params)
    ask_sz, ask_n = _best_queue(rng, ask_moved, active, latent, skew, pressure, -1.0, lots_per_usd, params)
    bid_churn = np.where(active, rng.poisson(params.level_churn_per_snapshot, n), 0)
    ask_churn = np.where(active, rng.poisson(params.level_churn_per_snapshot, n), 0)
    # A block that is not idle changed something: when nothing above did, one deeper level did.
    quiet = active & ~bid_moved & ~ask_moved & (bid_churn == 0) & (ask_churn == 0)
    quiet[1:] &= (bid_sz[1:] == bid_sz[:-1]) & (ask_sz[1:] == ask_sz[:-1])
    quiet[1:] &= (bid_n[1:] == bid_n[:-1]) & (ask_n[1:] == ask_n[:-1])
    bid_side = rng.random(n) < 0.5
    bid_churn += quiet & bid_side
    ask_churn += quiet & ~bid_side

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
        ask_px=ask_ticks[keep] * tick_units,
        bid_sz=bid_sz[keep],
        ask_sz=ask_sz[keep],
        bid_n=bid_n[keep],
        ask_n=ask_n[keep],
        identical=idle[keep],
        bid_churn=bid_churn[keep].astype(np.int64),
        ask_churn=ask_churn[keep].astype(np.int64),
        latent_imbalance=latent[keep],
        planted_drift=drift[keep],
        latent=latent_path,
    )
