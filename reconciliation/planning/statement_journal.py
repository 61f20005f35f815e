"""Posting mode "statement journal" (DESIGN.md 4.3): one balanced ManualJournal per statement.

Each mapped component is summed per (account, tax type, tracking) and posts LineAmount = -amount
(money to the seller is a credit); one line debits the clearing account with the settlement, so the
journal moves clearing by exactly what TikTok owes for the statement.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from reconciliation.domain.money import ZERO
from reconciliation.domain.tiktok import Component, StatementFacts
from reconciliation.planning import checks
from reconciliation.planning.source_tax import inclusive_tax, is_line_tax, stated_tax_lines
from reconciliation.planning.types import (
    ComponentRule,
    Information,
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
    line_totals, unmapped = _sum_by_line(facts, with_reserve_rule(rules, shop))
    problems += [_unmapped_problem(name, info, ref) for name, info in unmapped.items()]
    skipped = _skipped(org, line_totals, shop)
    if problems:
        return Plan((), tuple(problems), skipped)
    lines, problems, notes = _journal_lines(line_totals, shop, facts, org, ref)
    if problems:
        return Plan((), tuple(problems), skipped, tuple(notes))
    if not lines:
        return Plan((), (), skipped)  # nothing moved: no journal to post
    text = narration(shop, facts)
    payload = {
        "Narration": text,
        "Date": facts.statement_date.isoformat(),
        "LineAmountTypes": shop.line_amount_types,
        "JournalLines": lines,
    }
    assert_balanced(payload)
    problems = checks.journal_account_problems(lines, org, ref) + checks.lock_date_problems(
        facts.statement_date, org, ref, taxed=shop.line_amount_types != "NoTax"
    )
    document = PlannedDocument(
        kind="ManualJournals",
        purpose="statement_journal",
        payload=payload,
        document_date=facts.statement_date,
        lookup=("Narration", text),
    )
    return Plan((document,), tuple(problems), skipped, tuple(notes))


def with_reserve_rule(rules: Mapping[str, ComponentRule], shop: ShopSettings) -> Mapping[str, ComponentRule]:
    """Reserves post to the shop's reserve account (a current asset: money TikTok holds for the
    seller) unless the component map names another account for `reserve`."""
    if "reserve" in rules or not shop.reserve_account:
        return rules
    return {**rules, "reserve": ComponentRule(shop.reserve_account, description="TikTok Shop reserve")}


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


@dataclass
class LineTotal:
    """What one (account, tax type, tracking) line gathers from a statement's components."""

    amount: Decimal = ZERO  # every component on the line, TikTok's sign (money to the seller +)
    stated_tax: Decimal = ZERO  # the tax components among them (source_tax.is_line_tax)
    tax_components: list[str] = field(default_factory=list)
    taxes_something: bool = False  # the line also holds amounts that are not tax
    labels: list[str] = field(default_factory=list)
    transactions: set[str] = field(default_factory=set)

    @property
    def states_tax(self) -> bool:
        """A tax component is the tax of a line only beside the amounts it taxes."""
        return bool(self.tax_components) and self.taxes_something


def _sum_by_line(facts: StatementFacts, rules: Mapping[str, ComponentRule]):
    totals: dict[tuple[str, str, str, str], LineTotal] = {}
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
        _add_component(totals.setdefault(key, LineTotal()), component, rule)
    return totals, unmapped


def _add_component(total: LineTotal, component: Component, rule: ComponentRule) -> None:
    total.amount += component.amount
    total.transactions.add(component.transaction_id)
    if is_line_tax(component.name):
        total.stated_tax += component.amount
        if component.name not in total.tax_components:
            total.tax_components.append(component.name)
    else:
        total.taxes_something = True
    label = rule.description or component.name
    if label not in total.labels:
        total.labels.append(label)


def _unmapped_problem(name: str, info: dict, ref: str) -> Problem:
    notes = "; ".join(sorted(info["notes"]))
    message = (
        f"{ref}: component {name} ({info['amount']} over {info['count']} transaction(s)) has no account "
        "in the fee-to-account map"
    )
    if name == "reserve":
        message += " (set the shop's reserve account, or map the component `reserve`)"
    if notes:
        message += f" ({notes})"
    return Problem(
        "UNMAPPED_COMPONENT", message, ref, details={"component": name, "amount": str(info["amount"])}
    )


def _journal_lines(
    line_totals: dict[tuple[str, str, str, str], LineTotal],
    shop: ShopSettings,
    facts: StatementFacts,
    org: OrgSettings | None,
    ref: str,
) -> tuple[list[dict], list[Problem], list[Information]]:
    lines: list[dict] = []
    problems: list[Problem] = []
    notes: list[Information] = []
    for (account, tax_type, category, option), total in line_totals.items():
        if total.amount == ZERO and (not total.states_tax or total.stated_tax == ZERO):
            continue  # nothing moved on this line (e.g. a fee and its VAT refunded the same day)
        line = {
            "Description": ", ".join(total.labels)[:4000],
            "LineAmount": -total.amount,
            "AccountCode": account,
        }
        _add_tax(line, tax_type, shop, org)
        if category and option:
            line["Tracking"] = [{"Name": category, "Option": option}]
        if total.states_tax and "TaxType" in line and shop.line_amount_types != "NoTax":
            parts, problem, note = stated_tax_lines(line, total, org, ref)
            lines += parts
            problems += [problem] if problem else []
            notes += [note] if note else []
        else:
            lines.append(line)
    if facts.payable_amount != ZERO:
        # What TikTok owes for the statement: its settlement less what it withholds as reserve.
        clearing = {
            "Description": f"TikTok Shop settlement, statement {facts.statement_id}",
            "LineAmount": facts.payable_amount,
            "AccountCode": shop.clearing_account,
        }
        _add_tax(clearing, "", shop, org)
        lines.append(clearing)
    return lines, problems, notes


def _add_tax(line: dict, tax_type: str, shop: ShopSettings, org: OrgSettings | None) -> None:
    """On a NoTax journal Xero ignores TaxType; on Inclusive ones every line needs one (NONE if untaxed).

    Xero computes each line's tax from the gross and rounds it to 2 dp per line; we reproduce that so
    the plan shows the VAT Xero will report, and send it as TaxAmount so the split cannot drift. Where
    the source states the line's tax, `stated_tax_lines` replaces it with the stated amount.
    """
    if shop.line_amount_types == "NoTax":
        if tax_type:
            line["TaxType"] = tax_type
        return
    line["TaxType"] = tax_type or "NONE"
    rate = org.tax_rates.get(line["TaxType"]) if org else None
    if rate is not None:
        line["TaxAmount"] = inclusive_tax(line["LineAmount"], rate.rate)


def _skipped(
    org: OrgSettings | None, line_totals: Mapping[tuple, LineTotal], shop: ShopSettings
) -> tuple[str, ...]:
    if org is not None:
        return ()
    if shop.line_amount_types != "NoTax" and any(t.states_tax for t in line_totals.values()):
        return (*checks.SKIPPED_WITHOUT_ORG, checks.STATED_TAX_CHECK)
    return checks.SKIPPED_WITHOUT_ORG
