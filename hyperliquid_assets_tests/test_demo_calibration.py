"""The demo market against the real samples in ../shared/data/real: every calibration statistic of a generated
day and of one generated hour lies within its stated tolerance of the real value, computed by the same module
(`hyperliquid_assets.demo.calibration`) that `hl-assets demo --compare` prints; and the statistics themselves."""

from __future__ import annotations

import contextlib
import io
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest

from hyperliquid_assets.cli import main as cli_main
from hyperliquid_assets.demo import calibration
from hyperliquid_assets.demo.archive import iter_l2_hours
from hyperliquid_assets.demo.market import DemoMarketParams, simulate_book
from hyperliquid_assets.demo.trades import simulate_trades
from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_json_lines
from hyperliquid_assets.settings import DEFAULT_LISTINGS, BinanceListing
from hyperliquid_assets_tests.conftest import REAL_COINM_DAY, REAL_L2_HOUR

DAY = date(2026, 1, 1)
HOUR = datetime(2026, 1, 1, 13, tzinfo=timezone.utc)
COINM = BinanceListing("BTCUSD_PERP", "coinm", "aggTrades", contract_size=100)
IDS = [s.name for s in calibration.STATISTICS]


@pytest.fixture(scope="module")
def real(real_data):
    return {**calibration.book_statistics(calibration.real_book(real_data / REAL_L2_HOUR)),
            **calibration.trade_statistics(calibration.real_trades(real_data / REAL_COINM_DAY, COINM))}


@pytest.fixture(scope="module")
def compared(real_data, tmp_path_factory):
    """`hl-assets demo --days 1 --coins BTC --compare REAL.lz4 REAL.zip` on a fresh lake: its exit code, its
    output, and the archive it wrote (the default demo market, default seed)."""
    root = tmp_path_factory.mktemp("lake")
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(output):
        env.setenv("HL_LAKE_ROOT", str(root))
        code = cli_main(["demo", "--start", DAY.isoformat(), "--days", "1", "--coins", "BTC", "--compare",
                         str(real_data / REAL_L2_HOUR), str(real_data / REAL_COINM_DAY)])
    return code, output.getvalue(), root / "mirror"


@pytest.fixture(scope="module")
def demo_day(compared):
    _, _, mirror = compared
    book = calibration.archive_book(mirror, "BTC", DAY)
    trades = calibration.archive_trades(mirror, DEFAULT_LISTINGS["BTC"], DAY)
    return book, trades


@pytest.mark.parametrize("name", IDS)
def test_a_generated_day_is_within_tolerance(real, demo_day, name):
    book, trades = demo_day
    statistic = calibration.STATISTICS_BY_NAME[name]
    demo = statistic.compute(calibration.BookSample.of(book) if statistic.table == "book"
                             else calibration.TradeSample.of(trades))
    low, high = statistic.tolerance.bounds(real[name])
    assert statistic.tolerance.holds(real[name], demo), f"{name}: demo {demo:.4g} not in [{low:.4g}, {high:.4g}]"


@pytest.mark.parametrize("name", IDS)
def test_a_generated_hour_is_within_tolerance(real, demo_day, name):
    """One hour (13:00) of the same archive; trade statistics on that hour's trades."""
    book, trades = demo_day
    end = HOUR + timedelta(hours=1)
    statistic = calibration.STATISTICS_BY_NAME[name]
    if statistic.table == "book":
        sample = calibration.BookSample.of(book.filter(pl.col("received_time").is_between(HOUR, end, closed="left")))
    else:
        sample = calibration.TradeSample.of(trades.filter(pl.col("time").is_between(HOUR, end, closed="left")))
    demo = statistic.compute(sample)
    low, high = statistic.tolerance.bounds(real[name])
    assert statistic.tolerance.holds(real[name], demo), f"{name}: demo {demo:.4g} not in [{low:.4g}, {high:.4g}]"


def test_compare_prints_the_side_by_side_table(compared, real, demo_day):
    code, output, _ = compared
    lines = output.splitlines()
    header = lines.index("| statistic | real | demo | tolerance | ok |")
    rows = [line.split(" | ") for line in lines[header + 2 : header + 2 + len(calibration.STATISTICS)]]
    assert [row[0].lstrip("| ") for row in rows] == [s.label for s in calibration.STATISTICS]
    assert all(row[-1] == "ok |" for row in rows), output
    assert code == 0 and f"{len(rows)} of {len(rows)} statistics within tolerance" in output
    # The printed real value is the one computed here from the file.
    snapshots = rows[IDS.index("snapshots_per_hour")]
    assert snapshots[1] == f"{real['snapshots_per_hour']:,.0f}" == "5,587"


def test_compare_refuses_a_coin_the_demo_does_not_have(real_data, tmp_path, monkeypatch):
    monkeypatch.setenv("HL_LAKE_ROOT", str(tmp_path))
    with pytest.raises(SystemExit, match="BTC book, but the demo coins are ETH"):
        cli_main(["demo", "--days", "1", "--coins", "ETH", "--compare", str(real_data / REAL_L2_HOUR)])


