"""The real upstream samples convert exactly: counts, shapes, and every value equal to the source's."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import lz4.frame
import polars as pl
import pytest

from hyperliquid_assets.formats.binance_trades import parse_trades_csv, parse_trades_zip, verify_checksum
from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book
from hyperliquid_assets.formats.schemas import L2_BOOK_SCHEMA, TRADES_SCHEMA
from hyperliquid_assets.lake import write_parquet_atomic
from hyperliquid_assets.settings import BinanceListing
from hyperliquid_assets_tests.conftest import REAL_COINM_DAY, REAL_L2_HOUR, REAL_SPOT_FIRST5

COINM_BTC = BinanceListing("BTCUSD_PERP", "coinm", "aggTrades", contract_size=100.0)


def _iso_ns(text: str) -> str:
    """'2024-01-01T12:00:01.138942' -> the same instant with exactly 9 fraction digits."""
    whole, fraction = text.split(".")
    return f"{whole}.{fraction.ljust(9, '0')}"


def test_btc_hour_converts_to_every_snapshot_and_level_with_source_values(real_data):
    blob = (real_data / REAL_L2_HOUR).read_bytes()
    book = parse_l2_book(blob, REAL_L2_HOUR, coin="BTC")
    assert book.schema == L2_BOOK_SCHEMA
    assert book.height == 5587
    for column in ("bid_px", "bid_sz", "bid_n", "ask_px", "ask_sz", "ask_n"):
        assert book[column].list.len().unique().to_list() == [20]

    lines = lz4.frame.decompress(blob).decode().splitlines()
    received = book["received_time"].dt.to_string("%Y-%m-%dT%H:%M:%S%.9f").to_list()
    exchange_ms = book["exchange_time"].dt.epoch("ms").to_list()
    rows = book.rows(named=True)
    for i, line in enumerate(lines):
        source = json.loads(line)
        data = source["raw"]["data"]
        assert received[i] == _iso_ns(source["time"])
        assert exchange_ms[i] == data["time"]
        for side, levels in zip(("bid", "ask"), data["levels"]):
            assert rows[i][f"{side}_px"] == [float(level["px"]) for level in levels]
            assert rows[i][f"{side}_sz"] == [float(level["sz"]) for level in levels]
            assert rows[i][f"{side}_n"] == [level["n"] for level in levels]


def test_btc_hour_parquet_is_lossless_and_no_larger_than_the_lz4(real_data, tmp_path):
    blob = (real_data / REAL_L2_HOUR).read_bytes()
    book = parse_l2_book(blob, REAL_L2_HOUR, coin="BTC")
    size = write_parquet_atomic(book, tmp_path / "12.parquet", {"source": REAL_L2_HOUR})
    assert size <= len(blob), f"clean hour {size} bytes > raw lz4 {len(blob)} bytes"
    assert pl.read_parquet(tmp_path / "12.parquet").equals(book)


def test_coinm_aggtrades_day_verifies_and_converts_every_row(real_data):
    zip_path = real_data / REAL_COINM_DAY
    blob = zip_path.read_bytes()
    checksum = (real_data / (REAL_COINM_DAY + ".CHECKSUM")).read_bytes()
    assert verify_checksum(blob, checksum, str(zip_path)) == (
        "8bfbaa4cd0dfd49cc9e6cdede78e0b2851f42f1dbb7d917bc0847ce1eac4afbe"
    )
    trades = parse_trades_zip(blob, COINM_BTC, str(zip_path))
    assert trades.schema == TRADES_SCHEMA
    assert trades.height == 105_280

    with zipfile.ZipFile(zip_path) as archive:
        reader = csv.DictReader(io.TextIOWrapper(archive.open(archive.namelist()[0])))
        source = list(reader)
    assert [int(r["agg_trade_id"]) for r in source] == trades["trade_id"].to_list()
    assert [float(r["price"]) for r in source] == trades["price"].to_list()
    assert [int(r["transact_time"]) * 1000 for r in source] == trades["time"].dt.epoch("us").to_list()
    contracts = [float(r["quantity"]) for r in source]
    assert trades["quote_qty"].to_list() == [c * 100.0 for c in contracts]
    assert trades["qty"].to_list() == pytest.approx([c * 100.0 / float(r["price"]) for c, r in zip(contracts, source)])
    expected_side = [-1 if r["is_buyer_maker"] == "true" else 1 for r in source]
    assert trades["side"].to_list() == expected_side
    assert trades["is_best_match"].null_count() == trades.height


def test_spot_trades_first_rows_have_the_right_side_and_time_unit(real_data):
    data = (real_data / REAL_SPOT_FIRST5).read_bytes()
    trades = parse_trades_csv(data, BinanceListing("BTCUSDT", "spot", "trades"), REAL_SPOT_FIRST5)
    assert trades.height == 5
    # The file holds ms (before 2025-01-01); the first trade is at 2024-01-01 00:00:00.000 UTC.
    assert trades["time"].dt.epoch("us").to_list()[:2] == [1704067200000000, 1704067200001000]
    assert str(trades["time"][0]) == "2024-01-01 00:00:00+00:00"
    # is_buyer_maker True -> the seller was the aggressor.
    assert trades["is_buyer_maker"].to_list() == [True, False, True, False, False]
    assert trades["side"].to_list() == [-1, 1, -1, 1, 1]
    assert trades["quote_qty"][0] == 29.1756702
    assert trades["is_best_match"].to_list() == [True] * 5
