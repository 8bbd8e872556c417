"""The reports in a real browser (Debian's chromium via Playwright): every figure is drawn, and opening the file
makes no request but for the file itself. Screenshots are kept in test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from hyperliquid_assets.backtesting.report import write_report
from hyperliquid_assets.backtesting.summary import write_summary_report
from hyperliquid_assets_tests.backtest_synthetic import IMPORTANCE, PROVENANCE, synthetic_result
from hyperliquid_assets_tests.browser import chromium_page, require_chromium, screenshot


def _open_offline(path, name: str) -> dict:
    """Load the file in chromium, recording every request, and report what the page shows."""
    requests: list[str] = []
    with chromium_page() as page:
        page.on("request", lambda request: requests.append(request.url))
        page.goto(path.as_uri(), wait_until="load")
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => ({alt: e.alt, complete: e.complete, w: e.naturalWidth, h: e.naturalHeight,"
                   " shown: e.getBoundingClientRect().width}))")
        text = page.inner_text("body")
        screenshot(page, name)
    return {"requests": requests, "images": images, "text": text}


@pytest.fixture(scope="module")
def results():
    require_chromium()
    return [synthetic_result(date(2026, 1, 7) + timedelta(days=d), seed=d + 1) for d in range(3)]


def test_report_renders_every_figure_with_no_network_request(results, tmp_path):
    files = write_report(results[0], tmp_path / "report", PROVENANCE, IMPORTANCE)
    seen = _open_offline(files.html, "backtest_report")
    assert seen["requests"] == [files.html.as_uri()]
    assert sorted(i["alt"] for i in seen["images"]) == sorted(files.pngs)
    for image in seen["images"]:
        assert image["complete"] and image["w"] > 300 and image["h"] > 150 and image["shown"] > 300, image
    assert "Funding is not modelled" in seen["text"] and "5f1d2c3b-run-of-the-test" in seen["text"]


def test_summary_renders_with_no_network_request(results, tmp_path):
    daily = pl.concat([r.daily_rows() for r in results])
    files = write_summary_report(daily, tmp_path / "summary", {"dagster_run_id": "summary-run"})
    seen = _open_offline(files.html, "backtest_summary")
    assert seen["requests"] == [files.html.as_uri()]
    assert [i["alt"] for i in seen["images"]] == ["daily_cumulative"]
    assert all(i["complete"] and i["w"] > 300 for i in seen["images"])
    assert "2026-01-09" in seen["text"]