def test_the_statistics_tell_a_differently_made_market_apart(real):
    """The tolerances are not a rubber stamp: an hour of a market like the previous demo (2 s snapshots, thin
    ladder, Poisson trades of one level each) fails many of them."""
    old = replace(DemoMarketParams(), snapshot_gap_s=2.0, gap_shape=4.0, level_gap_bps=0.15, level_gap_growth=0.1,
                  orders_per_cluster=1.0, trade_burst_sd=0.01, levels_per_order_tail=50.0, flow_tilt=0.0,
                  same_side_in_cluster=0.5, trade_notional_usd=1_000.0, trade_notional_sigma=1.6,
                  volatility_bps_per_hour=40.0, best_queue_weights=(0.0, 0.0, 1.0, 0.0), quote_skew=0.0,
                  book_tilt=0.0, pressure_tilt=0.0)
    start = datetime(2026, 1, 1, 13)
    book = simulate_book("BTC", start, start + timedelta(hours=1), old, 3)
    (_, lines), = iter_l2_hours(book, old, 3)
    trades = simulate_trades(book, COINM, old, 3)
    demo = calibration.book_statistics(parse_l2_json_lines(lines, "old", "BTC"))
    frame = pl.DataFrame({"time": (trades.time_us).astype("datetime64[us]"), "side": 1 - 2 * trades.is_buyer_maker,
                          "price": trades.price / 10**trades.price_decimals, "quote_qty": trades.qty * 100.0})
    demo.update(calibration.trade_statistics(frame.with_columns(pl.col("time").dt.replace_time_zone("UTC"))))
    failed = {row.statistic.name for row in calibration.compare(real, demo) if not row.ok}
    assert {"snapshots_per_hour", "level20_distance_bps", "bars_extreme_imbalance", "trades_dispersion",
            "gaps_under_1ms", "same_side", "hourly_volatility_1s"} <= failed, failed


# ---------------------------------------------------------------------------------------------------------------
# The statistics on tables small enough to check by hand


def _book(rows: list[tuple[str, list[float], list[float], list[float], list[float]]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "received_time": [datetime.fromisoformat(r[0]).replace(tzinfo=timezone.utc) for r in rows],
            "exchange_time": [datetime.fromisoformat(r[0]).replace(tzinfo=timezone.utc) for r in rows],
            "bid_px": [r[1] for r in rows], "bid_sz": [r[2] for r in rows], "bid_n": [[1] * len(r[1]) for r in rows],
            "ask_px": [r[3] for r in rows], "ask_sz": [r[4] for r in rows], "ask_n": [[2] * len(r[3]) for r in rows],
        },
        schema_overrides={"received_time": pl.Datetime("ns", "UTC"), "exchange_time": pl.Datetime("ms", "UTC"),
                          "bid_n": pl.List(pl.Int32), "ask_n": pl.List(pl.Int32)},
    )


def test_book_statistics_by_hand():
    book = _book([
        ("2026-01-01T00:00:00.5", [42_000.0], [1.0], [42_001.0], [0.01]),
        ("2026-01-01T00:00:01.0", [42_000.0], [1.0], [42_001.0], [0.01]),  # identical
        ("2026-01-01T00:00:03.5", [41_999.0], [0.5], [42_003.0], [0.5]),  # mid moves, spread 4 ticks
    ])
    s = calibration.BookSample.of(book)
    assert s.tick == 1.0
    assert calibration.identical_books(s) == 0.5
    assert calibration.mid_moves(s) == 0.5
    assert calibration.spread_one_tick(s) == pytest.approx(2 / 3) and calibration.spread_max_ticks(s) == 4
    assert calibration.gap_mean_s(s) == pytest.approx(1.5)
    assert calibration.bars_without_snapshot(s) == pytest.approx(1 - 3 / 3600)  # seconds 0, 1 and 3 of the hour
    # Bars end at 1 s, 2 s, ...: the first holds the 0.5 s book (imbalance 0.98), the one ending at 4 s the last.
    assert s.bar_book[:4].tolist() == [0, 1, 1, 2]  # a snapshot received at the bar's end is the next bar's
    assert calibration.bars_extreme_imbalance(s) == pytest.approx(3 / 3600)
    assert calibration.orders_single(s) == 0.5 and calibration.orders_max(s) == 2


def test_trades_are_aggregated_like_agg_trades_before_counting():
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    us = lambda n: t0 + timedelta(microseconds=n)  # noqa: E731
    trades = pl.DataFrame({
        "time": [us(0), us(0), us(0), us(500), us(2_000_000), us(2_000_000)],
        "side": [1, 1, 1, 1, -1, 1],
        "price": [100.0, 100.0, 100.5, 100.5, 99.0, 99.0],
        "quote_qty": [10.0, 20.0, 5.0, 1.0, 7.0, 3.0],
    }, schema_overrides={"side": pl.Int8})
    t = calibration.TradeSample.of(trades)
    assert t.notional.tolist() == [30.0, 5.0, 1.0, 7.0, 3.0]  # the first two fills are one aggregate trade
    assert calibration.gaps_under_1ms(t) == pytest.approx(3 / 4)
    assert calibration.same_side(t) == pytest.approx(2 / 4)
    assert calibration.distinct_prices_per_second(t) == pytest.approx((2 + 1) / 2)
    counts = [3] + [0] + [2] + [0] * 3597
    mean = sum(counts) / 3600
    assert calibration.trades_dispersion(t) == pytest.approx(sum((c - mean) ** 2 for c in counts) / 3600 / mean)


def test_tolerances():
    assert calibration.Tolerance("abs", 0.05, "").holds(0.30, 0.34) and not calibration.Tolerance(
        "abs", 0.05, "").holds(0.30, 0.36)
    assert calibration.Tolerance("rel", 0.2, "").bounds(10.0) == (8.0, 12.0)
    assert calibration.Tolerance("ratio", 2.0, "").bounds(4.0) == (2.0, 8.0)
    assert not calibration.Tolerance("ratio", 2.0, "").holds(4.0, float("nan"))
    with pytest.raises(ValueError):
        calibration.Tolerance("ratio", 0.5, "")
