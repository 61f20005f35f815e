"""Planners chosen by (channel, posting mode), not called by name (docs/ARCHITECTURE.md, Layers).

A new channel or posting mode adds an entry here; the services look the planner up and never branch
on the mode themselves. A combination with no entry is held, never planned in another mode's shape.
"""

from collections.abc import Callable, Mapping

from reconciliation.domain.tiktok import StatementFacts
from reconciliation.planning import checks
from reconciliation.planning.order_settlement import plan_order_invoices_statement
from reconciliation.planning.statement_journal import plan_statement_journal, statement_ref
from reconciliation.planning.types import ComponentRule, OrgSettings, Plan, Problem, ShopSettings

StatementPlanner = Callable[..., Plan]
# (channel, posting mode) -> planner of one statement: (facts, *, shop, rules, org, **inputs) -> Plan;
# `inputs` are what a mode needs beside the statement (order invoices: `orders`, the invoices of its
# orders, services/order_plan.statement_order_inputs), given by the service that plans it.
STATEMENT_PLANNERS: dict[tuple[str, str], StatementPlanner] = {
    ("tiktok", "statement_journal"): plan_statement_journal,
    ("tiktok", "order_invoices"): plan_order_invoices_statement,
}


def statement_planner(channel: str, posting_mode: str) -> StatementPlanner | None:
    """The planner for a statement of a shop on `channel` in `posting_mode`, or None if not built."""
    return STATEMENT_PLANNERS.get((channel, posting_mode))


def plan_statement(
    facts: StatementFacts,
    *,
    channel: str,
    shop: ShopSettings,
    rules: Mapping[str, ComponentRule],
    org: OrgSettings | None,
    inputs: Mapping[str, object] | None = None,
) -> Plan:
    """Plan one statement with the planner registered for the shop's channel and posting mode;
    `inputs`: the mode's extra inputs (keyword arguments of its planner), none for statement journals."""
    planner = statement_planner(channel, shop.posting_mode)
    if planner is not None:
        return planner(facts, shop=shop, rules=rules, org=org, **(inputs or {}))
    ref = statement_ref(shop.code, facts.statement_id)
    problems = checks.posting_mode_problems(shop.posting_mode, ref) or [
        Problem(
            "INVALID_MAPPING", f"{ref}: no planner for {channel} statements in {shop.posting_mode} mode", ref
        )
    ]
    return Plan((), tuple(problems), checks.SKIPPED_WITHOUT_ORG if org is None else ())
