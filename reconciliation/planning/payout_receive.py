"""The bank side of a payout (DESIGN.md 4.3): one RECEIVE in the real bank account, coded to clearing.

The bank feed line then matches this transaction exactly. A negative or zero payout is not a bank
movement (TikTok carries negative balances forward), so it plans nothing.
"""

from reconciliation.domain.money import ZERO, quantize
from reconciliation.domain.tiktok import PayoutFacts
from reconciliation.planning import checks
from reconciliation.planning.types import OrgSettings, Plan, PlannedDocument, Problem, ShopSettings

DEFAULT_CONTACT = "TikTok Shop"


def payout_reference(payout: PayoutFacts, shop: ShopSettings) -> str:
    """The RECEIVE's Reference, found by lookup after an unknown outcome: TikTok's shop and payment
    ids only, never our shop code or name (see statement_journal.narration)."""
    return f"TikTok payout {payout.payment_id} of shop {shop.external_id or shop.code}"


def plan_payout_receive(payout: PayoutFacts, *, shop: ShopSettings, org: OrgSettings | None) -> Plan:
    ref = f"TikTok {shop.code} payout {payout.payment_id}"
    skipped = checks.SKIPPED_WITHOUT_ORG if org is None else ()
    if payout.status != "PAID" or payout.amount <= ZERO:
        return Plan((), (), skipped)
    if payout.paid_date is None:
        # PAID means the money reached the bank; without TikTok's paid_time we cannot date the
        # receipt, so it is held in view (and re-read on every sync) rather than silently skipped.
        message = f"{ref} is PAID but TikTok gave no paid_time; the bank receipt waits until it does"
        return Plan((), (Problem("SOURCE_INCONSISTENT", message, ref),), skipped)
    too_fine = [a for a in (payout.amount, payout.reserve_amount) if a != quantize(a, payout.currency)]
    if too_fine:
        message = f"{ref}: amounts finer than {payout.currency} allows: {', '.join(map(str, too_fine))}"
        return Plan((), (Problem("SOURCE_INCONSISTENT", message, ref),), skipped)
    problems = checks.posting_mode_problems(shop.posting_mode, ref) + checks.currency_problems(
        payout.currency, org, ref
    )
    if payout.currency.upper() != shop.currency.upper():
        problems.append(
            Problem(
                "CURRENCY_MISMATCH",
                f"{ref} is in {payout.currency}, the shop is set up in {shop.currency}",
                ref,
            )
        )
    problems += checks.bank_account_problems(shop.bank_account, org, ref)
    reference = payout_reference(payout, shop)
    lines, reserve_problems = _receive_lines(payout, shop, ref, reference)
    problems += reserve_problems
    payload = {
        "Type": "RECEIVE",
        "Contact": {"Name": shop.contact_name or DEFAULT_CONTACT},
        "BankAccount": {"Code": shop.bank_account},
        "Date": payout.paid_date.isoformat(),
        "Reference": reference,
        "LineAmountTypes": "NoTax",
        "LineItems": lines,
    }
    problems += checks.lock_date_problems(payout.paid_date, org, ref, taxed=shop.line_amount_types != "NoTax")
    document = PlannedDocument(
        kind="BankTransactions",
        purpose="payout_receive",
        payload=payload,
        document_date=payout.paid_date,
        lookup=("Reference", reference),
    )
    return Plan((document,), tuple(problems), checks.SKIPPED_WITHOUT_ORG if org is None else ())


def _receive_lines(
    payout: PayoutFacts, shop: ShopSettings, ref: str, reference: str
) -> tuple[list[dict], list[Problem]]:
    """The deposit coded to clearing; a reserve only the payment reports (its statements carry
    none of it) moves between clearing and the reserve account here, so it is counted once and
    clearing ends at what TikTok still owes. Lines may be negative; the total is the deposit."""
    reserve = payout.unexplained_reserve
    lines = [
        {
            "Description": reference,
            "Quantity": 1,
            "UnitAmount": payout.amount - reserve,
            "AccountCode": shop.clearing_account,
        }
    ]
    if not reserve:
        return lines, []
    if not shop.reserve_account:
        problem = Problem(
            "INVALID_MAPPING",
            f"{ref}: the payment reports a reserve of {reserve} that its statements do not; set the shop's "
            "reserve account so it can post",
            ref,
        )
        return lines, [problem]
    withheld = "withheld" if reserve < ZERO else "released"
    lines.append(
        {
            "Description": f"TikTok Shop reserve {withheld}, payout {payout.payment_id}",
            "Quantity": 1,
            "UnitAmount": reserve,
            "AccountCode": shop.reserve_account,
        }
    )
    return lines, []
