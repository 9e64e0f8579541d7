"""Headless Chromium for the page tests, driven by selenium through Debian's chromedriver.

One `Browser` serves many pages: it opens a file, collects what the console said and which URLs the
page asked for, checks that elements are shown, and saves a screenshot under SHOTS (gitignored).
Without Chromium, chromedriver or selenium the tests skip, unless PATCHWRIGHT_REQUIRE_BROWSER=1 (CI),
where they fail."""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REQUIRE_BROWSER = os.environ.get("PATCHWRIGHT_REQUIRE_BROWSER") == "1"
SHOTS = Path(os.environ.get("PATCHWRIGHT_SCREENSHOTS") or Path(__file__).resolve().parent.parent / "build" / "screenshots")
"""Where the screenshots go (build/ is gitignored)."""
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--window-size=1300,1000"]
"""Without the background-networking flags Chromium calls Google's hosts on start."""
MAX_SHOT_HEIGHT = 6000
INTERNAL = ("chrome://", "chrome-untrusted://", "chrome-search://", "devtools://")
"""The browser's own pages (its first tab's new-tab page loads from these), not requests of a page."""


def find() -> tuple[str, str] | str:
    """(chromium, chromedriver), or why they cannot be used."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        return "Chromium and chromedriver are not installed (as root on Debian: scripts/setup.sh installs them)"
    return browser, driver


def need_browser() -> tuple[str, str]:
    found = find()
    if isinstance(found, str):
        if REQUIRE_BROWSER:
            pytest.fail(f"PATCHWRIGHT_REQUIRE_BROWSER=1 but {found}")
        pytest.skip(f"needs headless Chromium: {found}")
    return found


class Browser:
    def __init__(self, binary: str, driver: str):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="patchwright-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in [*FLAGS, f"--user-data-dir={self.profile}"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(driver))
        self.driver.get("about:blank")

    def close(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, page: Path, *, javascript: bool = True) -> None:
        """Load `page` (a file) and wait for its load event; the logs start empty for it."""
        self.driver.get_log("browser")
        self.driver.get_log("performance")
        self.driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": not javascript})
        self.driver.get(Path(page).resolve().as_uri())

    def console_errors(self) -> list[str]:
        """Console messages at error level (uncaught exceptions included) since the page was opened."""
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def requested(self) -> list[str]:
        """Every URL asked for since the page was opened (the browser's own chrome:// pages left out)."""
        urls = []
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                urls.append(msg["params"]["request"]["url"])
        return [u for u in urls if not u.startswith(INTERNAL)]

    def shown(self, selector: str) -> list:
        """The elements matching `selector` that are displayed and have a size."""
        from selenium.webdriver.common.by import By

        return [e for e in self.driver.find_elements(By.CSS_SELECTOR, selector)
                if e.is_displayed() and e.size["height"] > 0 and e.size["width"] > 0]

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def screenshot(self, name: str) -> Path:
        """The page from its top (at most MAX_SHOT_HEIGHT pixels), as SHOTS/NAME.png. The window is made
        that tall while it is taken: steps off screen are not drawn (content-visibility: auto)."""
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        width, height = int(size["width"]), int(min(size["height"], MAX_SHOT_HEIGHT))
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        try:
            metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})  # laid out at the new size
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], MAX_SHOT_HEIGHT), "scale": 1}
            shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "clip": clip})
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path
