"""One sync run now: pull, plan, send; progress as it goes and a summary at the end."""

from django.core.management.base import BaseCommand, CommandError

from reconciliation import selectors
from reconciliation.models import Shop
from reconciliation.reporting import summary_lines
from reconciliation.services.posting import postings_send_due
from reconciliation.services.sync import shop_sync


class Command(BaseCommand):
    help = "Run one sync now for every active shop (or --shop CODE) and send what is ready to Xero."

    def add_arguments(self, parser):
        parser.add_argument("--shop", help="only this shop code")

    def handle(self, *args, shop: str | None = None, **options):
        shops = Shop.objects.filter(is_active=True).select_related("connection", "xero_connection")
        if shop:
            shops = shops.filter(code=shop)
            if not shops:
                raise CommandError(f"no active shop with code {shop!r}")
        failed = 0
        for row in shops:
            self.stdout.write(f"{row.code}: syncing")
            run = shop_sync(
                shop=row, progress=lambda msg, code=row.code: self.stdout.write(f"  {code}: {msg}")
            )
            if run.status != run.Status.DONE:
                failed += 1
                self.stderr.write(f"  {row.code}: sync failed: {run.error}")
        postings_send_due(progress=lambda msg: self.stdout.write(f"  {msg}"))
        for line in summary_lines(selectors.sync_summary(list(shops))):
            self.stdout.write(line)
        if failed:
            raise SystemExit(1)
