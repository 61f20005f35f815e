"""TikTok Seller Center statement files: keep the rows, upsert Statement rows, plan them exactly as
API statements are planned (planning/registry.py), so both sources post the same journal.

Each statement of a file is kept as one immutable, content-hashed SourceRecord of kind
`tiktok.seller_center` (its rows as read, with the file's name and headers); the Statement row
points at it through `page_hashes`, as an API statement points at its pages. `statement_plan`
(services/statements.py) reads such a statement through `stored_rows` / `rows_preview`, so Retry
and re-planning after a map change work as for API statements.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from reconciliation import selectors
from reconciliation.domain.tiktok import StatementFacts
from reconciliation.domain.tiktok_seller_center import (
    SellerCenterFile,
    SellerCenterStatement,
    is_header_row,
    statements_from_rows,
)
from reconciliation.domain.tiktok_time import shop_timezone
from reconciliation.models import Shop, SourceRecord, Statement
from reconciliation.models.sources import SourceKind, content_hash
from reconciliation.planning.checks import SKIPPED_WITHOUT_ORG
from reconciliation.planning.registry import plan_statement
from reconciliation.planning.statement_journal import statement_ref
from reconciliation.planning.types import Plan, Problem
from reconciliation.tabular import Table, UnreadableFile, table_read


@dataclass(frozen=True)
class PlannedStatement:
    """One statement of an imported file and what planning it gave (`plan.held`: held)."""

    statement_id: str
    statement_date: date | None
    currency: str
    settlement_amount: Decimal | None
    transactions: int
    rows: int
    plan: Plan


@dataclass(frozen=True)
class FileImport:
    statements: tuple[PlannedStatement, ...]
    notes: tuple[str, ...]
    dry_run: bool

    @property
    def held(self) -> bool:
        return any(s.plan.held for s in self.statements)


def seller_center_import(*, shop: Shop, path: Path, dry_run: bool) -> FileImport:
    """Read a Seller Center export and plan each of its statements; with `dry_run` nothing is
    written. Raises UnreadableFile (message naming rows) when the file cannot be used at all."""
    table = table_read(path, is_header=is_header_row)
    read = _read(table, shop)
    if read.errors:
        raise UnreadableFile("\n".join(f"{path.name}: {e}" for e in read.errors))
    planned = []
    for found in read.statements:
        plan = _plan(found, shop) if dry_run else _statement_plan(_keep(shop, path.name, table, found))
        planned.append(_summary(found, plan))
    return FileImport(tuple(planned), table.notes + read.notes, dry_run)


def _read(table: Table, shop: Shop, statement_id: str = "") -> SellerCenterFile:
    return statements_from_rows(
        table.headers,
        table.rows,
        region=shop.region,
        currency=shop.currency,
        timezone=shop_timezone(shop.region, shop.timezone),
        ref=lambda sid: statement_ref(shop.code, statement_id or sid),
    )


def _summary(found: SellerCenterStatement, plan: Plan) -> PlannedStatement:
    facts = found.facts
    return PlannedStatement(
        statement_id=found.statement_id,
        statement_date=facts.statement_date if facts else None,
        currency=facts.currency if facts else "",
        settlement_amount=facts.settlement_amount if facts else None,
        transactions=len(facts.transactions) if facts else 0,
        rows=len(found.rows),
        plan=plan,
    )


def _statement_plan(statement: Statement) -> Plan:
    from reconciliation.services.statements import statement_plan

    return statement_plan(statement=statement)


def _keep(shop: Shop, file_name: str, table: Table, found: SellerCenterStatement) -> Statement:
    payload = {
        "file": file_name,
        "header_row": table.header_where,
        "headers": list(table.headers),
        "rows": [{"where": where, "cells": cells} for where, cells in found.cells],
    }
    digest = content_hash(payload)
    SourceRecord.objects.get_or_create(
        shop=shop,
        kind=SourceKind.SELLER_CENTER,
        external_id=found.statement_id,
        sequence=0,
        content_hash=digest,
        defaults={"payload": payload},
    )
    facts = found.facts
    row, _ = Statement.objects.update_or_create(
        shop=shop,
        statement_id=found.statement_id,
        defaults={
            "statement_date": facts.statement_date if facts else None,
            "currency": facts.currency if facts else shop.currency,
            "settlement_amount": facts.settlement_amount if facts else None,
            "content_hash": content_hash([digest]),
            "page_hashes": [digest],
        },
    )
    return row


def stored_rows(statement: Statement) -> dict | None:
    """The kept Seller Center rows a statement was last imported from; None for an API statement."""
    record = SourceRecord.objects.filter(
        shop=statement.shop,
        kind=SourceKind.SELLER_CENTER,
        external_id=statement.statement_id,
        content_hash__in=statement.page_hashes,
    ).first()
    return record.payload if record else None


def rows_preview(*, payload: dict, shop: Shop, statement_id: str) -> tuple[Plan, StatementFacts | None]:
    """(plan, facts) for a statement's kept rows under the shop's current maps; writes nothing."""
    rows = tuple((r["where"], r["cells"]) for r in payload["rows"])
    table = Table(tuple(payload["headers"]), rows, payload.get("header_row", ""))
    read = _read(table, shop, statement_id)
    found = next((s for s in read.statements if s.statement_id == statement_id), None)
    if found is None:
        ref = statement_ref(shop.code, statement_id)
        message = f"{ref}: its kept rows cannot be read again: " + "; ".join(read.errors or ("no rows",))
        return Plan((), (Problem("SOURCE_INCONSISTENT", message, ref),)), None
    return _plan(found, shop), found.facts


def _plan(found: SellerCenterStatement, shop: Shop) -> Plan:
    from reconciliation.services.statements import planner_inputs

    org = selectors.org_settings(shop.xero_connection)
    skipped = SKIPPED_WITHOUT_ORG if org is None else ()
    if found.facts is None or found.problems:
        return Plan((), found.problems, skipped)
    return plan_statement(
        found.facts,
        channel=shop.channel,
        shop=selectors.shop_settings(shop),
        rules=selectors.component_rules(shop),
        org=org,
        inputs=planner_inputs(shop, found.facts),
    )


__all__ = ["FileImport", "PlannedStatement", "UnreadableFile", "rows_preview", "seller_center_import"]
