"""A real browser (headless Chromium driven by Selenium through the system chromedriver) against
a real server: sign in with an invite, answer 6 pairs by keyboard and 2 by clicking, undo one,
reload and find the progress kept; then the admin exports and the export reads back with the
``diw`` reader, with the relations the annotator gave."""

from __future__ import annotations

import shutil

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from depthforge.annotate.schema import ANSWER_TO_RELATION
from depthforge.data.registry import open_dataset

from .conftest import require

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser():
    require(CHROMIUM is not None and CHROMEDRIVER is not None, "chromium + chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,900")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def task_id(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").get_attribute("data-task-id") or ""


def answered(driver) -> int:
    return int(driver.find_element(By.ID, "answered").text)


def wait(driver, condition, seconds: float = 30):
    return WebDriverWait(driver, seconds).until(lambda d: condition(d))


def test_annotate_in_a_browser_then_export(project, serve, browser):
    server = serve(project.root)
    _, token = project.store.add_annotator("reader")
    _, admin_token = project.store.add_annotator("boss", admin=True)

    browser.get(f"{server.url}/invite/{token}")
    wait(browser, lambda d: task_id(d) != "")
    marker = browser.find_element(By.ID, "marker-a")
    assert marker.text == "A" and marker.is_displayed()
    shown = []
    keys = ["1", "2", Keys.ARROW_LEFT, Keys.ARROW_RIGHT, "3", "2"]
    clicks = ["answer-A", "answer-B"]
    for n, action in enumerate(keys + clicks, start=1):
        shown.append(task_id(browser))
        if n <= len(keys):
            browser.find_element(By.TAG_NAME, "body").send_keys(action)
        else:
            browser.find_element(By.ID, action).click()
        wait(browser, lambda d, n=n: answered(d) == n and task_id(d) not in ("", shown[-1]))
    assert len(set(shown)) == 8

    browser.find_element(By.TAG_NAME, "body").send_keys("u")  # undo the 8th answer
    wait(browser, lambda d: answered(d) == 7 and task_id(d) == shown[-1])
    browser.refresh()
    wait(browser, lambda d: task_id(d) != "" and answered(d) == 7)
    me = project.store.authenticate(token).id
    mine = [r for r in project.store.judgements() if r.annotator_id == me]
    assert len(mine) == 7 and project.store.progress(me)["answered"] == 7

    browser.delete_all_cookies()
    browser.get(f"{server.url}/invite/{admin_token}")
    wait(browser, lambda d: d.find_elements(By.ID, "export"))
    assert "reader" in browser.page_source and "<svg" in browser.page_source
    Select(browser.find_element(By.ID, "aggregation")).select_by_value("majority")
    browser.find_element(By.ID, "export").click()
    wait(browser, lambda d: d.find_elements(By.ID, "exported"))
    (folder,) = (project.root / "exports").iterdir()
    data = open_dataset("diw", str(folder), split="train_val")
    got = {}
    for k in range(len(data)):
        sample = data[k]
        for pair, rel in zip(sample.pairs.tolist(), sample.relations.tolist(), strict=True):
            got[(sample.id.removeprefix("images/"), tuple(pair))] = rel
    pairs = {pid: (image.name, pair) for pid, image, pair in project.store.pairs()}
    expected = {
        pairs[r.pair_id]: ANSWER_TO_RELATION[r.answer]
        for r in mine
        if r.kind == "pair" and r.answer in ANSWER_TO_RELATION
    }
    assert expected and got == expected
