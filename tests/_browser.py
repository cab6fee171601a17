"""Drive Debian's headless Chromium from tests (shared by every HTML-page test).

Small API::

    from tests._browser import browser, require_browser

    def test_page(tmp_path):
        with browser() as b:                         # skips the test if Chromium can't start
            b.open(tmp_path / "page.html")           # a local file, loaded as file://
            b.click("#next")                         # CSS selector
            assert b.text("#step-label") == "t = 2"
            b.screenshot(tmp_path / "shot.png")      # PNG bytes are returned too
            assert b.console_errors() == []          # SEVERE console entries + JS exceptions

    b.js("return document.title")                    # run JavaScript, get its return value
    b.find("#id") / b.find_all(".cls")               # selenium WebElements
    b.driver                                         # the selenium WebDriver itself

Where things come from: ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (Debian's
``chromium`` and ``chromium-driver`` packages; ``.ci/run`` installs them when
missing), or the paths in ``$LSTMKIT_CHROMIUM`` / ``$LSTMKIT_CHROMEDRIVER``. The
browser runs headless in a fresh profile directory with networking features off
(no sync, no component updates, no QUIC), so a page that tries to reach the
network shows up as a console error rather than a silent download.

A test is skipped — with the reason — only when Chromium or selenium is not
installed or the browser cannot start; any failure after start-up fails the test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER_CANDIDATES = ("/usr/bin/chromedriver",)

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def _first_existing(env_var: str, candidates) -> str | None:
    path = os.environ.get(env_var)
    if path:
        return path if os.access(path, os.X_OK) else None
    for p in candidates:
        if os.access(p, os.X_OK):
            return p
    return None


def find_chromium() -> tuple[str | None, str | None, str]:
    """(chromium path, chromedriver path, reason if something is missing)."""
    chromium = _first_existing("LSTMKIT_CHROMIUM", CHROMIUM_CANDIDATES)
    driver = _first_existing("LSTMKIT_CHROMEDRIVER", CHROMEDRIVER_CANDIDATES)
    missing = []
    if chromium is None:
        missing.append("chromium (apt-get install chromium)")
    if driver is None:
        missing.append("chromedriver (apt-get install chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[dev]')")
    return chromium, driver, ("not installed: " + ", ".join(missing)) if missing else ""


def require_browser() -> tuple[str, str]:
    """Skip the calling test, with the reason, when Chromium/chromedriver/selenium are missing."""
    chromium, driver, reason = find_chromium()
    if reason:
        pytest.skip(f"headless Chromium unavailable — {reason}")
    return chromium, driver


class Browser:
    """A started headless Chromium. Make it with :func:`browser`."""

    def __init__(self, driver):
        self.driver = driver

    # ----------------------------------------------------------- navigation
    def open(self, path_or_url) -> None:
        """Load a local file (Path or str path) as file://, or a URL as is."""
        s = str(path_or_url)
        if "://" not in s:
            s = Path(s).resolve().as_uri()
        self.driver.get(s)

    # --------------------------------------------------------------- reading
    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        return self.find(css).text

    def js(self, script: str, *args):
        """Run JavaScript in the page; ``return x`` in the script gives x back."""
        return self.driver.execute_script(script, *args)

    # ---------------------------------------------------------------- acting
    def click(self, css: str) -> None:
        self.find(css).click()

    def select(self, css: str, value: str) -> None:
        """Choose the option with ``value`` in a <select> (fires its change event)."""
        from selenium.webdriver.support.ui import Select

        Select(self.find(css)).select_by_value(str(value))

    def screenshot(self, path=None) -> bytes:
        """PNG of the viewport; also written to ``path`` when given."""
        png = self.driver.get_screenshot_as_png()
        if path is not None:
            Path(path).write_bytes(png)
        return png

    # -------------------------------------------------------------- console
    def console(self) -> list[dict]:
        """Browser log entries since the last call (each: level, message, source, timestamp)."""
        return list(self.driver.get_log("browser"))

    def console_errors(self) -> list[str]:
        """Messages of SEVERE entries (console.error, uncaught exceptions, failed loads)
        since the last call to console()/console_errors()."""
        return [e["message"] for e in self.console() if e.get("level") == "SEVERE"]


@contextlib.contextmanager
def browser(width: int = 1280, height: int = 1000):
    """Start headless Chromium (fresh profile), yield a :class:`Browser`, quit it after.

    Skips the test when the browser is not installed or cannot start."""
    chromium, driver_path = require_browser()
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="lstmkit-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_argument(f"--window-size={width},{height}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        drv = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    except WebDriverException as e:  # installed but cannot start (no display libs, …)
        shutil.rmtree(profile, ignore_errors=True)
        first = (str(e).strip().splitlines() or ["?"])[0]
        pytest.skip(f"headless Chromium could not start: {first}")
    try:
        yield Browser(drv)
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)
