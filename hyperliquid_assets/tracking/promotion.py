"""The champion/challenger rule (pure: metrics in, decision and reason out).

A challenger becomes champion only if, scored out of sample on the challenger's own day D (the champion's
training window ended before D, so D is out of sample for both):

    1. it clears the baseline:  m(candidate) - m(baseline) >= min_gain_over_baseline   (signs flipped for
       log loss), where the baseline is the class prior (default) or the majority class;
    2. if `beat_baseline_log_loss`: its log loss is below the prior baseline's (a model worse than the class
       frequencies in probability terms is not promoted, whatever its ranking);
    3. if `min_value` is set: m(candidate) >= min_value (e.g. metric="accuracy", min_value=0.55, the common
       "promote only above 55% accuracy" rule);
    4. it beats the champion: m(candidate) - m(champion) >= min_gain_over_champion; with no champion yet,
       1-3 decide alone.

Default metric: one-vs-rest ROC AUC (ranking skill, insensitive to class balance; accuracy on three classes
with a dominant class rewards predicting that class).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

METRICS = ("roc_auc", "log_loss", "accuracy", "balanced_accuracy")
BASELINES = ("prior", "majority")


@dataclass(frozen=True)
class PromotionPolicy:
    metric: str = "roc_auc"
    baseline: str = "prior"
    min_gain_over_baseline: float = 0.01
    min_gain_over_champion: float = 0.002
    beat_baseline_log_loss: bool = True
    min_value: float | None = None

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"promotion metric must be one of {METRICS}, not {self.metric!r}")
        if self.baseline not in BASELINES:
            raise ValueError(f"promotion baseline must be one of {BASELINES}, not {self.baseline!r}")
        if self.min_gain_over_baseline < 0 or self.min_gain_over_champion < 0:
            raise ValueError("promotion margins must be >= 0")

    @property
    def higher_is_better(self) -> bool:
        return self.metric != "log_loss"

    def gain(self, value: float, reference: float) -> float:
        """How much better `value` is than `reference` (positive = better)."""
        return value - reference if self.higher_is_better else reference - value


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str
    metric: str
    candidate: float
    baseline: float
    champion: float | None = None
    champion_version: str | None = None  # the champion before the decision (None: there was none)
    version: str | None = None  # the candidate's version
    registered_model: str | None = None


def decide_promotion(
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    policy: PromotionPolicy = PromotionPolicy(),
    champion_label: str = "the champion",
) -> PromotionDecision:
    """Apply the rule of the module docstring to unprefixed day metrics (`roc_auc`, `prior_roc_auc`, `log_loss`,
    `prior_log_loss`, ...: evaluate.scored_with_baselines)."""
    m = policy.metric
    value, baseline = float(candidate[m]), float(candidate[f"{policy.baseline}_{m}"])
    champion_value = None if champion is None else float(champion[m])
    keep = "not promoted" if champion is None else f"kept {champion_label}"

    def decision(promote: bool, reason: str) -> PromotionDecision:
        return PromotionDecision(promote, reason, m, value, baseline, champion_value)

    if value != value:
        return decision(False, f"{keep}: candidate {m} is undefined (NaN)")
    gain = policy.gain(value, baseline)
    if gain < policy.min_gain_over_baseline:
        return decision(False, f"{keep}: candidate {m} {value:.4f} does not clear the {policy.baseline} baseline "
                               f"{baseline:.4f} by {policy.min_gain_over_baseline} (gain {gain:+.4f})")
    if policy.beat_baseline_log_loss and candidate["log_loss"] >= candidate["prior_log_loss"]:
        return decision(False, f"{keep}: candidate log loss {candidate['log_loss']:.4f} is not below the prior "
                               f"baseline's {candidate['prior_log_loss']:.4f}")
    if policy.min_value is not None and policy.gain(value, policy.min_value) < 0:
        return decision(False, f"{keep}: candidate {m} {value:.4f} misses the minimum {policy.min_value}")
    clears = f"clears the {policy.baseline} baseline {baseline:.4f} by {gain:+.4f}"
    if champion_value is None:
        return decision(True, f"promoted: no champion yet; candidate {m} {value:.4f} {clears}")
    lead = policy.gain(value, champion_value)
    if lead < policy.min_gain_over_champion:
        return decision(False, f"{keep}: candidate {m} {value:.4f} does not beat {champion_label}'s "
                               f"{champion_value:.4f} by {policy.min_gain_over_champion} (gain {lead:+.4f})")
    return decision(True, f"promoted: candidate {m} {value:.4f} beats {champion_label}'s {champion_value:.4f} by "
                          f"{lead:+.4f} and {clears}")
