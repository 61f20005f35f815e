"""Check `make demo` as a Finance user would, from outside: log in to the admin, approve the LOCK_DATE
item, time how long until its posting shows "Posted", and optionally screenshot that page with
headless Chromium. Standard library only; it talks HTTP to the running demo and nothing else.

    python -m reconciliation.demo.approval_check --base http://127.0.0.1:8000 --screenshot var/posted.png
"""

from __future__ import annotations

import argparse
import html
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

STATE = re.compile(r'field-state">.*?<div class="readonly">([^<]*)</div>', re.S)


class Admin:
    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.cookies = CookieJar()
        self.http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path: str) -> str:
        with self.http.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, form: dict) -> str:
        form = {"csrfmiddlewaretoken": self.cookie("csrftoken"), **form}
        request = urllib.request.Request(self.base + path, data=urlencode(form).encode(), method="POST")
        request.add_header("Referer", self.base + path)
        with self.http.open(request, timeout=30) as response:
            return response.read().decode()

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.cookies if c.name == name), "")

    def login(self, username: str, password: str) -> None:
        self.get("/admin/login/")
        page = self.post("/admin/login/", {"username": username, "password": password, "next": "/admin/"})
        if not self.cookie("sessionid"):
            raise SystemExit(f"login as {username} failed: {page[:200]}")


def lock_date_item(admin: Admin) -> tuple[int, int]:
    """(quarantine item id, posting id) of the open LOCK_DATE item."""
    listing = admin.get("/admin/reconciliation/quarantineitem/?reason__exact=LOCK_DATE&status__exact=open")
    found = re.search(r'name="_selected_action" value="(\d+)"', listing)
    if not found:
        raise SystemExit("no open LOCK_DATE item in the quarantine list")
    item = int(found[1])
    page = admin.get(f"/admin/reconciliation/quarantineitem/{item}/change/")
    return item, int(re.search(r"/admin/reconciliation/xeroposting/(\d+)/change/", page)[1])


def posting_state(admin: Admin, posting: int) -> str:
    page = admin.get(f"/admin/reconciliation/xeroposting/{posting}/change/")
    found = STATE.search(page)
    return html.unescape(found[1]).strip() if found else "?"


def screenshot(base: str, session: str, path: str, target: str) -> None:
    """Chromium cannot be handed a cookie on the command line, so it loads the page through a
    loopback proxy that adds the session cookie; the proxy stops when the screenshot is taken."""

    class Relay(BaseHTTPRequestHandler):
        def do_GET(self):
            request = urllib.request.Request(base + self.path, headers={"Cookie": f"sessionid={session}"})
            try:
                with urllib.request.urlopen(request, timeout=30) as upstream:
                    body, status, kind = upstream.read(), upstream.status, upstream.headers["Content-Type"]
            except urllib.error.HTTPError as exc:
                body, status, kind = exc.read(), exc.code, exc.headers["Content-Type"]
            self.send_response(status)
            self.send_header("Content-Type", kind or "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    relay = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(
                [
                    "chromium",
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    f"--user-data-dir={profile}",
                    "--window-size=1280,1000",
                    f"--screenshot={path}",
                    f"http://127.0.0.1:{relay.server_address[1]}{target}",
                ],
                check=True,
                timeout=60,
                capture_output=True,
            )
    finally:
        relay.shutdown()
        relay.server_close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="finance")
    parser.add_argument("--password", default="ledgersync-demo")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--screenshot", help="PNG of the posting's admin page once it is posted")
    args = parser.parse_args(argv)

    admin = Admin(args.base)
    admin.login(args.user, args.password)
    item, posting = lock_date_item(admin)
    print(f"LOCK_DATE item {item}, posting {posting}: {posting_state(admin, posting)}")
    decide = f"/admin/reconciliation/quarantineitem/{item}/decide/approve/"
    admin.get(decide)
    started = time.monotonic()
    admin.post(decide, {"document_date": "", "apply": "yes"})
    approved = time.monotonic()
    state = posting_state(admin, posting)
    while state != "Posted" and time.monotonic() - started < args.timeout:
        time.sleep(0.1)
        state = posting_state(admin, posting)
    elapsed = time.monotonic() - started
    print(
        f"approve request {approved - started:.2f} s; posting {posting} {state!r} {elapsed:.2f} s after approving"
    )
    if state != "Posted":
        return 1
    if args.screenshot:
        screenshot(
            admin.base,
            admin.cookie("sessionid"),
            args.screenshot,
            f"/admin/reconciliation/xeroposting/{posting}/change/",
        )
        print(f"screenshot: {args.screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
