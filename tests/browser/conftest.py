"""Browser tests: Playwright driving Debian's Chromium (headless) against pytest-django's
live_server, with django-q2 inline (tests/conftest.py) so a decision's send happens at once and
the Xero sandbox answers in-process. Without chromium or the playwright package they skip with the
reason, except under CI=true, where they fail (`need`)."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import need

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "browser-artifacts"
PASSWORD = "x"  # tests/reconciliation/test_admin.py staff() users' password
VIEWPORT = {"width": 1400, "height": 1000}


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    executable = shutil.which("chromium")
    need(executable is not None, "chromium is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright package is not installed (pip install -r requirements-dev.txt)")
        raise
    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM calls
    # are still synchronous, so Django's async-safety check must not refuse them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # the rest of the suite keeps the check


@pytest.fixture
def browse(chromium, live_server):
    """browse(user) -> a page signed in as `user` through the real login form, 1400 x 1000."""
    contexts = []

    def open_as(user):
        context = chromium.new_context(viewport=VIEWPORT)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")
        return page

    yield open_as
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:
    """Saves the whole page under var/browser-artifacts/ and prints where."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def text(page) -> str:
    return " ".join(page.inner_text("body").split())


def follow(page, locator) -> None:
    """Clicks a link or button and waits for the page it opens."""
    with page.expect_navigation():
        locator.click()
