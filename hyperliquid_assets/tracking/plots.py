"""The run's figures, drawn with matplotlib's object API (no pyplot state, no GUI backend), saved as PNG.

Drawn here rather than by `mlflow.models.evaluate`, which makes the same confusion matrix, ROC and calibration
plots but re-scores the model through pyfunc and costs seconds per run (see bench/bench_models.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import polars as pl

DPI = 90
TOP_FEATURES = 20
ROC_POINTS = 201


def _figure(width: float = 6.4, height: float = 4.2, left: float = 0.13):
    from matplotlib.figure import Figure

    # Fixed margins rather than a layout engine: constrained layout draws every figure twice.
    figure = Figure(figsize=(width, height), dpi=DPI)
    figure.subplots_adjust(left=left, right=0.97, bottom=0.12, top=0.9)
    return figure, figure.subplots()


def _save(figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def feature_importance_plot(importance: pl.DataFrame, title: str, path: Path) -> Path:
    """Horizontal bars of the TOP_FEATURES most important features."""
    top = importance.head(TOP_FEATURES).reverse()
    figure, ax = _figure(6.4, 0.25 * top.height + 1.2, left=0.4)
    ax.barh(top["feature"].to_list(), top["importance"].to_numpy(), color="#3b6ea5")
    ax.set_xlabel("importance")
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="y", labelsize=8)
    return _save(figure, path)


def calibration_plot(calibration: pl.DataFrame, title: str, path: Path) -> Path:
    """Observed rate against mean predicted probability, per class, with the diagonal."""
    figure, ax = _figure(5.0, 4.4)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    for name in calibration["class"].unique(maintain_order=True).to_list():
        part = calibration.filter(pl.col("class") == name)
        ax.plot(part["mean_predicted"].to_numpy(), part["observed_rate"].to_numpy(), marker="o", label=name)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return _save(figure, path)


def confusion_matrix_plot(counts: np.ndarray, class_names: Sequence[str], title: str, path: Path) -> Path:
    """Counts per (true, predicted) class, shaded by the share of the true class's rows."""
    figure, ax = _figure(4.8, 4.2, left=0.16)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            ax.text(j, i, f"{counts[i, j]}\n{shares[i, j]:.0%}", ha="center", va="center", fontsize=8,
                    color="white" if shares[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(class_names)), class_names)
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    return _save(figure, path)


def roc_plot(y: np.ndarray, proba: np.ndarray, class_names: Sequence[str], title: str, path: Path) -> Path:
    """One-vs-rest ROC curve per class (binary: the up class), AUC in the legend."""
    from sklearn.metrics import roc_auc_score, roc_curve

    figure, ax = _figure(5.0, 4.4)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    for cls in ([1] if proba.shape[1] == 2 else range(proba.shape[1])):
        positive = y == cls
        if positive.any() and (~positive).any():
            fpr, tpr, _ = roc_curve(positive, proba[:, cls])
            auc = roc_auc_score(positive, proba[:, cls])
            grid = np.linspace(0.0, 1.0, ROC_POINTS)  # a curve of ~10^5 steps drawn as 200 points looks the same
            ax.plot(grid, np.interp(grid, fpr, tpr), label=f"{class_names[cls]} vs rest (AUC {auc:.3f})")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return _save(figure, path)
