"""TikTok Shop statement facts (docs/ARCHITECTURE.md): frozen, Decimal, no ORM, no HTTP.

Amounts are Decimal in the statement's currency, signed as TikTok signs them: money to the seller
positive, fees, costs and money withheld negative.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Component:
    """One additive amount of a statement transaction.

    `name` is its path (revenue.subtotal_before_discount_amount, fee.transaction_fee_amount,
    adjustment.CHARGE_BACK, reserve, fee.unclassified); `transaction_id` is "" for a statement-level
    amount; `note` names the undeclared leaves behind a <group>.unclassified component.
    """

    name: str
    amount: Decimal
    transaction_id: str
    note: str = ""


@dataclass(frozen=True)
class StatementTransaction:
    """One transaction of a statement (an order, an adjustment or a reserve movement).

    `components` add up to `settlement_amount`; `reserve_amount` (negative: withheld, positive:
    released) sits outside the settlement, as TikTok's payable = settlement + reserve says.
    `order_id` is the order it concerns (order_id, else adjustment_order_id, else associated_order_id).
    `information` keeps every field that is not summed (ids, reserve status, supplementary_component);
    `totals` are TikTok's own group totals (revenue, shipping, fee_tax, adjustment), which add up to
    the settlement; `residues` are messages for group totals that its leaves do not explain.
    """

    id: str
    type: str
    order_id: str
    settlement_amount: Decimal
    components: tuple[Component, ...]
    reserve_amount: Decimal = Decimal("0")
    information: dict = field(default_factory=dict, compare=False)
    residues: tuple[str, ...] = ()
    totals: dict[str, Decimal] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class StatementFacts:
    """A TikTok daily statement as posting needs it.

    `settlement_amount` is total_settlement_amount; `reserve_amount` the reserve counted once
    (transactions' reserve_amount, else total_reserve_amount); `payable_amount` what TikTok pays
    for it. `statement_date` is create_time's calendar date in the shop's time zone. The `stated_*`
    fields are TikTok's own totals, kept to check the transactions against.
    """

    statement_id: str
    statement_date: date
    currency: str
    settlement_amount: Decimal
    transactions: tuple[StatementTransaction, ...]
    reserve_amount: Decimal = Decimal("0")
    status: str = ""
    stated_payable: Decimal | None = None
    stated_reserve: Decimal | None = None
    stated_totals: dict[str, Decimal] = field(default_factory=dict, compare=False)
    stated_count: int | None = None

    @property
    def payable_amount(self) -> Decimal:
        return self.settlement_amount + self.reserve_amount

    def components(self) -> list[Component]:
        """Every additive amount, the reserve included (as component `reserve`)."""
        found = [c for t in self.transactions for c in t.components]
        if self.reserve_amount:
            found.append(Component("reserve", self.reserve_amount, ""))
        return found


@dataclass(frozen=True)
class PayoutFacts:
    """A TikTok payment (bank payout) as far as posting needs it.

    `amount` is what reached the bank; `reserve_amount` what the payment says was withheld (negative)
    or released (positive); `statements_reserve` the reserve its statements already carry, so a
    reserve is counted once whichever of them reports it.
    """

    payment_id: str
    status: str
    amount: Decimal
    currency: str
    paid_date: date | None
    reserve_amount: Decimal = Decimal("0")
    statements_reserve: Decimal = Decimal("0")

    @property
    def unexplained_reserve(self) -> Decimal:
        return self.reserve_amount - self.statements_reserve
