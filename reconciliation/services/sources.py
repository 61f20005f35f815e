"""What each kind of source is planned by: one table, so a new source kind (orders, refunds,
purchase orders, remittances) adds an entry here and touches no `if` elsewhere."""

from collections.abc import Callable

from reconciliation.models import Payout, Statement, TikTokCancellation, TikTokOrder, TikTokReturn
from reconciliation.planning.types import Plan


def _replanners() -> dict[type, Callable[[object], Plan]]:
    from reconciliation.services.order_plan import order_plan, refund_plan
    from reconciliation.services.statements import payout_plan, statement_plan

    return {
        Statement: lambda source: statement_plan(statement=source),
        Payout: lambda source: payout_plan(payout=source),
        TikTokOrder: lambda source: order_plan(order=source),
        TikTokReturn: lambda source: refund_plan(row=source),
        TikTokCancellation: lambda source: refund_plan(row=source),
    }


def source_replan(source) -> Plan | None:
    """Plan `source` (a Statement, a Payout, ...) again from its stored data and current maps, writing
    the result into the outbox. None when `source` is None or of a kind nothing plans."""
    if source is None:
        return None
    replan = _replanners().get(type(source))
    return replan(source) if replan else None
