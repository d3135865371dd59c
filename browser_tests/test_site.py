"""Open the built site in headless Chromium and check what a reader would see.

Run with ``nox -s browser`` after ``nox -s docs``. The pages are served from
``docs/_build/html`` on 127.0.0.1; screenshots go to ``docs/_build/screenshots``.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright import sync_api as playwright_api

HTML = Path(__file__).parents[1] / "docs" / "_build" / "html"
SCREENSHOTS = Path(__file__).parents[1] / "docs" / "_build" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PAGES = {
    "landing": "index.html",
    "notes": "notes/linear_regression.html",
    "regression": "auto_examples/regression/plot_linear_regression_autograd.html",
    "classification": "auto_examples/classification/plot_argmax_softmax.html",
    "language": "auto_examples/language/plot_mlp_language_model.html",
    "times": "sg_execution_times.html",
    "exercises": "auto_examples/basics/plot_basics_exercises.html",
}
PAGES_WITH_MATH = {"notes", "regression", "classification"}
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "mobile": {"width": 390, "height": 844}}


def require(condition: bool, message: str) -> None:
    """Fail, never skip, when the check cannot run: CI must not pass it silently."""
    if not condition:
        pytest.fail(message, pytrace=False)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging every request."""

    def log_message(self, format, *args):
        """Stay quiet."""


@pytest.fixture(scope="module")
def site_url():
    require(HTML.joinpath("index.html").exists(), "build the site first: nox -s docs")
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


# No sandbox (CI runs as root), no GPU, and no background requests to Google's servers.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    require(
        shutil.which(CHROMIUM) is not None,
        f"no Chromium at {CHROMIUM}: on Debian, apt-get install chromium, or set CHROMIUM",
    )
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_FLAGS,
        )
        yield browser
        browser.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("page_name", PAGES)
def test_page(browser, site_url, page_name, viewport):
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    console_errors, outside_requests, failed = [], [], []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.on("requestfailed", lambda request: failed.append(request.url))

    def only_local(route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", None):
            route.continue_()
        else:
            outside_requests.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(site_url + PAGES[page_name], wait_until="networkidle")

    if page_name in PAGES_WITH_MATH:
        page.wait_for_selector("mjx-container", timeout=15_000)
        page.wait_for_function(
            "() => !window.MathJax || !MathJax.startup || MathJax.startup.promise", timeout=15_000
        )
        page.evaluate("() => window.MathJax?.startup?.promise")
        typeset = page.locator("mjx-container").count()
        assert typeset > 0, "no math was typeset"
        text = page.locator("article").inner_text()
        for raw in ("\\(", "\\[", "$$"):
            assert raw not in text, f"raw TeX {raw!r} left on the page"

    images = page.evaluate(
        "() => Array.from(document.images).map(i => [i.currentSrc, i.complete, i.naturalWidth])"
    )
    broken = [src for src, complete, width in images if not complete or width == 0]
    assert not broken, f"images that did not load: {broken}"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{page_name}-{viewport}.png", full_page=True)
    context.close()

    assert not outside_requests, f"requests that left 127.0.0.1: {outside_requests}"
    assert not failed, f"requests that failed: {failed}"
    assert not console_errors, f"console errors: {console_errors}"


def test_a_solution_opens_with_the_keyboard_and_not_before(browser, site_url):
    page = browser.new_page()
    page.goto(site_url + PAGES["exercises"], wait_until="networkidle")
    dropdowns = page.locator("details.sd-dropdown")
    require(dropdowns.count() >= 8, "the exercise page should have a hint and a solution each")
    solution = dropdowns.filter(has_text="Solution").first
    code = solution.locator("pre").first
    assert solution.get_attribute("open") is None, "a solution is open before it is asked for"
    assert not code.is_visible(), "the solution's code shows while the dropdown is closed"
    summary = solution.locator("summary")
    summary.focus()
    assert page.evaluate("() => document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    assert solution.get_attribute("open") is not None, "Enter did not open the solution"
    assert code.is_visible()
    assert "return" in code.inner_text()
    page.keyboard.press("Enter")
    assert solution.get_attribute("open") is None, "Enter did not close it again"
    page.close()
