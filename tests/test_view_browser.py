"""``agot view`` in a real browser: headless Chromium driven by Selenium clicks through the runs
list, a run, an item with a nested graph, a saved trace and the compare page of a live server,
then through the one-file export opened from disk, and asserts on what is on screen.

Screenshots of every page go to a folder printed at the start (``AGOT_SCREENSHOTS`` picks it).
The tests skip only when no Chromium binary is installed (``apt-get install chromium
chromium-driver``).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)
pytestmark = [
    pytest.mark.slow,  # a headless browser
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium binary (apt-get install chromium chromium-driver)"
    ),
]


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("AGOT_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nagot view screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def server(runs_root: Path) -> Iterator[str]:
    import uvicorn

    from agot.view.app import create_app
    from agot.view.data import Catalog

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(Catalog([runs_root])), host="127.0.0.1", port=port, log_level="warning"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "the viewer did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver_path = shutil.which("chromedriver")
    service = Service(driver_path) if driver_path else Service()
    driver = webdriver.Chrome(options=options, service=service)
    driver.implicitly_wait(2)
    yield driver
    driver.quit()


def _shot(driver, folder: Path, name: str) -> None:
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1400, min(max(height + 40, 800), 6000))
    driver.save_screenshot(str(folder / f"{name}.png"))
    driver.set_window_size(1400, 1000)


def test_click_through_runs_run_item_trace_and_compare(server, browser, shots):
    from selenium.webdriver.common.by import By

    d = browser
    d.get(server + "/")
    rows = d.find_elements(By.CSS_SELECTOR, "#runs-table tbody tr")
    assert {r.get_attribute("data-run") for r in rows} == {"agot-vs-cot", "cot-again"}
    first = d.find_element(By.CSS_SELECTOR, 'tr[data-run="agot-vs-cot"]').text
    assert "hotpotqa/distractor" in first and "agot" in first and "cot" in first
    assert "0.750 [0.250, 1.000]" in first  # scores carry their intervals
    assert "sky.json" in d.find_element(By.ID, "trace-list").text
    _shot(d, shots, "1-runs")

    # a run: groups, paired comparison, plots, then sorting and filtering the item table
    d.find_element(By.LINK_TEXT, "agot-vs-cot").click()
    # the click navigates: wait until the new page is the one shown
    _until(d, lambda d: d.find_element(By.TAG_NAME, "h1").text == "agot-vs-cot")
    groups = {
        r.get_attribute("data-group")
        for r in d.find_elements(By.CSS_SELECTOR, "#groups-table tbody tr")
    }
    assert groups == {"agot", "cot"}
    assert "agot" in d.find_element(By.ID, "paired-table").text
    assert len(d.find_elements(By.CSS_SELECTOR, "svg.plot-tradeoff circle.point")) == 2
    assert len(d.find_elements(By.CSS_SELECTOR, "svg.plot-histogram path.series")) == 2
    table = d.find_element(By.ID, "items-table")
    assert len(table.find_elements(By.CSS_SELECTOR, "tbody tr")) == 8
    em_header = table.find_elements(By.CSS_SELECTOR, "thead th")[5]
    em_header.click()  # ascending: misses first
    first_score = table.find_element(By.CSS_SELECTOR, "tbody tr td:nth-child(6)").text
    em_header.click()  # descending: hits first
    assert (first_score, table.find_element(By.CSS_SELECTOR, "tbody tr td:nth-child(6)").text) == (
        "0.000",
        "1.000",
    )
    search = d.find_element(By.CSS_SELECTOR, '[data-filter-for="items-table"] input[type=search]')
    search.send_keys("hp0003")
    visible = [r for r in table.find_elements(By.CSS_SELECTOR, "tbody tr") if r.is_displayed()]
    assert len(visible) == 2 and all("hp0003" in r.text for r in visible)
    _shot(d, shots, "2-run")

    # an AGoT item: facts, the top graph, a nested graph unfolded, the timeline, a call's text
    agot_row = next(r for r in visible if "\tagot" in "\t" + r.text.replace(" ", "\t"))
    agot_row.find_element(By.CSS_SELECTOR, "a.item-link").click()
    _until(d, lambda d: "hp0003" in d.find_element(By.TAG_NAME, "h1").text)
    assert "founder of Brightwater Press" in d.find_element(By.ID, "question").text
    assert d.find_element(By.ID, "gold").text == "1877"
    assert d.find_element(By.ID, "prediction").text == "1875"
    assert "em = 0.000" in d.find_element(By.ID, "scores").text
    top = d.find_element(By.ID, "graph-top")
    assert top.find_elements(By.CSS_SELECTOR, "g#n_2") and not top.find_elements(
        By.CSS_SELECTOR, "g#n_2_1"
    )
    nested = d.find_element(By.CSS_SELECTOR, 'details.nested[data-node="2"]')
    inner = nested.find_element(By.CSS_SELECTOR, ".graph")
    assert not inner.is_displayed()
    nested.find_element(By.TAG_NAME, "summary").click()
    assert inner.is_displayed() and inner.find_elements(By.CSS_SELECTOR, "g#n_2_1")
    bars = d.find_elements(By.CSS_SELECTOR, "#timeline g.call")
    critical = [b for b in bars if b.get_attribute("data-critical") == "true"]
    assert len(bars) > 10 and 1 < len(critical) < len(bars)
    call = d.find_element(By.CSS_SELECTOR, "details.call")
    call.find_element(By.TAG_NAME, "summary").click()
    prompts = call.find_elements(By.CSS_SELECTOR, "pre.prompt")
    assert all(p.is_displayed() for p in prompts)
    assert "Brightwater Press" in prompts[-1].text  # the user message holds the question
    assert call.find_element(By.CSS_SELECTOR, "pre.completion").text.startswith("{")
    _shot(d, shots, "3-item-nested")

    # a saved trace from agot solve --trace
    d.get(server + "/")
    d.find_element(By.CSS_SELECTOR, "a.trace-link").click()
    assert "Why is the sky blue?" in d.find_element(By.ID, "question").text
    assert d.find_elements(By.CSS_SELECTOR, 'details.nested[data-node="2"]')
    _shot(d, shots, "4-trace")

    # compare two runs: pick both, see the flipped items
    d.get(server + "/")
    for box in d.find_elements(By.CSS_SELECTOR, 'input[name="run"]'):
        box.click()
    d.find_element(By.ID, "compare-button").click()
    # the click navigates: wait until the new page is the one shown
    _until(d, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Compare")
    assert "2 of 4 items flipped" in d.find_element(By.ID, "flip-count").text
    d.find_element(By.ID, "flipped-only").click()
    shown = [
        r.find_element(By.TAG_NAME, "td").text
        for r in d.find_elements(By.CSS_SELECTOR, "#compare-table tbody tr")
        if r.is_displayed()
    ]
    assert sorted(shown) == ["hp0001", "hp0003"]
    # a flipped row keeps its cells' score colours (green hit, red miss)
    hit = d.find_element(By.CSS_SELECTOR, '#compare-table tr[data-flipped="1"] td.score-1')
    miss = d.find_element(By.CSS_SELECTOR, '#compare-table tr[data-flipped="1"] td.score-0')
    assert hit.value_of_css_property("background-color") == "rgba(232, 245, 233, 1)"
    assert miss.value_of_css_property("background-color") == "rgba(255, 235, 238, 1)"
    _shot(d, shots, "5-compare")


def test_the_export_works_from_a_file(runs_root, browser, shots, tmp_path):
    from selenium.webdriver.common.by import By

    from agot.cli import main

    target = tmp_path / "share" / "runs.html"
    assert main(["view", str(runs_root), "--export", str(target)]) == 0
    html = target.read_text()
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing fetched
    d = browser
    d.get(target.as_uri())
    assert d.find_element(By.ID, "runs").is_displayed()
    # Pages switch on hashchange in the page's script: wait for each switch, then check it.
    d.find_element(By.LINK_TEXT, "cot-again").click()
    _until(d, lambda d: d.find_element(By.ID, "run-cot-again").is_displayed())
    page = d.find_element(By.ID, "run-cot-again")
    assert page.is_displayed() and not d.find_element(By.ID, "runs").is_displayed()
    page.find_element(By.CSS_SELECTOR, "a.item-link").click()
    _until(d, lambda d: d.find_element(By.ID, "item-cot-again-0").is_displayed())
    assert d.current_url.endswith("#item-cot-again-0")
    item = d.find_element(By.ID, "item-cot-again-0")  # unpacked from its packed copy
    assert item.find_element(By.ID, "question").text.startswith("Which")
    bar = item.find_element(By.CSS_SELECTOR, "#timeline g.call")
    call = item.find_element(By.ID, "call-" + bar.get_attribute("data-call"))
    d.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", bar)
    assert call.get_attribute("open") is not None  # the page's script wired it up
    _shot(d, shots, "6a-export-item")
    d.back()
    _until(d, lambda d: d.find_element(By.ID, "run-cot-again").is_displayed())
    d.find_element(By.ID, "nav-compare").click()
    _until(d, lambda d: d.find_element(By.ID, "compare").is_displayed())
    assert "items flipped" in d.find_element(By.CSS_SELECTOR, "#compare #flip-count").text
    _shot(d, shots, "6-export-compare")


def _until(driver, condition, timeout: float = 10.0) -> None:
    """Wait for ``condition(driver)``; a TimeoutException fails the test with the page state.

    While a click navigates, an element found on the old page can go stale before it is read:
    that is the navigation still under way, so the wait polls again rather than failing.
    """
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        condition
    )


def test_info_section_call_groups_and_the_log_plot_on_screen(server, browser, shots):
    from selenium.webdriver.common.by import By

    d = browser
    d.get(server + "/")
    row = d.find_element(By.CSS_SELECTOR, 'tr[data-run="agot-vs-cot"]')
    assert row.get_attribute("data-status") == "finished" and "finished" in row.text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row.text)  # when it started
    d.get(server + "/run/agot-vs-cot")
    info = d.find_element(By.ID, "run-info")
    settings = info.find_element(By.ID, "strategy-settings")
    assert not settings.is_displayed()
    info.find_element(By.TAG_NAME, "summary").click()
    assert settings.is_displayed()
    agot_row = settings.find_element(By.CSS_SELECTOR, 'tr[data-strategy="agot"]').text
    assert "max_depth=1" in agot_row and "temperature=0.3" in agot_row
    assert "agot version" in d.find_element(By.ID, "run-fields").text
    labels = [t.text for t in d.find_elements(By.CSS_SELECTOR, "svg.plot-tradeoff .point-label")]
    assert sorted(labels) == ["agot", "cot"]
    _shot(d, shots, "7-run-info")

    # the agot item: calls grouped by thought, a bar and its call linked
    d.get(server + "/run/agot-vs-cot")
    d.find_element(By.CSS_SELECTOR, '[data-filter-for="items-table"] input').send_keys("hp0003")
    link = next(
        r.find_element(By.CSS_SELECTOR, "a.item-link")
        for r in d.find_elements(By.CSS_SELECTOR, "#items-table tbody tr")
        if r.is_displayed() and "agot" in r.text.split()
    )
    link.click()
    _until(d, lambda d: "hp0003" in d.find_element(By.TAG_NAME, "h1").text)
    groups = d.find_elements(By.CSS_SELECTOR, "section.call-group")
    titles = [g.find_element(By.TAG_NAME, "h3").text for g in groups]
    assert any(t.startswith("thought 2:") for t in titles) and len(groups) > 2
    bar = d.find_element(By.CSS_SELECTOR, "#timeline g.call")
    target = d.find_element(By.ID, "call-" + bar.get_attribute("data-call"))
    assert target.get_attribute("open") is None
    d.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", bar)
    assert target.get_attribute("open") is not None
    _shot(d, shots, "8-item-groups")


@pytest.mark.parametrize("path", ["/", "/run/agot-vs-cot", "/compare"])
def test_narrow_windows_keep_the_page_inside_the_window(server, browser, shots, path):
    from selenium.webdriver.common.by import By

    d = browser
    d.set_window_size(1024, 900)
    try:
        d.get(server + path)
        width = d.execute_script("return document.documentElement.clientWidth")
        page = d.execute_script("return document.documentElement.scrollWidth")
        assert page <= width, f"{path}: the page is {page} px wide in a {width} px window"
        for cell in d.find_elements(By.CSS_SELECTOR, ".est"):  # intervals stay on one line
            if cell.is_displayed():
                assert cell.size["height"] < 24, cell.text
        name = {"/": "runs", "/run/agot-vs-cot": "run", "/compare": "compare"}[path]
        height = d.execute_script("return document.body.scrollHeight")
        d.set_window_size(1024, min(max(height + 40, 700), 5000))
        d.save_screenshot(str(shots / f"9-narrow-{name}.png"))
    finally:
        d.set_window_size(1400, 1000)


def test_item_keys_walk_the_items_and_calls_show_sampling_and_schema(server, browser, shots):
    """#31 item 11: j/k (or the arrow keys) go to the next/previous item, u back to the run;
    each call shows its sampling parameters and reply schema."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    d = browser
    d.get(server + "/run/agot-vs-cot/item/1")
    body = d.find_element(By.TAG_NAME, "body")
    first = d.find_element(By.TAG_NAME, "h1").text
    call = d.find_element(By.CSS_SELECTOR, "details.call")
    call.find_element(By.TAG_NAME, "summary").click()
    assert "temperature" in call.find_element(By.CSS_SELECTOR, ".call-params").text
    _shot(d, shots, "10-item-call-params")
    body.send_keys("j")
    _until(d, lambda d: d.current_url.endswith("/item/2"))
    assert d.find_element(By.TAG_NAME, "h1").text != first
    d.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    _until(d, lambda d: d.current_url.endswith("/item/1"))
    d.find_element(By.TAG_NAME, "body").send_keys("u")
    _until(d, lambda d: d.current_url.endswith("/run/agot-vs-cot"))


