"""Binance trades of the demo market: clustered taker orders that sweep levels, quoted off the Hyperliquid book
the recorder had received (the model and its knobs are documented in market.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from hyperliquid_assets.demo.market import (
    TRADE_STREAM,
    BookPath,
    DemoMarketParams,
    LatentPath,
    ar1,
    coin_rng,
    decimals_of,
    epoch_ms,
    pareto_pmf,
)
from hyperliquid_assets.settings import BinanceListing


@dataclass(frozen=True)
class TradePath:
    """Binance (aggregate) trades of one listing in [start, end), in time order.

    Prices are integers in units of 10**-price_decimals; quantities are integers in units of
    10**-qty_decimals (whole contracts, qty_decimals = 0, for COIN-M). For plain trades trade_id =
    first_trade_id = last_trade_id (one row per fill); for aggTrades trade_id is the aggregate id.
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


def _taker_orders(rng: np.random.Generator, start_us: int, end_us: int, orders_per_s: float, latent: LatentPath,
                  params: DemoMarketParams) -> tuple[np.ndarray, np.ndarray]:
    """Times (us, sorted) and sides (+1 buy / -1 sell) of the taker orders in [start_us, end_us)."""
    seconds = int(-(-(end_us - start_us) // 1_000_000))
    decay = math.exp(-1.0 / params.trade_burst_timescale_s)
    sd = params.trade_burst_sd
    log_intensity = ar1(decay, sd * math.sqrt(1 - decay**2) * rng.standard_normal(seconds), sd * rng.standard_normal())
    cluster_rate = orders_per_s / params.orders_per_cluster * np.exp(log_intensity - sd**2 / 2)
    per_second = rng.poisson(cluster_rate)
    starts = (start_us + np.repeat(np.arange(seconds, dtype=np.int64), per_second) * 1_000_000
              + rng.integers(0, 1_000_000, int(per_second.sum())))
    clusters = len(starts)
    size = rng.geometric(1.0 / max(params.orders_per_cluster, 1.0), clusters)  # >= 1, mean orders_per_cluster
    owner = np.repeat(np.arange(clusters), size)
    first = np.concatenate([[0], np.cumsum(size)[:-1]])
    position = np.arange(len(owner)) - first[owner]
    gaps = np.where(position > 0, rng.lognormal(math.log(params.cluster_gap_ms * 1000), params.cluster_gap_sigma,
                                                len(owner)), 0.0)
    walked = np.cumsum(gaps)
    offset = walked - walked[first[owner]]
    times = starts[owner] + np.rint(np.minimum(offset, 3.6e9)).astype(np.int64)
    buy = rng.random(clusters) < (1.0 + params.flow_tilt * latent.at(starts // 1000)) / 2.0
    keep_side = rng.random(len(owner)) < params.same_side_in_cluster
    side = np.where(buy[owner] == keep_side, 1, -1).astype(np.int8)
    inside = (times >= start_us) & (times < end_us)
    times, side = times[inside], side[inside]
    order = np.argsort(times, kind="stable")
    return times[order], side[order]


def simulate_trades(
    book: BookPath,
    listing: BinanceListing,
    params: DemoMarketParams = DemoMarketParams(),
    seed: int = 7,
    n_trades: int | None = None,
) -> TradePath:
    """Binance trades over the book's window, quoted off the Hyperliquid book (see the module docstring).

    n_trades fixes the number of rows (a uniform thinning of a larger draw); by default the count follows
    trades_per_hour (aggregate trades; plain-trades files have fills_per_agg_trade times as many rows).
    """
    if len(book) == 0:
        raise ValueError(f"book of {book.coin} has no snapshots")
    rng = coin_rng(seed, book.coin, TRADE_STREAM)
    start_us, end_us = epoch_ms(book.start) * 1000, epoch_ms(book.end) * 1000
    hours = (end_us - start_us) / 3.6e9
    level_pmf = pareto_pmf(params.levels_per_order_tail, params.levels_per_order_scale, params.max_levels_per_order)
    levels_mean = float(np.arange(1, len(level_pmf) + 1) @ level_pmf)
    fills_mean = max(params.fills_per_agg_trade, 1.0) if listing.kind == "trades" else 1.0
    aggregates = params.trade_rate(book.coin) * hours
    if n_trades is not None:  # draw ~15% more rows than asked, then thin to exactly n_trades
        aggregates = 1.15 * n_trades / fills_mean + 10
    while True:
        orders_per_s = aggregates / levels_mean / (hours * 3600)
        trades = _draw_trades(rng, book, listing, params, start_us, end_us, orders_per_s, level_pmf)
        if n_trades is None or len(trades["time"]) >= n_trades:
            break
        aggregates *= 1.5
    if n_trades is not None:
        chosen = np.sort(rng.choice(len(trades["time"]), size=int(n_trades), replace=False))
        trades = {name: values[chosen] if isinstance(values, np.ndarray) else values
                  for name, values in trades.items()}
    n = len(trades["time"])
    ids_from = int(rng.integers(10**8, 10**9))
    if listing.kind == "aggTrades":
        last = ids_from * 3 + np.cumsum(trades["fills"])
        first = last - trades["fills"] + 1
        trade_id = ids_from + np.arange(n, dtype=np.int64)
    else:
        trade_id = ids_from + np.arange(n, dtype=np.int64)
        first = last = trade_id
    return TradePath(
        listing=listing,
        start=book.start,
        end=book.end,
        price_decimals=trades["price_decimals"],
        tick_units=trades["tick_units"],
        qty_decimals=trades["qty_decimals"],
        time_us=trades["time"],
        trade_id=trade_id,
        first_trade_id=first,
        last_trade_id=last,
        price=trades["price"],
        qty=trades["qty"],
        is_buyer_maker=trades["side"] < 0,
        bid=trades["bid"],
        ask=trades["ask"],
    )


def _draw_trades(rng: np.random.Generator, book: BookPath, listing: BinanceListing, params: DemoMarketParams,
                 start_us: int, end_us: int, orders_per_s: float, level_pmf: np.ndarray) -> dict:
    """Rows of trades (aggregate trades, or their fills for plain-trades files) as arrays."""
    order_time, order_side = _taker_orders(rng, start_us, end_us, orders_per_s, book.latent, params)
    first_mid = float(book.mid[0])
    tick, lot = binance_steps(listing, first_mid)
    price_decimals, tick_units = decimals_of(tick)
    qty_decimals, lot_units = decimals_of(lot)
    scale = 10**price_decimals

    levels = 1 + rng.choice(len(level_pmf), size=len(order_time), p=level_pmf)
    owner = np.repeat(np.arange(len(order_time)), levels)
    time_us = order_time[owner]
    side = order_side[owner]
    first = np.concatenate([[0], np.cumsum(levels)[:-1]])
    depth = np.arange(len(owner)) - first[owner]

    # The quote: the Hyperliquid mid the recorder had received by t + lead (the first snapshot before any).
    lead_ns = int(round(params.cross_venue_lead_s * 1e9))
    at = np.clip(np.searchsorted(book.received_ns, time_us * 1000 + lead_ns, side="right") - 1, 0, None)
    reference = book.mid[at] * (1.0 + params.binance_basis_bps / 1e4)
    bid = np.floor(reference * scale / tick_units).astype(np.int64) * tick_units
    ask = bid + tick_units
    step_ticks = max(params.sweep_step_bps * 1e-4 * first_mid / tick, 1.0)
    steps = np.where(depth > 0, 1 + np.floor(rng.exponential(step_ticks - 1.0, len(owner))
                                              if step_ticks > 1 else np.zeros(len(owner))), 0).astype(np.int64)
    walked = np.cumsum(steps)
    away = (walked - walked[first[owner]]) * tick_units
    price = np.where(side > 0, ask + away, np.maximum(bid - away, tick_units))

    notional = np.minimum(params.trade_notional_usd * rng.lognormal(0.0, params.trade_notional_sigma, len(owner)),
                          params.max_trade_notional_usd)
    if listing.market == "coinm":
        qty = np.maximum(np.rint(notional / listing.contract_size), 1).astype(np.int64)
        units = qty
    else:
        per_unit = lot_units / 10**qty_decimals
        units = np.maximum(np.rint(notional / (price / scale) / per_unit), 1).astype(np.int64)
        qty = units * lot_units
    fills = np.ones(len(owner), dtype=np.int64)
    if params.fills_per_agg_trade > 1:
        fills = np.minimum(1 + rng.poisson(params.fills_per_agg_trade - 1.0, len(owner)), units)
    rows = {"time": time_us, "side": side, "price": price, "qty": qty, "bid": bid, "ask": ask, "fills": fills}
    if listing.kind == "trades" and params.fills_per_agg_trade > 1:
        rows = _split_fills(rng, rows, units, lot_units)
    rows.update(price_decimals=price_decimals, tick_units=tick_units, qty_decimals=qty_decimals)
    return rows


def _split_fills(rng: np.random.Generator, rows: dict, units: np.ndarray, lot_units: int) -> dict:
    """Each aggregate trade as `fills` rows at its time, side and price; its lots split at random (>= 1 each)."""
    fills = rows["fills"]
    owner = np.repeat(np.arange(len(fills)), fills)
    weight = rng.exponential(1.0, len(owner))
    total = np.bincount(owner, weights=weight, minlength=len(fills))
    spare = units - fills  # lots beyond one per fill, shared in proportion to the weights
    share = np.floor(spare[owner] * weight / total[owner]).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(fills)[:-1]])
    short = spare - np.bincount(owner, weights=share, minlength=len(fills)).astype(np.int64)
    share[first] += short  # rounding remainder to each aggregate's first fill
    out = {name: values[owner] for name, values in rows.items() if name != "fills"}
    out["qty"] = (1 + share) * lot_units
    out["fills"] = np.ones(len(owner), dtype=np.int64)
    return out
