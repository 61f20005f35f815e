"""Set up the demo shop and Xero organisation in the sandboxes, run a sync, print a summary."""

from django.core.management.base import BaseCommand
from django.db.models import Count

from reconciliation import selectors
from reconciliation.demo.scenario import DEMO_PASSWORD, demo_build, demo_run, demo_users
from reconciliation.models import XeroAttempt, XeroPosting
from reconciliation.reporting import reconciliation_lines, summary_lines


class Command(BaseCommand):
    help = (
        "Run LedgerSync end to end against the built-in TikTok and Xero sandboxes (needs an empty database)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7)

    def handle(self, *args, days: int, **options):
        demo = demo_build(days=days)
        users = demo_users()
        self.stdout.write(f"Demo shop {demo.shop.code}: {days} daily statements in the TikTok sandbox")
        self.stdout.write(f"Xero sandbox lock date: {demo.xero.org.PeriodLockDate}")
        demo_run(demo)
        self.stdout.write("")
        for line in summary_lines(selectors.sync_summary([demo.shop])):
            self.stdout.write(line)
        self.stdout.write("")
        for line in reconciliation_lines(selectors.payout_reconciliation(demo.shop)):
            self.stdout.write(line)
        self.stdout.write("")
        self._audit(demo)
        self.stdout.write(f"Log in as {', '.join(users)} with password {DEMO_PASSWORD!r}")

    def _audit(self, demo) -> None:
        journals = len(demo.xero.manual_journals)
        statements_posted = XeroPosting.objects.filter(
            shop=demo.shop, kind=XeroPosting.Kind.MANUAL_JOURNAL, state=XeroPosting.State.POSTED
        ).count()
        by_status = dict(XeroAttempt.objects.values_list("status").annotate(n=Count("id")).order_by())
        self.stdout.write(
            f"Xero sandbox holds {journals} manual journals for {statements_posted} posted statements "
            f"and {len(demo.xero.bank_transactions)} bank transactions"
        )
        self.stdout.write(f"HTTP attempts audited: {sum(by_status.values())} by status {by_status}")
        self.stdout.write(f"Faults injected into Xero: {dict(demo.xero.faults.injected)}")
