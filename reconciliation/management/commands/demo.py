"""Set up the demo shops (statement journal, order invoices) and their Xero organisations in the
sandboxes, run the syncs, print a summary.

Without --live everything runs in this process (the in-process sandboxes; tests use this). With
--live (`make demo`) the sandboxes are HTTP servers, a django-q2 cluster runs the tasks and the
admin is served, until Ctrl-C stops them all (reconciliation/demo/live.py).
"""

import os
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count
from django_q.conf import Conf

from connectors.sandbox_server import state_load, state_save
from reconciliation import selectors, transports
from reconciliation.demo import live
from reconciliation.demo.scenario import (
    DEMO_PASSWORD,
    demo_build,
    demo_faults,
    demo_orders_later,
    demo_run,
    demo_users,
)
from reconciliation.models import XeroAttempt, XeroPosting
from reconciliation.reporting import order_document_lines, reconciliation_lines, summary_lines


class Command(BaseCommand):
    help = (
        "Run LedgerSync end to end against the built-in TikTok and Xero sandboxes (needs an empty database). "
        "--live serves them over HTTP with a django-q2 cluster and the admin until Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7)
        parser.add_argument("--live", action="store_true", help="sandbox servers, cluster and admin")
        parser.add_argument("--web-port", type=int, default=8000)
        parser.add_argument("--xero-port", type=int, default=8101)
        parser.add_argument("--tiktok-port", type=int, default=8102)

    def handle(
        self, *args, days: int, live: bool, web_port: int, xero_port: int, tiktok_port: int, **options
    ):
        if live:
            return self._live(days, live_ports(web_port, xero_port, tiktok_port))
        demo = demo_build(days=days)
        users = demo_users()
        self._intro(demo, days)
        demo_run(demo)
        self._summary(demo, demo.xero)
        self.stdout.write(f"Log in as {', '.join(users)} with password {DEMO_PASSWORD!r}")

    def _intro(self, demo, days: int) -> None:
        self.stdout.write(
            f"Demo shop {demo.shop.code} ({demo.shop.currency}): {days} daily statements in the TikTok sandbox"
        )
        self.stdout.write(f"Xero sandbox lock date: {demo.xero.org.PeriodLockDate}")
        if demo.orders is not None:
            self.stdout.write(
                f"Demo shop {demo.orders.shop.code} ({demo.orders.shop.currency}, posting mode order invoices): "
                f"{len(demo.orders.orders)} "
                f"orders, then a cancellation, a return and a second statement, in its own Xero "
                f"organisation {demo.orders.xero.org.Name!r}"
            )

    def _summary(self, demo, xero) -> None:
        self.stdout.write("")
        for line in summary_lines(selectors.sync_summary([demo.shop])):
            self.stdout.write(line)
        self.stdout.write("")
        for line in reconciliation_lines(selectors.payout_reconciliation(demo.shop)):
            self.stdout.write(line)
        self.stdout.write("")
        journals = len(xero.manual_journals)
        statements_posted = XeroPosting.objects.filter(
            shop=demo.shop, kind=XeroPosting.Kind.MANUAL_JOURNAL, state=XeroPosting.State.POSTED
        ).count()
        self.stdout.write(
            f"Xero sandbox holds {journals} manual journals for {statements_posted} posted statements "
            f"and {len(xero.bank_transactions)} bank transactions"
        )
        self.stdout.write(_attempts(demo.shop))
        self.stdout.write(f"Faults injected into Xero: {faults_in_words(xero.faults.injected)}")
        if demo.orders is not None:
            self._order_summary(demo.orders.shop, xero.organisations[demo.orders.xero.tenant_id])

    def _order_summary(self, shop, org) -> None:
        """The order-invoices shop: what it posted and how each payout went through clearing."""
        self.stdout.write("")
        self.stdout.write(
            f"Order shop {shop.code} (posting mode order invoices, {shop.currency}, "
            f"Xero organisation {org.org.Name!r})"
        )
        for line in summary_lines(selectors.sync_summary([shop])):
            self.stdout.write(line)
        for line in order_document_lines(selectors.posted_by_purpose(shop)):
            self.stdout.write(line)
        self.stdout.write("")
        for line in reconciliation_lines(selectors.payout_reconciliation(shop)):
            self.stdout.write(line)
        self.stdout.write("")
        self.stdout.write(
            f"Its Xero organisation holds {len(org.invoices)} invoices, {len(org.credit_notes)} credit notes, "
            f"{len(org.payments)} payments, {len(org.manual_journals)} manual journals and "
            f"{len(org.bank_transactions)} bank transactions"
        )
        self.stdout.write(_attempts(shop))

    # -- make demo ------------------------------------------------------------------------------
    def _live(self, days: int, ports: live.Ports) -> None:
        environment = ports.environment()
        os.environ.update(environment)
        Conf.SYNC = False  # the cluster runs the tasks, whatever Q_SYNC says
        for name in environment:
            setattr(settings, name, environment[name])
        demo = demo_build(days=days)
        # The apps the Connections page offers: the sandboxes' own (their values are no secret).
        demo.tiktok.registered_redirect = ports.tiktok_callback()
        os.environ.update(
            XERO_CLIENT_ID="demo-client",
            XERO_CLIENT_SECRET="demo-secret",
            TIKTOK_APP_KEY=demo.tiktok.app_key,
            TIKTOK_APP_SECRET=demo.tiktok.app_secret,
            TIKTOK_SERVICE_ID=demo.tiktok.service_id,
        )
        transports.uninstall_all()  # every process, this one included, goes through the servers
        users = demo_users()
        demo_faults(demo)
        files = {"xero": live.state_dir() / "xero.pickle", "tiktok": live.state_dir() / "tiktok.pickle"}
        state_save("xero", demo.xero, files["xero"])
        state_save("tiktok", demo.tiktok, files["tiktok"])
        if connection.vendor == "sqlite":  # readers do not wait for the workers' writes
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode=WAL")
        live.schedules_defer()
        self._intro(demo, days)
        processes = live.Processes(env=dict(os.environ), log_dir=settings.BASE_DIR / "var" / "demo-logs")
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)
        try:
            self._start(processes, ports, files)
            self.stdout.write("Running the sync through the django-q2 cluster ...")
            live.scenario_run(demo.shop.pk)
            if demo.orders is not None:
                self._orders_live(demo, processes, ports, files)
            self._summary(demo, state_load("xero", files["xero"]))
            self._instructions(ports, users)
            self._watch(processes)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping ...")
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            # a second signal (make passes one on to its process group) must not cut the stop short
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            processes.stop()
            left = [name for name, child in processes.children.items() if child.poll() is None]
            self.stdout.write(
                f"Stopped {', '.join(processes.children)}" + (f"; still running: {left}" if left else "")
            )

    def _orders_live(self, demo, processes: live.Processes, ports: live.Ports, files: dict) -> None:
        """The order shop's two rounds through the cluster. Between them TikTok moves on: the TikTok
        sandbox server is stopped (it saves its state), the cancellation, the return and statement 2
        are added to that state, and the server serves it again (DESIGN.md 7: state survives a restart)."""
        self.stdout.write(f"Running {demo.orders.shop.code}'s first sync through the cluster ...")
        live.scenario_run(demo.orders.shop.pk)
        processes.stop_one("tiktok-sandbox")
        tiktok = state_load("tiktok", files["tiktok"])
        demo_orders_later(tiktok, demo.orders)
        state_save("tiktok", tiktok, files["tiktok"])
        self._start_tiktok(processes, ports, files)
        live.wait_for_ports(processes, {"tiktok-sandbox": ports.tiktok})
        self.stdout.write(
            "TikTok moved on (a cancellation, a return, statement 2); the second sync through the cluster ..."
        )
        live.scenario_run(demo.orders.shop.pk)

    def _start_tiktok(self, processes: live.Processes, ports: live.Ports, files: dict) -> None:
        processes.start(
            "tiktok-sandbox",
            "sandbox_serve",
            "tiktok",
            "--port",
            str(ports.tiktok),
            "--state",
            str(files["tiktok"]),
        )

    def _start(self, processes: live.Processes, ports: live.Ports, files: dict) -> None:
        processes.start(
            "xero-sandbox", "sandbox_serve", "xero", "--port", str(ports.xero), "--state", str(files["xero"])
        )
        self._start_tiktok(processes, ports, files)
        processes.start("qcluster", "qcluster")
        processes.start("web", "runserver", "--noreload", f"127.0.0.1:{ports.web}")
        live.wait_for_ports(
            processes, {"xero-sandbox": ports.xero, "tiktok-sandbox": ports.tiktok, "web": ports.web}
        )
        self.stdout.write(
            f"Started: admin http://127.0.0.1:{ports.web}/admin/, Xero sandbox http://127.0.0.1:{ports.xero}, "
            f"TikTok sandbox http://127.0.0.1:{ports.tiktok}, django-q2 cluster (logs in {processes.log_dir})"
        )

    def _instructions(self, ports: live.Ports, users: list[str]) -> None:
        self.stdout.write("")
        self.stdout.write(f"Admin: http://127.0.0.1:{ports.web}/admin/  (Ctrl-C stops everything)")
        self.stdout.write(f"Log in as {', '.join(users)} with password {DEMO_PASSWORD!r}")
        self.stdout.write(
            "As finance, open Quarantine items, approve the LOCK_DATE item: the cluster posts it to the "
            "Xero sandbox within seconds (Xero postings, state 'posted')."
        )
        self.stdout.write(
            f"As operations, open Connections (http://127.0.0.1:{ports.web}/admin/connections/) to "
            "reconnect a Xero organisation or re-authorise a TikTok shop through the sandboxes' consent pages."
        )
        self.stdout.flush()

    def _watch(self, processes: live.Processes) -> None:
        while True:
            time.sleep(1)
            if dead := processes.dead():
                raise CommandError(f"{', '.join(dead)} stopped; see {processes.log_dir}")