@pytest.mark.parametrize("copies", [3, 6])
def test_compare_with_many_columns_fits_1400_px(runs_root, browser, shots, tmp_path, copies):
    """#31 item 13: 6 and 12 columns (3 and 6 copies of a two-strategy run) compare without
    a sideways scroll in a 1,400 px window; run-against-run differences are on the page."""
    from starlette.testclient import TestClient

    from agot.view.app import create_app
    from agot.view.data import Catalog

    root = tmp_path / "runs"
    names = [f"agot-vs-cot-copy-{i}" for i in range(copies)]
    for name in names:
        shutil.copytree(runs_root / "agot-vs-cot", root / name)
    client = TestClient(create_app(Catalog([root])), base_url="http://127.0.0.1:7576")
    page = client.get("/compare?" + "&".join(f"run={n}" for n in names)).text
    assert page.count('<th data-sort title="') == 2 * copies
    (tmp_path / "compare.html").write_text(page)
    d = browser
    d.set_window_size(1400, 1000)
    d.get((tmp_path / "compare.html").as_uri())
    width = d.execute_script("return document.documentElement.clientWidth")
    wide = d.execute_script(
        "var t = document.getElementById('compare-table'); return t.parentNode.scrollWidth"
    )
    page_w = d.execute_script("return document.documentElement.scrollWidth")
    assert page_w <= width and wide <= width, (page_w, wide, width)
    assert d.find_element("id", "compare-paired").is_displayed()
    _shot(d, shots, f"11-compare-{2 * copies}-columns")
