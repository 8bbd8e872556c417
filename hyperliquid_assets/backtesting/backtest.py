"""One coin-day backtest: the model's predictions and the baselines traded against day D's book, with metrics.

    result = run_backtest(coin, day, predictions, book, features, labels, BacktestConfig())

`predictions` (PREDICTIONS_SCHEMA) are the out-of-sample class probabilities on D's bars; `book` the clean L2
book of D (L2_BOOK_SCHEMA, or a BookDay); `features` needs bar_time and the one-feature baseline's column;
`labels` bar_time and the target's label_ret_bps_<h> and label_dir_<h> (they only score the prediction: IC and
calibration; trading never reads them). Nothing here reads files or knows about Dagster or MLflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import numpy as np
import polars as pl

from hyperliquid_assets.backtesting.baselines import (
    BUY_AND_HOLD, FEATURE_RULE, FLAT, MODEL, RANDOM, STRATEGIES, BaselineConfig, buy_and_hold, feature_rule,
    flat_signal, random_entries,
)
from hyperliquid_assets.backtesting.book import BookDay
from hyperliquid_assets.backtesting.execution import ExecutionConfig, impact_curve, span_ns
from hyperliquid_assets.backtesting.metrics import (
    calibration_table, equity_curves, information_coefficient, mark_mids, round_trips, strategy_metrics,
)
from hyperliquid_assets.backtesting.positions import PositionRules, probability_signal, simulate_rules
from hyperliquid_assets.features.bars import BAR_TIME, BarGrid, duration_label
from hyperliquid_assets.formats.schemas import PREDICTIONS_SCHEMA


class BacktestInputError(ValueError):
    """An input of a coin-day backtest is unusable; the message names the partition, the input and the problem."""


@dataclass(frozen=True)
class BacktestConfig:
    """Everything a backtest's numbers depend on besides its inputs (all of it is stated in the report)."""

    rules: PositionRules = PositionRules()
    execution: ExecutionConfig = ExecutionConfig()
    baselines: BaselineConfig = BaselineConfig()
    bar: str = "1s"
    label_horizon: str = "5m"  # the target's horizon: IC vs label_ret_bps_<h>, calibration vs label_dir_<h>
    equity_every: str = "10s"  # spacing of the equity curves kept in the result (8,640 points a day at 10 s)
    impact_multiples: tuple[float, ...] = (0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)  # x order_notional
    impact_snapshots: int = 500  # snapshots, evenly spread over the day, the impact curve is measured on

    def describe(self) -> dict[str, str | float | int | bool | None]:
        """Flat name -> value of every knob, for the report and for logging as parameters."""
        out: dict[str, str | float | int | bool | None] = {}
        for prefix, part in (("rules", self.rules), ("execution", self.execution), ("baselines", self.baselines)):
            out.update({f"{prefix}.{k}": v for k, v in vars(part).items()})
        out.update(bar=self.bar, label_horizon=self.label_horizon)
        return out


@dataclass(frozen=True)
class BacktestResult:
    coin: str
    day: date
    config: BacktestConfig
    orders: pl.DataFrame  # ORDER_SCHEMA plus `strategy`: every order sent, filled or refused
    trades: pl.DataFrame  # round trips (metrics.round_trips) plus `strategy`
    equity: pl.DataFrame  # bar_time every equity_every; net_<strategy>, gross_model, position_model
    metrics: dict[str, dict[str, float]]  # strategy -> metric -> value
    signal: dict[str, float]  # information coefficient, coverage of the predictions
    calibration: pl.DataFrame  # class, predicted, realized, bars
    impact: pl.DataFrame  # notional, median_bps, p90_bps, beyond_book_share
    facts: dict[str, float | int | str] = field(default_factory=dict)

    def headline_metrics(self, finite_only: bool = False) -> dict[str, float]:
        """Flat '<strategy>.<metric>' and 'signal.<name>' -> float, for Dagster metadata and MLflow metrics. Some
        are NaN where undefined (the Sharpe of flat, the hit rate without trades); `finite_only` leaves those out."""
        out = {f"{s}.{k}": v for s, metrics in self.metrics.items() for k, v in metrics.items()}
        out.update({f"signal.{k}": v for k, v in self.signal.items()})
        out["model.excess_net_pnl_vs_random"] = self.metrics[MODEL]["net_pnl"] - self.metrics[RANDOM]["net_pnl"]
        return {k: v for k, v in out.items() if math.isfinite(v)} if finite_only else out

    def daily_rows(self) -> pl.DataFrame:
        """One row per strategy of this day's metrics (coin, date, strategy, ...): the walk-forward summary's input."""
        rows = [{"coin": self.coin, "date": self.day, "strategy": s, **m} for s, m in self.metrics.items()]
        return pl.DataFrame(rows).with_columns(pl.col("date").cast(pl.Date))


