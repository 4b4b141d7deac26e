"""Pages tested as people use them: the real application on a real socket, Debian's Chromium driven by Playwright.

- ``server``: the test application (its database is the test database) served by werkzeug on 127.0.0.1 in a
  thread, for one test; ``server.url(tenant, "/login")`` is a tenant's address under ``/t/<slug>/``.
- ``browser``: one headless Chromium for the session (``/usr/bin/chromium``: Playwright's own browser builds are
  never downloaded). Without it the tests skip, except on CI (``CI`` set), where they fail: .ci/run installs it.
- ``page``: a fresh browser context and page per test, desktop size (1280 px); ``phone_page``: 360 px wide, as
  a worker's phone inside WeChat.
- ``shoot(page, name)``: saves a screenshot to ``docs/screenshots/<name>.png`` for the user guide.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path(os.environ.get("GONGHUI_TEST_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


@dataclass
class Server:
    base: str

    def url(self, tenant=None, path: str = "/") -> str:
        prefix = f"/t/{tenant.slug}" if tenant is not None else ""
        return f"{self.base}{prefix}{path}"


@pytest.fixture
def server(app):
    """The test application on a real socket, for the length of one test."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="pages-server", daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{httpd.server_port}")
    httpd.shutdown()
    thread.join(timeout=5)
    httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless"])
        yield chromium
        chromium.close()


def _page(browser, viewport, **options):
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    return context, page


@pytest.fixture
def page(browser):
    context, page = _page(browser, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser):
    context, page = _page(browser, PHONE, is_mobile=True, has_touch=True)
    yield page
    context.close()


@pytest.fixture
def shoot():
    """``shoot(page, "login-yichang-desktop")``: the whole page as docs/screenshots/<name>.png."""

    def save(page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
        return path

    return save


from tests.pages.kit import cities  # noqa: E402,F401  (a fixture of every page test)
