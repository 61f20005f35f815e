from reconciliation.models.credentials import EncryptedTextField
from reconciliation.models.mappings import (
    BundleComponent,
    ComponentMapping,
    SkuMapping,
    TaxRateMapping,
    UnitOfMeasureConversion,
)
from reconciliation.models.postings import XeroAttempt, XeroPosting
from reconciliation.models.quarantine import QuarantineItem
from reconciliation.models.shops import Shop, ShopConnection
from reconciliation.models.sources import Payout, SourceRecord, Statement, SyncRun
from reconciliation.models.xero import XeroConnection

__all__ = [
    "BundleComponent",
    "ComponentMapping",
    "EncryptedTextField",
    "Payout",
    "QuarantineItem",
    "Shop",
    "ShopConnection",
    "SkuMapping",
    "SourceRecord",
    "Statement",
    "SyncRun",
    "TaxRateMapping",
    "UnitOfMeasureConversion",
    "XeroAttempt",
    "XeroConnection",
    "XeroPosting",
]