def run_backtest(
    coin: str,
    day: date,
    predictions: pl.DataFrame,
    book: pl.DataFrame | BookDay,
    features: pl.DataFrame,
    labels: pl.DataFrame,
    config: BacktestConfig = BacktestConfig(),
) -> BacktestResult:
    """Trade the model and every baseline on coin-day (coin, day); see the module docstring."""
    partition = f"{coin} {day:%Y-%m-%d}"
    grid = BarGrid.for_day(day, config.bar)
    step, start_ns = grid.every_ns, _epoch_ns(grid.start)
    bar_ns = start_ns + step * np.arange(1, grid.bars + 1, dtype=np.int64)
    book_day = book if isinstance(book, BookDay) else BookDay.from_frame(book, f"book of {partition}")
    if len(book_day) == 0:
        raise BacktestInputError(f"{partition}: the L2 book has no snapshots; nothing can be traded")
    horizon = duration_label(config.label_horizon)
    probs = _on_grid(predictions, grid, bar_ns, ["prob_down", "prob_flat", "prob_up"], f"predictions of {partition}",
                     PREDICTIONS_SCHEMA)
    feature = _on_grid(features, grid, bar_ns, [config.baselines.feature], f"features of {partition}")
    label = _on_grid(labels, grid, bar_ns, [f"label_ret_bps_{horizon}", f"label_dir_{horizon}"], f"labels of {partition}")

    rules, execution = config.rules, config.execution
    mids = mark_mids(book_day, bar_ns)
    model_signal = probability_signal(probs["prob_up"], probs["prob_down"], rules.threshold)
    orders = {MODEL: simulate_rules(bar_ns, model_signal, book_day, rules, execution)}
    orders[FLAT] = simulate_rules(bar_ns, flat_signal(len(bar_ns)), book_day, rules, execution)
    hold_signal, hold_rules = buy_and_hold(len(bar_ns), rules)
    orders[BUY_AND_HOLD] = simulate_rules(bar_ns, hold_signal, book_day, hold_rules, execution)
    orders[FEATURE_RULE] = simulate_rules(
        bar_ns, feature_rule(feature[config.baselines.feature], config.baselines), book_day, rules, execution)
    model_entries = orders[MODEL].filter((pl.col("kind") == "entry") & (pl.col("status") == "filled")).height
    settle = execution.latency_ns + execution.max_book_age_ns
    random_signal = random_entries(len(bar_ns), model_entries, rules, step, settle, coin, day, config.baselines)
    orders[RANDOM] = simulate_rules(bar_ns, random_signal, book_day, rules, execution)

    final_mid = float(mids[np.isfinite(mids)][-1]) if np.isfinite(mids).any() else math.nan
    capital = {s: (hold_rules if s == BUY_AND_HOLD else rules).capital for s in STRATEGIES}
    curves, trips, metrics = {}, {}, {}
    for name in STRATEGIES:
        curves[name] = equity_curves(orders[name], bar_ns, mids)
        trips[name] = round_trips(orders[name], final_mid)
        metrics[name] = strategy_metrics(orders[name], trips[name], curves[name], mids, bar_ns, capital[name])

    binary = bool(np.isnan(probs["prob_flat"]).all())
    score = pl.Series(probs["prob_up"] - probs["prob_down"])
    realized = pl.Series(label[f"label_ret_bps_{horizon}"])
    direction = pl.Series(label[f"label_dir_{horizon}"])
    signal = information_coefficient(score, realized, sample_every=max(span_ns(config.label_horizon) // step, 1))
    predicted = np.isfinite(probs["prob_up"])
    signal.update(
        predicted_share=float(predicted.mean()),
        long_signal_share=float((model_signal > 0).mean()),
        short_signal_share=float((model_signal < 0).mean()),
    )
    calibration = _calibration(probs, direction, binary)

    every = span_ns(config.equity_every)
    keep = ((bar_ns - start_ns) % every) == 0
    equity = pl.DataFrame({
        BAR_TIME: pl.Series(bar_ns[keep]).cast(pl.Datetime("ns", "UTC")),
        **{f"net_{s}": curves[s]["net"][keep] for s in STRATEGIES},
        "gross_model": curves[MODEL]["gross"][keep],
        "position_model": curves[MODEL]["position"][keep],
        "mid": mids[keep],
    })
    spread = np.linspace(0, len(book_day) - 1, min(config.impact_snapshots, len(book_day))).astype(np.int64)
    impact = pl.DataFrame(impact_curve(book_day, np.array(config.impact_multiples) * rules.order_notional, spread))
    facts = {
        "snapshots": len(book_day), "bars": len(bar_ns), "book_levels": book_day.max_levels,
        "first_snapshot": _iso(book_day.received_ns[0]), "last_snapshot": _iso(book_day.received_ns[-1]),
        "target": "binary up/down" if binary else "three classes (down, flat, up)",
        "random_entries_asked": model_entries,
    }
    return BacktestResult(
        coin=coin, day=day, config=config,
        orders=pl.concat([o.with_columns(strategy=pl.lit(s)) for s, o in orders.items()], how="vertical"),
        trades=pl.concat([t.with_columns(strategy=pl.lit(s)) for s, t in trips.items()], how="vertical"),
        equity=equity, metrics=metrics, signal=signal, calibration=calibration, impact=impact, facts=facts,
    )


def _calibration(probs: dict[str, np.ndarray], direction: pl.Series, binary: bool) -> pl.DataFrame:
    """Reliability of P(up) (and of P(down) for three classes). A binary target was fit on up/down bars only,
    so its P(up) is scored on bars whose realized direction is not flat."""
    parts = []
    for name, prob, hit in (("up", probs["prob_up"], 1), ("down", probs["prob_down"], -1)):
        if binary and name == "down":
            continue  # P(down) = 1 - P(up): the same curve mirrored
        p, d = pl.Series(prob), direction
        if binary:
            keep = (d != 0).fill_null(False)
            p, d = p.filter(keep), d.filter(keep)
        table = calibration_table(p.fill_nan(None), d == hit)
        parts.append(table.with_columns(**{"class": pl.lit(name)}).select("class", "predicted", "realized", "bars"))
    return pl.concat(parts)


def _on_grid(frame: pl.DataFrame, grid: BarGrid, bar_ns: np.ndarray, columns: list[str], name: str,
             schema: pl.Schema | None = None) -> dict[str, np.ndarray]:
    """The columns as float arrays on the day's bars (NaN where a bar has no row or a null)."""
    missing = [c for c in [BAR_TIME, *columns] if c not in frame.columns]
    if missing:
        raise BacktestInputError(f"{name}: columns {missing} missing (has {frame.columns})")
    if schema is not None:
        wrong = {c: str(frame.schema[c]) for c in schema if c in frame.columns and frame.schema[c] != schema[c]}
        if wrong:
            raise BacktestInputError(f"{name}: dtypes {wrong} differ from the declared schema")
    times = frame[BAR_TIME].cast(pl.Datetime("ns", "UTC")).dt.epoch("ns").to_numpy()
    if frame[BAR_TIME].null_count():
        raise BacktestInputError(f"{name}: a row has no bar_time")
    offset = times - (bar_ns[0] - grid.every_ns)
    outside = (offset <= 0) | (offset > bar_ns[-1] - bar_ns[0] + grid.every_ns) | (offset % grid.every_ns != 0)
    if outside.any():
        first = frame[BAR_TIME][int(np.flatnonzero(outside)[0])]
        raise BacktestInputError(f"{name}: bar_time {first} is not a {duration_label(grid.every)} bar end of the day")
    index = offset // grid.every_ns - 1
    if (np.bincount(index, minlength=len(bar_ns)) > 1).any():
        raise BacktestInputError(f"{name}: bar_time repeats")
    out = {}
    for column in columns:
        values = np.full(len(bar_ns), np.nan)
        values[index] = frame[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
        out[column] = values
    return out


def _epoch_ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).isoformat(timespec="milliseconds")
