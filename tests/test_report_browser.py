"""The report in headless Chromium: it loads, every image renders, and the console stays clean.

Skips when Chromium, chromedriver or selenium are missing, except under CORRCLUST_REQUIRE_SHARED=1
(CI installs them), where their absence fails the test.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from report_helpers import make_report

CHROMIUM = os.environ.get("CORRCLUST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = (
    os.environ.get("CORRCLUST_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _need(ok: bool, what: str) -> None:
    if ok:
        return
    if os.environ.get("CORRCLUST_REQUIRE_SHARED") == "1":
        pytest.fail(
            f"{what} (CORRCLUST_REQUIRE_SHARED=1: CI must install chromium, chromium-driver, selenium)"
        )
    pytest.skip(what)


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _need(False, "selenium is not installed")
    _need(Path(CHROMIUM).is_file(), f"chromium not found at {CHROMIUM}")
    _need(Path(CHROMEDRIVER).is_file(), f"chromedriver not found at {CHROMEDRIVER}")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="corrclust-chromium-")
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _load(driver, page: Path):
    driver.get(page.resolve().as_uri())
    driver.execute_script("return document.readyState")
    images = driver.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);"
    )
    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    return images, severe


def test_report_renders_in_chromium(browser, report_dir):
    images, severe = _load(browser, report_dir / "report.html")
    assert browser.title.startswith("corrclust")
    assert len(images) >= 5
    broken = [src for src, complete, width in images if not (complete and width > 0)]
    assert not broken, f"images that did not render: {broken}"
    assert not severe, severe
    headings = browser.execute_script(
        "return Array.from(document.querySelectorAll('h2')).map(h => h.textContent)"
    )
    assert "Agreement with the truth" in headings and "Clusters" in headings


def test_the_browser_check_catches_a_broken_image(browser, report_dir, tmp_path):
    """The check above can fail: a page with a missing PNG is reported (image and console)."""
    page = tmp_path / "report.html"
    text = (report_dir / "report.html").read_text()
    figs = report_dir / "figures"
    page.write_text(
        text.replace('src="figures/', f'src="{figs.as_posix()}/').replace(
            "figures/sizes.png", "figures/missing.png"
        )
    )
    images, severe = _load(browser, page)
    broken = [src for src, complete, width in images if not (complete and width > 0)]
    assert broken == [f"{figs.as_posix()}/missing.png"]
    assert severe, "a missing file is logged as a SEVERE console error"


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    return make_report(tmp_path_factory.mktemp("report"))
