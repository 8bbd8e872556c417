"""Sanity on the demo market: perfect foresight earns at most the move minus costs, a random signal loses about
its costs, a model fit on earlier days beats flat with the planted signal on and not at strength 0, and no
position depends on anything after its time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from hyperliquid_assets.backtesting.backtest import BacktestConfig, BacktestInputError, run_backtest
from hyperliquid_assets.backtesting.baselines import STRATEGIES
from hyperliquid_assets.backtesting.inputs import read_backtest_inputs
from hyperliquid_assets.backtesting.positions import position_on_grid
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.features.bars import BarGrid
from hyperliquid_assets_tests.backtest_demo import (
    FIRST_DAY, book, book_features, demo_lake, fit_direction_model, labels, model_predictions, predictions_frame,
)

DAYS, NULL_DAYS = 4, 3  # the first day of each lake only trains the model
TEST_DAYS = [FIRST_DAY + timedelta(days=d) for d in range(1, DAYS)]
NULL_TEST_DAYS = TEST_DAYS[: NULL_DAYS - 1]
FEE_BPS = BacktestConfig().execution.taker_fee_bps
# Snapshots every ~3 s keep the fixture to seconds; the planted drift is doubled from the demo default (12 bp/min
# at |I| = 1) so a 5-minute trade's expected move clearly exceeds the 9 bps round-trip taker fee.
SIGNAL = DemoMarketParams(signal_strength=1.0, signal_bps_per_min=12.0, snapshot_gap_s=3.0, trades_per_hour=100)


@pytest.fixture(scope="module")
def signal_lake(tmp_path_factory):
    return demo_lake(tmp_path_factory.mktemp("signal"), DAYS, SIGNAL)


@pytest.fixture(scope="module")
def null_lake(tmp_path_factory):
    return demo_lake(tmp_path_factory.mktemp("null"), NULL_DAYS, replace(SIGNAL, signal_strength=0.0))


def _backtest(lake, day, predictions, config=BacktestConfig()):
    inputs = read_backtest_inputs(lake, "BTC", day, config)
    return run_backtest("BTC", day, predictions, inputs.book, inputs.features, inputs.labels, config)


def _walk_forward(lake, days, config=BacktestConfig()):
    """Per test day: the model fit on every earlier day, traded on that day."""
    out = {}
    for day in days:
        model = fit_direction_model(lake, [FIRST_DAY + timedelta(days=d) for d in range((day - FIRST_DAY).days)])
        out[day] = _backtest(lake, day, model_predictions(model, book_features(lake, day)), config)
    return out


def _fill_snapshots(book_frame: pl.DataFrame, orders: pl.DataFrame, latency: timedelta) -> pl.DataFrame:
    """For each filled order, found independently of the engine: the first snapshot received at or after its
    decision + latency, with that snapshot's best bid and ask."""
    tops = book_frame.select("received_time", bid=pl.col("bid_px").list.first(), ask=pl.col("ask_px").list.first())
    arrival = pl.col("decision_time") + pl.duration(microseconds=latency // timedelta(microseconds=1), time_unit="ns")
    filled = orders.filter(pl.col("status") == "filled").with_columns(arrival=arrival).sort("arrival")
    return filled.join_asof(tops, left_on="arrival", right_on="received_time", strategy="forward")


def test_perfect_foresight_earns_at_most_the_move_it_foresaw_minus_costs(signal_lake):
    """The signal is the future (label_ret_bps_5m beyond +-15 bps), held exactly the label's 5 minutes. Any fill
    pays at least half the spread at each end, so gross PnL <= the mid-to-mid move between the fill snapshots
    less those half spreads, and net = gross - the taker fees, exactly. On average a trade earns no more than the
    move it foresaw (|label|) less the round-trip fee, give or take the move of the one snapshot by which each
    fill lags the label's mid: at most the planted drift over a snapshot gap at each end."""
    day = TEST_DAYS[0]
    future = labels(signal_lake, day)
    ret = future["label_ret_bps_5m"].to_numpy()
    up = np.where(ret > 15, 1.0, np.where(ret < -15, 0.0, 0.5))
    config = BacktestConfig(rules=replace(BacktestConfig().rules, extend_on_signal=False))
    result = _backtest(signal_lake, day, predictions_frame(future["bar_time"], up), config)
    model = result.metrics["model"]
    assert model["trades"] > 50
    assert model["net_pnl"] > 0 and all(model["net_pnl"] > result.metrics[s]["net_pnl"] for s in STRATEGIES if s != "model")

    orders = result.orders.filter(pl.col("strategy") == "model")
    snaps = _fill_snapshots(book(signal_lake, day), orders, timedelta(milliseconds=200))
    assert (snaps["received_time"] == snaps["fill_time"]).all()  # the engine used the same snapshots
    half_spread = (snaps["ask"] - snaps["bid"]) / 2
    mid = (snaps["ask"] + snaps["bid"]) / 2
    # Every fill is at or beyond the touch: no buy below the ask, no sell above the bid.
    assert (snaps["side"].cast(pl.Float64) * (snaps["price"] - mid) >= half_spread - 1e-9).all()
    legs = snaps.with_columns(mid=mid, half=half_spread).sort("lot", "kind")  # entry before exit per lot
    per_lot = legs.group_by("lot").agg(
        side=pl.col("side").first(), qty=pl.col("qty").first(),
        move=(pl.col("mid").last() - pl.col("mid").first()), halves=pl.col("half").sum(), fees=pl.col("fee").sum(),
        entry_mid=pl.col("mid").first(), entry_time=pl.col("decision_time").first(),
    )
    bound = (per_lot["side"].cast(pl.Float64) * per_lot["qty"] * per_lot["move"] - per_lot["qty"] * per_lot["halves"]).sum()
    fees = float((snaps["qty"] * snaps["price"] * FEE_BPS / 1e4).sum())
    assert model["fees"] == pytest.approx(fees, rel=1e-12)
    assert model["net_pnl"] == pytest.approx(model["gross_pnl"] - fees, rel=1e-12)
    assert model["gross_pnl"] <= bound + 1e-6
    assert model["net_pnl"] <= bound - fees + 1e-6

    foreseen = per_lot.join(future.select(entry_time="bar_time", label="label_ret_bps_5m"), on="entry_time")
    trips = result.trades.filter((pl.col("strategy") == "model") & ~pl.col("open_at_end"))
    assert foreseen.height == trips.height
    one_snapshot_drift = 2 * SIGNAL.signal_strength * SIGNAL.signal_bps_per_min / 60 * SIGNAL.snapshot_gap_s
    assert trips["net_bps"].mean() <= foreseen["label"].abs().mean() - 2 * FEE_BPS + one_snapshot_drift


def test_a_random_signal_loses_about_its_costs(null_lake):
    """Random probabilities on a driftless market: the mid-to-mid PnL is noise around 0, so net PnL is minus the
    fees and the half spreads paid, within four standard errors of that noise (estimated from the trades)."""
    rng = np.random.default_rng(4)
    net, costs, variance = 0.0, 0.0, 0.0
    for day in NULL_TEST_DAYS:
        bars = book_features(null_lake, day)["bar_time"]
        result = _backtest(null_lake, day, predictions_frame(bars, rng.uniform(0, 1, len(bars))))
        model = result.metrics["model"]
        orders = result.orders.filter((pl.col("strategy") == "model") & (pl.col("status") == "filled"))
        slippage = float((orders["qty"] * (orders["price"] - orders["mid"]).abs()).sum())
        trips = result.trades.filter(pl.col("strategy") == "model")
        assert model["trades"] > 50
        net += model["net_pnl"]
        costs += model["fees"] + slippage
        mid_pnl = trips["net_pnl"] + trips["fees"]  # per trade, before fees (still after the spread)
        variance += float(mid_pnl.var()) * trips.height
    assert net < 0
    assert abs(net + costs) <= 4 * np.sqrt(variance), (net, costs, np.sqrt(variance))
    assert 0.5 < -net / costs < 1.5


def test_a_model_fit_on_earlier_days_beats_flat_with_the_signal_on_and_not_at_strength_zero(signal_lake, null_lake):
    """An honest stand-in for the project's models: a logistic regression fit in the test on the days before D
    (features known at each bar, 5-minute direction labels), traded on D net of costs."""
    planted = _walk_forward(signal_lake, TEST_DAYS)
    absent = _walk_forward(null_lake, NULL_TEST_DAYS)
    beats = [r.metrics["model"]["net_pnl"] > 0 for r in planted.values()]
    assert sum(beats) > len(beats) / 2, {d: r.metrics["model"]["net_pnl"] for d, r in planted.items()}
    assert all(r.signal["ic_spearman_sampled"] > 0.1 for r in planted.values())
    no_signal = [r.metrics["model"]["net_pnl"] > 0 for r in absent.values()]
    assert sum(no_signal) <= len(no_signal) / 2, {d: r.metrics["model"]["net_pnl"] for d, r in absent.items()}
    assert all(abs(r.signal["ic_spearman_sampled"]) < 0.15 for r in absent.values())
    # With the signal on, the model also beats random entries at its own turnover on every day.
    assert all(r.metrics["model"]["net_pnl"] > r.metrics["random"]["net_pnl"] for r in planted.values())


def test_positions_at_t_do_not_change_when_everything_after_t_is_removed(signal_lake):
    day = TEST_DAYS[0]
    model = fit_direction_model(signal_lake, [FIRST_DAY])
    features = book_features(signal_lake, day)
    predictions = model_predictions(model, features)
    inputs = read_backtest_inputs(signal_lake, "BTC", day)
    feature = inputs.features
    full = run_backtest("BTC", day, predictions, inputs.book, feature, inputs.labels)
    grid = BarGrid.for_day(day, "1s")
    bar_ns = int(grid.start.timestamp()) * 10**9 + grid.every_ns * np.arange(1, grid.bars + 1)
    cut_at = [grid.start + timedelta(hours=3), grid.start + timedelta(hours=11, minutes=30, seconds=17),
              grid.start + timedelta(hours=20)]
    assert full.metrics["model"]["trades"] > 20
    for cut in cut_at:
        t = pl.lit(cut).cast(pl.Datetime("ns", "UTC"))
        truncated = run_backtest(
            "BTC", day, predictions.filter(pl.col("bar_time") <= t), inputs.book.filter(pl.col("received_time") < t),
            feature.filter(pl.col("bar_time") <= t), inputs.labels.filter(pl.col("bar_time") <= t))
        upto = bar_ns <= int(cut.timestamp()) * 10**9
        for strategy in ("model", "feature_rule", "buy_and_hold"):
            pick = lambda r: r.orders.filter(pl.col("strategy") == strategy)  # noqa: E731
            a, b = position_on_grid(pick(full), bar_ns)[upto], position_on_grid(pick(truncated), bar_ns)[upto]
            assert np.array_equal(a, b), (strategy, cut)
            before = lambda r: pick(r).filter(pl.col("fill_time") < t)  # noqa: E731
            assert before(full).equals(before(truncated)), (strategy, cut)
            # Orders decided over 6 s before t had their outcome (latency 0.2 s + book age 5 s) known before t.
            decided = lambda r: pick(r).filter(pl.col("decision_time") < t - pl.duration(seconds=6))  # noqa: E731
            assert decided(full).equals(decided(truncated)), (strategy, cut)
        assert np.abs(position_on_grid(full.orders.filter(pl.col("strategy") == "model"), bar_ns)[upto]).max() > 0


def test_missing_inputs_fail_with_the_partition_named(signal_lake, tmp_path):
    from hyperliquid_assets.lake import Lake

    with pytest.raises(BacktestInputError, match="BTC 2026-01-02: no clean L2 hour"):
        read_backtest_inputs(Lake(tmp_path), "BTC", TEST_DAYS[0])
    day = TEST_DAYS[0]
    inputs = read_backtest_inputs(signal_lake, "BTC", day)
    bars = book_features(signal_lake, day)["bar_time"]
    good = predictions_frame(bars, np.full(len(bars), 0.5))
    feature = inputs.features
    with pytest.raises(BacktestInputError, match="predictions of BTC 2026-01-02.*prob_up"):
        run_backtest("BTC", day, good.drop("prob_up"), inputs.book, feature, inputs.labels)
    shifted = good.with_columns(pl.col("bar_time") + pl.duration(milliseconds=500, time_unit="ns"))
    with pytest.raises(BacktestInputError, match="not a 1s bar end of the day"):
        run_backtest("BTC", day, shifted, inputs.book, feature, inputs.labels)
    with pytest.raises(BacktestInputError, match="bar_time repeats"):
        run_backtest("BTC", day, pl.concat([good, good.head(3)]), inputs.book, feature, inputs.labels)
    with pytest.raises(BacktestInputError, match="features of BTC 2026-01-02.*book_imbalance_1"):
        run_backtest("BTC", day, good, inputs.book, feature.drop("book_imbalance_1"), inputs.labels)
    with pytest.raises(BacktestInputError, match="no snapshots"):
        run_backtest("BTC", day, good, inputs.book.head(0), feature, inputs.labels)


def test_partition_entry_points_write_the_report_and_tables_and_summarize_the_days(signal_lake, tmp_path):
    from hyperliquid_assets.backtesting.partition import backtest_partition, summary_partition
    from hyperliquid_assets_tests.backtest_synthetic import IMPORTANCE, PROVENANCE

    outcomes = []
    for day in TEST_DAYS:
        model = fit_direction_model(signal_lake, [FIRST_DAY + timedelta(days=d) for d in range((day - FIRST_DAY).days)])
        predictions = model_predictions(model, book_features(signal_lake, day))
        outcomes.append(backtest_partition(signal_lake, "BTC", day, predictions, tmp_path / f"{day}", PROVENANCE, IMPORTANCE))
    first = outcomes[0]
    assert first.report.html.exists() and len(first.report.pngs) == 5 and first.missing_hours == []
    assert all(np.isfinite(v) for v in first.metrics.values()) and "model.net_pnl" in first.metrics
    assert len(first.inputs) == 26  # 24 book hours, the features and the labels
    daily = pl.read_parquet(first.tables["daily"])
    assert daily["strategy"].to_list() == list(STRATEGIES)
    assert daily.filter(pl.col("strategy") == "model")["net_pnl"].item() == first.metrics["model.net_pnl"]
    trades = pl.read_parquet(first.tables["trades"])
    assert trades.filter(pl.col("strategy") == "model")["net_pnl"].sum() == pytest.approx(first.metrics["model.net_pnl"], abs=1e-6)
    stamp = pl.read_parquet_metadata(first.tables["orders"])
    assert "5f1d2c3b-run-of-the-test" in stamp["hyperliquid_assets.backtest.provenance"]

    summary = summary_partition([o.tables["daily"] for o in outcomes], tmp_path / "summary", {"dagster_run_id": "s"})
    model = summary.table.filter(pl.col("strategy") == "model").row(0, named=True)
    assert model["days"] == len(TEST_DAYS)
    assert model["total_net_pnl"] == pytest.approx(sum(o.metrics["model.net_pnl"] for o in outcomes))
    assert summary.report.html.exists() and summary.report.pngs["daily_cumulative"].exists()
