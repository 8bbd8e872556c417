"""Every column and dtype of the clean tables, declared once; writers, checks and tests import these."""

from __future__ import annotations

import polars as pl

UTC = "UTC"

# One row per archive snapshot, in archive (receive) order. Levels are best first; list columns keep every
# level the archive had (Hyperliquid publishes up to 20 a side), so nothing is lost and a thin side is short.
L2_BOOK_SCHEMA = pl.Schema(
    {
        "received_time": pl.Datetime("ns", UTC),  # archive's outer `time`: when the snapshot was recorded
        "exchange_time": pl.Datetime("ms", UTC),  # raw.data.time: the exchange's book time
        "ver_num": pl.Int64,
        "bid_px": pl.List(pl.Float64),
        "bid_sz": pl.List(pl.Float64),
        "bid_n": pl.List(pl.Int32),  # number of orders at the level
        "ask_px": pl.List(pl.Float64),
        "ask_sz": pl.List(pl.Float64),
        "ask_n": pl.List(pl.Int32),
    }
)

# One row per Binance trade (or aggregate trade), one schema across spot / USD-M / COIN-M and trades /
# aggTrades. A field a file kind does not have is null: first/last_trade_id exist only in aggTrades,
# is_best_match only in spot files.
TRADES_SCHEMA = pl.Schema(
    {
        "time": pl.Datetime("us", UTC),
        "trade_id": pl.Int64,  # trade id, or aggregate trade id for aggTrades
        "first_trade_id": pl.Int64,  # aggTrades: the first and last plain trade aggregated
        "last_trade_id": pl.Int64,
        "price": pl.Float64,
        "qty": pl.Float64,  # base-asset quantity (COIN-M contracts converted with the contract size)
        "quote_qty": pl.Float64,  # quote-currency notional
        "is_buyer_maker": pl.Boolean,
        "side": pl.Int8,  # aggressor: +1 buyer took the ask, -1 seller hit the bid
        "is_best_match": pl.Boolean,  # spot only; null for futures
    }
)

# One row per bar of day D: the class probabilities of the model trained on the days before D (out of sample by
# construction). Written by the predictions assets, read by the backtests. prob_flat is null for a binary up/down
# target; otherwise the three sum to 1. The model version and MLflow run that made them are in the file's metadata.
PREDICTIONS_SCHEMA = pl.Schema(
    {
        "bar_time": pl.Datetime("ns", UTC),  # the bar's END time, as in the feature table
        "prob_down": pl.Float64,  # P(direction = -1)
        "prob_flat": pl.Float64,  # P(direction = 0); null for binary targets
        "prob_up": pl.Float64,  # P(direction = +1)
    }
)
