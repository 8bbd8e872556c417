"""The report and the walk-forward summary: contents, provenance, valid and reproducible files, nothing external;
the headline metrics and the summary's figures from the per-day rows."""

from __future__ import annotations

import base64
import math
import re
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from PIL import Image

from hyperliquid_assets.backtesting.baselines import STRATEGIES
from hyperliquid_assets.backtesting.html_page import number
from hyperliquid_assets.backtesting.report import PROVENANCE_LABELS, write_report
from hyperliquid_assets.backtesting.summary import SummaryInputError, walk_forward_summary, write_summary_report
from hyperliquid_assets_tests.backtest_synthetic import IMPORTANCE, PROVENANCE, synthetic_result


@pytest.fixture(scope="module")
def result():
    return synthetic_result()


def _decoded(path) -> Image.Image:
    with Image.open(path) as image:
        image.verify()
    image = Image.open(path)
    image.load()
    return image


def test_report_holds_every_figure_as_valid_png_both_embedded_and_on_disk(result, tmp_path):
    files = write_report(result, tmp_path / "report", PROVENANCE, IMPORTANCE)
    assert set(files.pngs) == {"equity_drawdown", "trade_pnl", "calibration", "slippage", "feature_importance"}
    html = files.html.read_text()
    embedded = dict(re.findall(r'<img alt="([a-z_]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html))
    assert set(embedded) == set(files.pngs)
    for name, path in files.pngs.items():
        image = _decoded(path)
        assert image.format == "PNG" and image.width >= 600 and image.height >= 200
        assert base64.b64decode(embedded[name]) == path.read_bytes()
        # A drawn figure, not a blank canvas.
        assert len(set(np.asarray(image.convert("L")).ravel().tolist())) > 10
    assert files.html_bytes == len(files.html.read_bytes()) < 1_500_000


def test_report_is_self_contained(result, tmp_path):
    html = write_report(result, tmp_path, PROVENANCE, IMPORTANCE).html.read_text()
    assert "<script" not in html and "@import" not in html and "url(" not in html
    sources = re.findall(r'(?:src|href)="([^"]*)"', html)
    # Only embedded data, plus the MLflow run page as a plain link (nothing loads until it is clicked).
    assert all(s.startswith("data:") or s == PROVENANCE["mlflow_run_url"] for s in sources), sources
    assert '<link rel="icon" href="data:,">' in html
    assert re.findall(r'<a href="([^"]*)"', html) == [PROVENANCE["mlflow_run_url"]]


def test_report_names_its_provenance_costs_and_assumptions(result, tmp_path):
    html = write_report(result, tmp_path, PROVENANCE, IMPORTANCE).html.read_text()
    for value in ("5f1d2c3b-run-of-the-test", "BTC|2026-01-07", "dv-predictions-7a1", "dv-book-93c", "dv-features-4e2",
                  "dv-labels-0b8", "BTC_logreg", "0a9b8c7d6e5f", "git 26dbfc7 (dirty)", "backtest_logreg"):
        assert value in html, value
    for label in PROVENANCE_LABELS.values():
        assert label in html
    assert "Funding is not modelled" in html
    assert "taker fee 4.5 bps" in html and "maker fee, 1.5 bps, never applies" in html
    assert "200ms later" in html and "more than 5s after the order (stale book)" in html
    assert "sqrt(525,600)" in html and "365 days" in html
    # Every strategy's net PnL as it is in the metrics, in the table's first row.
    first_row = re.search(r"<td>net PnL \(USD\)</td>(.*?)</tr>", html).group(1)
    assert re.findall(r'<td class="num">([^<]*)</td>', first_row) == [number(result.metrics[s]["net_pnl"]) for s in STRATEGIES]


def test_missing_provenance_is_shown_as_not_given_never_invented(result, tmp_path, caplog):
    html = write_report(result, tmp_path, {"dagster_run_id": "only-this"}, None).html.read_text()
    assert html.count("not given") == len(PROVENANCE_LABELS) - 1
    assert "Feature importance: not provided" in html
    assert "provenance lacks" in caplog.text


def test_report_bytes_are_the_same_on_a_rerun(result, tmp_path):
    first = write_report(result, tmp_path / "a", PROVENANCE, IMPORTANCE)
    second = write_report(result, tmp_path / "b", PROVENANCE, IMPORTANCE)
    assert first.html.read_bytes() == second.html.read_bytes()
    for name in first.pngs:
        assert first.pngs[name].read_bytes() == second.pngs[name].read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted([*(f"{n}.png" for n in first.pngs), "report.html"])


def test_headline_metrics_are_plain_numbers_for_dagster_and_mlflow(result):
    headline = result.headline_metrics()
    assert all(type(v) is float for v in headline.values())
    for strategy in STRATEGIES:
        for metric in ("net_pnl", "gross_pnl", "fees", "turnover", "trades", "hit_rate", "avg_slippage_bps", "sharpe",
                       "max_drawdown", "exposure"):
            assert f"{strategy}.{metric}" in headline
    assert {"signal.ic_pearson", "signal.ic_spearman", "model.excess_net_pnl_vs_random"} <= set(headline)
    model = result.metrics["model"]
    assert model["net_pnl"] == pytest.approx(model["gross_pnl"] - model["fees"], abs=1e-6)
    assert result.metrics["flat"]["net_pnl"] == 0.0 and result.metrics["flat"]["trades"] == 0.0
    # The random baseline trades about the model's turnover (same number of entries, same sizes).
    assert result.metrics["random"]["trades"] == pytest.approx(model["trades"], rel=0.1)
    assert result.metrics["random"]["turnover"] == pytest.approx(model["turnover"], rel=0.1)
    rows = result.daily_rows()
    assert rows["strategy"].to_list() == list(STRATEGIES) and rows["date"].dtype == pl.Date
    assert rows.filter(pl.col("strategy") == "model")["net_pnl"].item() == model["net_pnl"]


def _daily(pnl: dict[str, list[float]], start: date = date(2026, 1, 2)) -> pl.DataFrame:
    rows = []
    for strategy, values in pnl.items():
        for i, v in enumerate(values):
            rows.append({"coin": "ETH", "date": start + timedelta(days=i), "strategy": strategy, "net_pnl": v,
                         "gross_pnl": v + 1.0, "fees": 1.0, "trades": 2.0})
    return pl.DataFrame(rows)


def test_walk_forward_summary_from_the_daily_rows():
    daily = _daily({"model": [10.0, -4.0, 6.0, 8.0], "flat": [0.0] * 4, "random": [-5.0, 2.0, -7.0, 9.0]})
    table = walk_forward_summary(daily).to_dicts()
    model = next(r for r in table if r["strategy"] == "model")
    pnl = np.array([10.0, -4.0, 6.0, 8.0])
    assert model["days"] == 4 and model["total_net_pnl"] == 20.0 and model["mean_daily_net_pnl"] == 5.0
    assert model["sharpe_daily"] == pytest.approx(5.0 / pnl.std(ddof=1) * math.sqrt(365))
    assert model["positive_days"] == 0.75 and model["max_drawdown"] == 4.0
    assert model["total_fees"] == 4.0 and model["total_trades"] == 8.0 and math.isnan(model["model_beat_share"])
    random = next(r for r in table if r["strategy"] == "random")
    assert random["model_beat_share"] == 0.5  # the model lost to random on the second and the last day
    assert random["max_drawdown"] == 10.0  # 0 -> -5 -> -3 -> -10: from the opening peak 0
    flat = next(r for r in table if r["strategy"] == "flat")
    assert math.isnan(flat["sharpe_daily"]) and flat["model_beat_share"] == 0.75


def test_summary_report_files(tmp_path):
    daily = _daily({"model": [10.0, -4.0, 6.0], "flat": [0.0] * 3, "buy_and_hold": [3.0, 3.0, -9.0]})
    files = write_summary_report(daily, tmp_path, {"dagster_run_id": "r-1", "code_version": "abc"})
    html = files.html.read_text()
    assert "ETH 2026-01-02 .. 2026-01-04" in html and "r-1" in html and "Funding is not modelled" in html
    assert "<script" not in html and all(s.startswith("data:") for s in re.findall(r'(?:src|href)="([^"]*)"', html))
    image = _decoded(files.pngs["daily_cumulative"])
    assert image.format == "PNG" and image.width >= 600
    assert html.count("<tr>") >= 3 + 3 + 1  # the summary rows, one row per day, provenance


def test_summary_refuses_rows_it_cannot_summarize():
    with pytest.raises(SummaryInputError, match="one coin"):
        walk_forward_summary(pl.concat([_daily({"model": [1.0]}), _daily({"model": [1.0]}).with_columns(coin=pl.lit("BTC"))]))
    with pytest.raises(SummaryInputError, match="has 2 rows for model"):
        walk_forward_summary(pl.concat([_daily({"model": [1.0]}), _daily({"model": [2.0]})]))
    with pytest.raises(SummaryInputError, match="lack columns"):
        walk_forward_summary(_daily({"model": [1.0]}).drop("fees"))
    with pytest.raises(SummaryInputError, match="no backtested day"):
        walk_forward_summary(_daily({"model": [1.0]}).head(0))
