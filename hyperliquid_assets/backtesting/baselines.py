"""The baselines every backtest carries, traded under the same execution and costs as the model.

- flat: never trades (0 by construction: the yardstick net PnL must beat).
- buy and hold: one long lot of the model's whole capital (order_notional x position_cap), bought at the day's
  first bar with a known mid and sold at the close.
- one-feature rule: sign(x_t) of one feature (default top-of-book imbalance, `book_imbalance_1`) where
  |x_t| >= `feature_threshold`, under the model's position rules.
- random: entries at random bars with random sides, as many as the model's filled entries (so about its
  turnover), spaced so the rules can take each (see random_entries); seeded by
  (seed, coin, day), so a rerun trades the same. It uses the model's entry count over the whole day, so unlike
  the others it is a benchmark, not a strategy one could have run live.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from hyperliquid_assets.backtesting.execution import span_ns
from hyperliquid_assets.backtesting.positions import PositionRules, feature_sign_signal

MODEL, FLAT, BUY_AND_HOLD, FEATURE_RULE, RANDOM = "model", "flat", "buy_and_hold", "feature_rule", "random"
STRATEGIES = (MODEL, FLAT, BUY_AND_HOLD, FEATURE_RULE, RANDOM)


@dataclass(frozen=True)
class BaselineConfig:
    feature: str = "book_imbalance_1"
    feature_threshold: float = 0.5
    seed: int = 0


def flat_signal(bars: int) -> np.ndarray:
    return np.zeros(bars, dtype=np.int8)


def buy_and_hold(bars: int, rules: PositionRules) -> tuple[np.ndarray, PositionRules]:
    """A long signal on every bar, and rules that take one lot of the whole capital and hold it to the close."""
    hold = replace(rules, order_notional=rules.capital, position_cap=1, holding=None, extend_on_signal=False)
    return np.ones(bars, dtype=np.int8), hold


def feature_rule(values: np.ndarray, config: BaselineConfig) -> np.ndarray:
    return feature_sign_signal(values, config.feature_threshold)


def random_entries(
    bars: int, entries: int, rules: PositionRules, step_ns: int, settle_ns: int, coin: str, day: date,
    config: BaselineConfig,
) -> np.ndarray:
    """+-1 at `entries` random bars in the entry window, spaced so the rules can take every one: holding / cap
    plus the cooldown plus `settle_ns` (latency + max book age: until the previous exit's outcome is known)."""
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, zlib.crc32(coin.encode()), day.toordinal()]))
    signal = np.zeros(bars, dtype=np.int8)
    holding = span_ns(rules.holding) // step_ns if rules.holding else bars
    spacing = -(-holding // rules.position_cap) + span_ns(rules.cooldown) // step_ns + -(-settle_ns // step_ns) + 1
    window = bars - span_ns(rules.close_margin) // step_ns - holding  # entry bars whose holding ends by the close
    if entries <= 0 or window <= 0:
        return signal
    entries = min(entries, 1 + (window - 1) // spacing)
    slack = window - 1 - (entries - 1) * spacing
    offsets = np.sort(rng.integers(0, slack + 1, entries)) + np.arange(entries) * spacing
    signal[offsets] = rng.choice(np.array([-1, 1], dtype=np.int8), entries)
    return signal
