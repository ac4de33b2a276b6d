"""A real headless browser for the operator page tests: Debian's Chromium driven by Selenium through chromedriver.

``tools/dev.sh test`` installs ``chromium`` and ``chromium-driver`` when they are missing and sets
SPGRASP_REQUIRE_BROWSER=1: there a missing browser fails the tests instead of skipping them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
ARTIFACTS = Path(os.environ.get("SPGRASP_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "outputs" /
                                "test-artifacts"))


def browser_missing_reason() -> str | None:
    """None when Chromium, chromedriver and selenium are here, else what is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (requirements/test.txt)"
    if not any(shutil.which(name) for name in CHROMIUM):
        return "no Chromium (Debian: apt-get install chromium chromium-driver; tools/dev.sh test does it)"
    if not shutil.which("chromedriver"):
        return "no chromedriver (Debian: apt-get install chromium-driver; tools/dev.sh test does it)"
    return None


def require_browser() -> None:
    reason = browser_missing_reason()
    if reason is None:
        return
    if os.environ.get("SPGRASP_REQUIRE_BROWSER") == "1":
        pytest.fail(f"a browser is required here (SPGRASP_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(reason)


def start_chromium(profile: Path, width: int = 1500, height: int = 950):
    """A headless Chromium (a fresh profile under ``profile``) with its WebDriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = next(shutil.which(name) for name in CHROMIUM if shutil.which(name))
    # as root, without a GPU, on a machine whose network is closed: no sandbox, no background connections
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--disable-extensions", f"--window-size={width},{height}",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
