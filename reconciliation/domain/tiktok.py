"""TikTok Shop statement facts (DESIGN.md 4.1-4.2): frozen, Decimal, no ORM, no HTTP."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Component:
    """One additive amount of a statement transaction, named by its path (e.g. fee.transaction_fee_amount)."""

    name: str
    amount: Decimal
    transaction_id: str
    note: str = ""  # for <group>.unclassified: the unknown leaves present


@dataclass(frozen=True)
class StatementTransaction:
    id: str
    type: str
    order_id: str
    settlement_amount: Decimal
    components: tuple[Component, ...]
    information: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class StatementFacts:
    statement_id: str
    statement_date: date
    currency: str
    settlement_amount: Decimal
    transactions: tuple[StatementTransaction, ...]

    def components(self) -> list[Component]:
        return [c for t in self.transactions for c in t.components]


@dataclass(frozen=True)
class PayoutFacts:
    """A TikTok payment (bank payout) as far as posting needs it."""

    payment_id: str
    status: str
    amount: Decimal
    currency: str
    paid_date: date | None
