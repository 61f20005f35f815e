from reconciliation.models.credentials import EncryptedTextField
from reconciliation.models.mappings import (
    BundleComponent,
    ComponentMapping,
    SkuMapping,
    TaxRateMapping,
    UnitOfMeasureConversion,
)
from reconciliation.models.orders import (
    OrderSync,
    StatementOrder,
    TikTokCancellation,
    TikTokOrder,
    TikTokReturn,
    WebhookEvent,
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
    "OrderSync",
    "Payout",
    "QuarantineItem",
    "Shop",
    "ShopConnection",
    "SkuMapping",
    "SourceRecord",
    "Statement",
    "StatementOrder",
    "SyncRun",
    "TaxRateMapping",
    "TikTokCancellation",
    "TikTokOrder",
    "TikTokReturn",
    "UnitOfMeasureConversion",
    "WebhookEvent",
    "XeroAttempt",
    "XeroConnection",
    "XeroPosting",
]