def _attempts(shop) -> str:
    """The shop's Xero organisation's audited HTTP attempts (token calls included), by status."""
    attempts = XeroAttempt.objects.filter(connection=shop.xero_connection)
    by_status = dict(attempts.values_list("status").annotate(n=Count("id")).order_by())
    return f"HTTP attempts audited: {sum(by_status.values())}{statuses_in_words(by_status)}"


def statuses_in_words(by_status: dict[int | None, int]) -> str:
    """' (200: 14, 500: 1, no answer: 1)': HTTP statuses in order, attempts that got no answer last."""
    if not by_status:
        return ""
    answered = sorted((status, n) for status, n in by_status.items() if status is not None)
    parts = [f"{status}: {n}" for status, n in answered]
    if by_status.get(None):
        parts.append(f"no answer: {by_status[None]}")
    return f" ({', '.join(parts)})"


def faults_in_words(injected: dict[str, int]) -> str:
    """'1 timeout after write, 1 server error', or 'none'."""
    faults = [f"{n} {name.replace('_', ' ')}" for name, n in injected.items() if n]
    return ", ".join(faults) or "none"


def live_ports(web: int, xero: int, tiktok: int) -> live.Ports:
    ports = live.Ports(web=web, xero=xero, tiktok=tiktok)
    busy = [port for port in (web, xero, tiktok) if not live.port_free(port)]
    if busy:
        raise CommandError(f"port(s) {busy} already in use on 127.0.0.1 (set PORT, XERO_PORT, TIKTOK_PORT)")
    return ports


def _interrupt(signum, frame):
    raise KeyboardInterrupt
