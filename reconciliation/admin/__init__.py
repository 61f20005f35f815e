"""The Django admin of LedgerSync: one module per area, one registered class per model."""

from reconciliation.admin import audit, maps, orders, payouts, quarantine, shops, site

__all__ = ["audit", "maps", "orders", "payouts", "quarantine", "shops", "site"]
