"""Take the README's screenshots from a running `make demo` (Playwright driving Debian's Chromium).

    make demo                      # in one terminal; wait for "Admin: http://127.0.0.1:8000/admin/"
    .venv/bin/python docs/screenshots/take.py [http://127.0.0.1:8000]

Each picture is what a role sees at 1400 px. The map-import picture uploads a component sheet with
two bad rows (nothing is imported: the preview refuses it).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).parent
PASSWORD = "ledgersync-demo"
BAD_SHEET = (
    "channel,shop,component,account_code,tax_type,description\n"
    "tiktok,demo-us,fee.transaction_fee_amount,6100,,Fees\n"
    "tiktok,demo-us,fee.affiliate_commission_amount,9999,,Commission\n"
    "tiktok,demo-us,fee.shipping_fee_amount,6100,NOSUCHTAX,Shipping fees\n"
)


def main(base: str) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        finance = _signed_in(browser, base, "finance")
        _shot(finance, base + "/admin/", "dashboard")
        finance.locator("tr", has_text="waiting for").first.get_by_role("link").last.click()
        finance.wait_for_load_state()
        _shot(finance, None, "payout")
        _shot(finance, base + "/admin/reconciliation/quarantineitem/", "finance-queue")
        operations = _signed_in(browser, base, "operations")
        with tempfile.TemporaryDirectory() as folder:
            sheet = Path(folder) / "components.csv"
            sheet.write_text(BAD_SHEET)
            operations.goto(base + "/admin/reconciliation/componentmapping/import/")
            operations.select_option("select[name=format]", label="csv")
            operations.set_input_files("input[name=import_file]", str(sheet))
            operations.locator("#content input[type=submit], #content button[type=submit]").first.click()
            operations.wait_for_load_state()
            _shot(operations, None, "map-import-errors")
        _shot(operations, base + "/admin/connections/", "connections")
        browser.close()


def _signed_in(browser, base: str, user: str):
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.goto(base + "/admin/login/")
    page.fill("#id_username", user)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    return page


def _shot(page, url: str | None, name: str) -> None:
    if url:
        page.goto(url)
        page.wait_for_load_state()
    page.screenshot(path=str(HERE / f"{name}.png"))
    print(f"{name}.png: {page.url}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
