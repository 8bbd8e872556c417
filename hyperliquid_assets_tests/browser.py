"""A real browser for UI tests: Debian's chromium (`apt-get install chromium`) driven by Playwright through
`executable_path`, never a downloaded browser. Screenshots go to `test-artifacts/screenshots/` (git-ignored), kept
after the run so a person can look at what the test saw."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from hyperliquid_assets.settings import PROJECT_ROOT

CHROMIUM = os.environ.get("HL_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
# Without the background-networking flags chromium keeps trying Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


def require_chromium() -> None:
    """Skip (or, in CI with HL_REQUIRE_BROWSER=1, fail) when Debian's chromium or Playwright is missing."""
    problem = None
    if not Path(CHROMIUM).exists():
        problem = f"{CHROMIUM} not found (apt-get install chromium)"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (it is in the project's test extra)"
    if problem:
        if os.environ.get("HL_REQUIRE_BROWSER") == "1":
            pytest.fail(problem)
        pytest.skip(problem)


@contextmanager
def chromium_page(width: int = 1400, height: int = 900) -> Iterator["object"]:
    """A fresh headless page in a throwaway profile; the browser is closed on exit."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="hl-chromium-")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport={"width": width, "height": height})
                yield context.new_page()
            finally:
                browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG under test-artifacts/screenshots/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
