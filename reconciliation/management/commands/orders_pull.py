"""Orders in, now: pull TikTok orders, returns and cancellations for TikTok shops; plans nothing."""

from django.core.management.base import BaseCommand, CommandError

from connectors.errors import ConnectorError
from reconciliation.models import Shop
from reconciliation.services.orders import orders_pull


class Command(BaseCommand):
    help = "Pull TikTok orders, returns and cancellations changed since each shop's cursor (or --shop CODE)."

    def add_arguments(self, parser):
        parser.add_argument("--shop", help="only this shop code")

    def handle(self, *args, shop: str | None = None, **options):
        shops = Shop.objects.filter(is_active=True, channel="tiktok").select_related("connection")
        if shop:
            shops = shops.filter(code=shop)
            if not shops:
                raise CommandError(f"no active TikTok shop with code {shop!r}")
        failed = 0
        for row in shops:
            try:
                counts = orders_pull(shop=row)
            except (ConnectorError, ValueError) as exc:
                failed += 1
                self.stderr.write(f"{row.code}: orders not pulled ({exc}); the cursor stays where it was")
                continue
            summary = (
                ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "nothing changed"
            )
            self.stdout.write(f"{row.code}: {summary}")
        if failed:
            raise SystemExit(1)
