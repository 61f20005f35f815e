"""The Django admin of LedgerSync: one module per area, one registered class per model."""

from reconciliation.admin import audit, maps, quarantine, shops

__all__ = ["audit", "maps", "quarantine", "shops"]
