"""The report, the hub and the playground in a real headless browser (Debian's Chromium through
its ChromeDriver; scripts/ensure-system.sh installs them, `make test` runs it first): every
section is there, every case image decodes, failures come first, the filters filter, the hub
sorts, and a playground prompt comes back as a picture. Pages are served by `svglm serve`."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from svglm.report.html import build_hub, build_report
from svglm.report.server import make_server
from svglm.runs import RunDir

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("summary", "plan", "training", "tokenizer", "dataset", "probe", "autopsy", "cases")


@pytest.fixture(scope="module")
def browser():
    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        subprocess.run([ROOT / "scripts" / "ensure-system.sh"], check=True)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1800",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def served(tiny_run, tmp_path_factory):
    """A copy of the tiny run under its own $SVGLM_HOME, served on 127.0.0.1."""
    root = tmp_path_factory.mktemp("served")
    run = RunDir(root / "tiny")
    shutil.copytree(tiny_run.root, run.root)
    build_report(run)
    build_hub(root)
    server = make_server(root, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", run
    server.shutdown()
    server.server_close()


def images_decoded(driver, selector: str) -> list[bool]:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])]"
        ".map(i => i.complete && i.naturalWidth > 0);",
        selector,
    )


def test_the_report_shows_every_section_every_image_and_failures_first(browser, served, tmp_path):
    url, run = served
    browser.get(f"{url}/tiny/report.html")
    for section in SECTIONS:
        assert browser.find_element(By.ID, section).is_displayed()
    browser.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    decoded = images_decoded(browser, "#cases img")
    cases = run.probe_cases.read_text().splitlines()
    assert len(decoded) >= len(cases) and all(decoded)
    outcomes = browser.execute_script(
        "return [...document.querySelectorAll('.case')].map(c => c.classList.contains('bad'))"
    )
    assert outcomes == sorted(outcomes, reverse=True) and True in outcomes
    browser.save_screenshot(str(tmp_path / "report.png"))

    family = browser.find_elements(By.CSS_SELECTOR, ".case")[0].get_attribute("class").split()
    family = next(c for c in family if c.startswith("fam-"))
    browser.find_element(By.CSS_SELECTOR, f"label[for='{family}']").click()
    shown = [c for c in browser.find_elements(By.CSS_SELECTOR, ".case") if c.is_displayed()]
    assert shown and all(family in c.get_attribute("class").split() for c in shown)
    browser.find_element(By.CSS_SELECTOR, "label[for='out-pass']").click()
    shown = [c for c in browser.find_elements(By.CSS_SELECTOR, ".case") if c.is_displayed()]
    assert all("ok" in c.get_attribute("class").split() for c in shown)


def test_the_hub_lists_and_sorts_runs_and_draws_their_loss(browser, served, tmp_path):
    url, run = served
    browser.get(f"{url}/")
    names = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#runs tbody td:first-child")]
    assert names == ["tiny"]
    assert browser.find_elements(By.CSS_SELECTOR, "#curves polyline")
    header = browser.find_element(By.CSS_SELECTOR, "#runs th[data-key='tokens']")
    header.click()  # the sort script runs under the page's CSP: it marks the column
    assert header.get_attribute("data-dir") == "desc"
    browser.find_element(By.LINK_TEXT, "tiny").click()
    assert browser.find_element(By.ID, "summary").is_displayed()
    browser.get(f"{url}/")
    browser.save_screenshot(str(tmp_path / "hub.png"))


def test_a_playground_prompt_comes_back_as_a_picture(browser, served, tmp_path):
    url, _ = served
    browser.get(f"{url}/playground")
    box = browser.find_element(By.NAME, "prompt")
    box.send_keys("[intent] [topic:weekly_signups] [/intent]")
    browser.find_element(By.NAME, "constrained").click()
    browser.find_element(By.CSS_SELECTOR, "#ask button").click()
    # the first answer loads the model and compiles the grammar: wait for the new page
    answer = WebDriverWait(browser, 120).until(
        lambda d: d.find_elements(By.ID, "dsl") or d.find_elements(By.ID, "error")
    )[0]
    assert answer.get_attribute("id") == "dsl", answer.text
    dsl = answer.text
    assert dsl.startswith("[bundle]") and dsl.endswith("[/bundle]")
    assert images_decoded(browser, "#picture") == [True]
    browser.save_screenshot(str(tmp_path / "playground.png"))
