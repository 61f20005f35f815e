"""Posting mode "statement journal" (DESIGN.md 4.3): one balanced ManualJournal per statement.

Each mapped component is summed per (account, tax type, tracking) and posts LineAmount = -amount
(money to the seller is a credit); one line debits the clearing account with the settlement, so the
journal moves clearing by exactly what TikTok owes for the statement.
"""

from collections.abc import Mapping
from decimal import Decimal

from reconciliation.domain.money import ZERO, round_2dp
from reconciliation.domain.tiktok import StatementFacts
from reconciliation.planning import checks
from reconciliation.planning.types import (
    ComponentRule,
    OrgSettings,
    Plan,
    PlannedDocument,
    Problem,
    ShopSettings,
)

LINE_AMOUNT_TYPES = {"Inclusive", "NoTax"}


def statement_ref(shop_code: str, statement_id: str) -> str:
    """How finance finds a statement's quarantine items and postings: one spelling everywhere."""
    return f"TikTok {shop_code} statement {statement_id}"


def narration(shop: ShopSettings, facts: StatementFacts) -> str:
    """How the journal is found in Xero after an unknown outcome, and the base of its idempotency
    key: TikTok's shop id and statement id only, so renaming our shop (code or name) never makes
    the same statement look new. The shop code stands in only while TikTok's id is not known yet
    (a preview before the first sync); a sync learns the id before it plans anything."""
    shop_id = shop.external_id or shop.code
    return f"TikTok Shop {shop_id}: statement {facts.statement_id} of {facts.statement_date.isoformat()}"


def plan_statement_journal(
    facts: StatementFacts,
    *,
    shop: ShopSettings,
    rules: Mapping[str, ComponentRule],
    org: OrgSettings | None,
) -> Plan:
    ref = statement_ref(shop.code, facts.statement_id)
    problems = (
        checks.posting_mode_problems(shop.posting_mode, ref)
        + _shop_problems(facts, shop, ref)
        + checks.currency_problems(shop.currency, org, ref)
    )
    line_totals, unmapped = _sum_by_line(facts, rules)
    problems += [_unmapped_problem(name, info, ref) for name, info in unmapped.items()]
    if problems:
        return Plan((), tuple(problems), _skipped(org))
    lines = _journal_lines(line_totals, shop, facts, org)
    if not lines:
        return Plan((), (), _skipped(org))  # nothing moved: no journal to post
    text = narration(shop, facts)
    payload = {
        "Narration": text,
        "Date": facts.statement_date.isoformat(),
        "LineAmountTypes": shop.line_amount_types,
        "JournalLines": lines,
    }
    assert_balanced(payload)
    problems = checks.journal_account_problems(lines, org, ref) + checks.lock_date_problems(
        facts.statement_date, org, ref
    )
    document = PlannedDocument(
        kind="ManualJournals",
        purpose="statement_journal",
        payload=payload,
        document_date=facts.statement_date,
        lookup=("Narration", text),
    )
    return Plan((document,), tuple(problems), _skipped(org))


def assert_balanced(journal: dict) -> None:
    """Xero needs debits = credits exactly; an unbalanced plan is our bug, never something to send."""
    total = sum((line["LineAmount"] for line in journal["JournalLines"]), ZERO)
    if total != ZERO:
        raise ValueError(f"journal {journal['Narration']!r} does not balance: lines sum to {total}")


def _shop_problems(facts: StatementFacts, shop: ShopSettings, ref: str) -> list[Problem]:
    problems = []
    if facts.currency and facts.currency.upper() != shop.currency.upper():
        problems.append(
            Problem(
                "CURRENCY_MISMATCH",
                f"{ref} is in {facts.currency}, the shop is set up in {shop.currency}",
                ref,
            )
        )
    if shop.line_amount_types not in LINE_AMOUNT_TYPES:
        problems.append(
            Problem(
                "INVALID_MAPPING",
                f"{ref}: statement journals post TikTok's gross amounts, so the shop's line amount types must "
                f"be Inclusive or NoTax, not {shop.line_amount_types}",
                ref,
            )
        )
    return problems


def _sum_by_line(facts: StatementFacts, rules: Mapping[str, ComponentRule]):
    totals: dict[tuple[str, str, str, str], list] = {}
    unmapped: dict[str, dict] = {}
    for component in facts.components():
        rule = rules.get(component.name)
        if rule is None:
            info = unmapped.setdefault(component.name, {"amount": ZERO, "count": 0, "notes": set()})
            info["amount"] += component.amount
            info["count"] += 1
            if component.note:
                info["notes"].add(component.note)
            continue
        key = (rule.account_code, rule.tax_type, rule.tracking_category, rule.tracking_option)
        entry = totals.setdefault(key, [ZERO, []])
        entry[0] += component.amount
        label = rule.description or component.name
        if label not in entry[1]:
            entry[1].append(label)
    return totals, unmapped


def _unmapped_problem(name: str, info: dict, ref: str) -> Problem:
    notes = "; ".join(sorted(info["notes"]))
    message = (
        f"{ref}: component {name} ({info['amount']} over {info['count']} transaction(s)) has no account "
        "in the fee-to-account map"
    )
    if notes:
        message += f" ({notes})"
    return Problem(
        "UNMAPPED_COMPONENT", message, ref, details={"component": name, "amount": str(info["amount"])}
    )


def _journal_lines(
    line_totals, shop: ShopSettings, facts: StatementFacts, org: OrgSettings | None
) -> list[dict]:
    lines = []
    for (account, tax_type, category, option), (amount, labels) in line_totals.items():
        if amount == ZERO:
            continue
        line = {"Description": ", ".join(labels)[:4000], "LineAmount": -amount, "AccountCode": account}
        _add_tax(line, tax_type, shop, org)
        if category and option:
            line["Tracking"] = [{"Name": category, "Option": option}]
        lines.append(line)
    if facts.settlement_amount != ZERO:
        clearing = {
            "Description": f"TikTok Shop settlement, statement {facts.statement_id}",
            "LineAmount": facts.settlement_amount,
            "AccountCode": shop.clearing_account,
        }
        _add_tax(clearing, "", shop, org)
        lines.append(clearing)
    return lines


def _add_tax(line: dict, tax_type: str, shop: ShopSettings, org: OrgSettings | None) -> None:
    """On a NoTax journal Xero ignores TaxType; on Inclusive ones every line needs one (NONE if untaxed).

    Xero computes each line's tax from the gross and rounds it to 2 dp per line; we reproduce that so
    the plan shows the VAT Xero will report, and send it as TaxAmount so the split cannot drift.
    """
    if shop.line_amount_types == "NoTax":
        if tax_type:
            line["TaxType"] = tax_type
        return
    line["TaxType"] = tax_type or "NONE"
    rate = org.tax_rates.get(line["TaxType"]) if org else None
    if rate is not None:
        gross: Decimal = line["LineAmount"]
        line["TaxAmount"] = round_2dp(gross * rate.rate / (Decimal(100) + rate.rate))


def _skipped(org: OrgSettings | None) -> tuple[str, ...]:
    return checks.SKIPPED_WITHOUT_ORG if org is None else ()
