from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "reconciliation"
    verbose_name = "LedgerSync"

    def ready(self):
        from reconciliation import signals  # noqa: F401
