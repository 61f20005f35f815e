"""Seller Center rows -> StatementFacts (pure) and the file reader."""

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from reconciliation.domain.money import AmountError
from reconciliation.domain.tiktok_normalise import statement_facts
from reconciliation.domain.tiktok_seller_center import (
    file_amount,
    file_date,
    header_key,
    is_header_row,
    statements_from_rows,
)
from reconciliation.planning.order_invoice import (
    expected_invoice_total,
    plan_order_invoice,
    tax_kept_by_tiktok,
)
from reconciliation.planning.order_settlement import OrderDocument, plan_order_settlement
from reconciliation.planning.statement_journal import plan_statement_journal
from reconciliation.tabular import UnreadableFile, table_read
from tests.reconciliation.order_fixtures import (
    GROSS,
    MAPS,
    NET,
    US_ORDER_SHOP,
    WORKED_ORDER_ID,
    order_org,
    worked_order,
    worked_statement,
)
from tests.reconciliation.planning_fixtures import FIXTURES, US_RULES, US_SHOP, load_pages

SELLER_CENTER = FIXTURES / "tiktok" / "seller_center"


def read(name: str, *, region="US", currency="USD", timezone="America/Los_Angeles"):
    table = table_read(SELLER_CENTER / name, is_header=is_header_row)
    return statements_from_rows(
        table.headers, table.rows, region=region, currency=currency, timezone=timezone
    )


def components(facts):
    """Components as (order, name, amount): the API's transaction ids are TikTok's own, a file only
    has the order / adjustment id, so transactions are compared by what they are about."""
    by_txn = {t.id: t.order_id for t in facts.transactions}
    return Counter((by_txn[c.transaction_id], c.name, c.amount) for c in facts.components())


def test_the_us_file_gives_the_components_the_api_gives_for_the_same_order():
    (statement,) = read("us_worked_order.csv").statements
    api, api_problems = statement_facts(
        load_pages("us_worked_order_statement.json"), timezone="America/Los_Angeles"
    )

    assert statement.problems == () and api_problems == []
    assert components(statement.facts) == components(api)
    assert statement.facts.settlement_amount == api.settlement_amount == Decimal("167.04")
    assert statement.facts.statement_date == api.statement_date  # 2025-11-14, Pacific


def test_the_us_file_plans_the_worked_example_journal():
    (statement,) = read("us_worked_order.csv").statements
    plan = plan_statement_journal(statement.facts, shop=US_SHOP, rules=US_RULES, org=None)

    (journal,) = plan.documents
    lines = [(line["AccountCode"], line["LineAmount"]) for line in journal.payload["JournalLines"]]
    assert lines == [
        ("4000", Decimal("-235.95")),
        ("4010", Decimal("35.39")),
        ("5100", Decimal("7.93")),
        ("4020", Decimal("-6.50")),
        ("6100", Decimal("32.09")),
        ("1210", Decimal("167.04")),
    ]


def test_the_uk_workbook_with_banner_rows_and_parentheses_gives_the_api_components():
    result = read("uk_statement.xlsx", region="GB", currency="GBP", timezone="Europe/London")
    (statement,) = result.statements
    api, _ = statement_facts(load_pages("uk_vat_refund_adjustments_statement.json"), timezone="Europe/London")

    assert result.errors == () and statement.problems == ()
    assert statement.rows[0] == "row 5"  # the header is on row 4
    assert components(statement.facts) == components(api)
    assert statement.facts.settlement_amount == Decimal("41.64")
    assert statement.facts.statement_date == api.statement_date


def test_an_unknown_column_with_money_holds_the_statement_naming_it():
    (statement,) = read("unknown_column.csv").statements

    (problem,) = statement.problems
    assert problem.code == "UNMAPPED_COMPONENT"
    assert "'Sales tax on referral fees'" in problem.message and "row 2: -0.07" in problem.message
    # Total fees is not explained without it: the residue is named as the API's undeclared leaves are
    (unclassified,) = [c for c in statement.facts.components() if c.name == "fee.unclassified"]
    assert unclassified.amount == Decimal("-0.07")
    assert "Sales tax on referral fees=-0.07" in unclassified.note


def test_totals_that_disagree_hold_the_statement_naming_row_and_figures():
    (statement,) = read("totals_disagree.csv").statements

    assert [p.code for p in statement.problems] == ["SOURCE_INCONSISTENT"]
    assert "row 3: its revenue columns add up to 1000.00, its Total revenue is 1020.00" in (
        statement.problems[0].message
    )


def rows(header: list[str], *lines: list[str]):
    return header, [
        (f"row {n}", dict(zip(header, line, strict=True))) for n, line in enumerate(lines, start=2)
    ]


BASE = ["Order/adjustment ID", "Type", "Order settled time", "Total settlement amount", "Transaction fee"]


def facts_of(header, *lines, region="US"):
    head, body = rows(header, *lines)
    return statements_from_rows(head, body, region=region, currency="USD", timezone=None)


def test_a_text_column_is_a_note_and_an_unknown_zero_column_holds_nothing():
    result = facts_of(
        [*BASE, "Buyer note", "Mystery fee"], ["1", "Order", "2025/11/14", "-1", "-1", "hello", "0"]
    )

    assert result.statements[0].problems == ()
    assert result.notes == ("columns not used (not amounts LedgerSync knows): 'Buyer note', 'Mystery fee'",)


def test_settlement_that_the_columns_do_not_explain_is_source_inconsistent():
    result = facts_of(BASE, ["1", "Order", "2025/11/14", "5.00", "-1.00"])

    (problem,) = result.statements[0].problems
    assert problem.code == "SOURCE_INCONSISTENT"
    assert "row 2: its columns add up to -1.00, its Total settlement amount is 5.00" in problem.message


def test_rows_group_into_one_statement_a_settled_day_and_sku_lines_into_one_transaction():
    result = facts_of(
        BASE,
        ["1", "Order", "2025/11/14", "-1.00", "-1.00"],
        ["1", "Order", "2025/11/14 08:00", "-2.00", "-2.00"],
        ["2", "Order", "2025/11/15", "-3.00", "-3.00"],
    )

    assert [s.statement_id for s in result.statements] == ["SC-2025-11-14", "SC-2025-11-15"]
    (txn,) = result.statements[0].facts.transactions
    assert txn.settlement_amount == Decimal("-3.00") and txn.information["rows"] == ["row 2", "row 3"]


def test_a_statement_id_column_groups_rows_and_a_statement_date_dates_them():
    header = ["Statement ID", "Statement date", *BASE]
    result = facts_of(header, ["S1", "2025/11/16", "1", "Order", "2025/11/14", "-1", "-1"])

    (statement,) = result.statements
    assert statement.statement_id == "S1" and statement.facts.statement_date.isoformat() == "2025-11-16"


def test_an_adjustment_row_becomes_an_adjustment_component_of_its_type():
    header = [*BASE, "Adjustment amount"]
    result = facts_of(header, ["A1", "GMV Payment for TikTok Ads", "2025/11/14", "-9.00", "", "-9.00"])

    (component,) = result.statements[0].facts.components()
    assert (component.name, component.amount) == ("adjustment.GMV_PAYMENT_FOR_ADS", Decimal("-9.00"))


def test_a_row_exported_twice_is_held():
    line = ["1", "Order", "2025/11/14", "-1.00", "-1.00"]
    (statement,) = facts_of(BASE, line, line).statements
    assert "row 3 repeats row 2 cell for cell" in statement.problems[0].message


def test_unreadable_cells_are_file_errors_naming_their_rows():
    result = facts_of(BASE, ["1", "Order", "2025/13/40", "x", "-1"], ["", "Order", "2025/11/14", "1", "1"])

    assert result.statements == ()
    assert result.errors == (
        "row 2, Order settled time: '2025/13/40' is not a date (month must be in 1..12)",
        "row 3: no Order/adjustment ID",
    )


def test_missing_key_columns_are_file_errors():
    result = facts_of(["Order/adjustment ID", "Transaction fee"], ["1", "-1"])
    assert result.errors == (
        "no 'Total settlement amount' column",
        "no 'Statement ID', 'Statement date' or 'Order settled time' column to group rows by",
    )


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("(7.93)", "-7.93"),
        ("(£7.93)", "-7.93"),
        ("-$35.39", "-35.39"),
        ("$-35.39", "-35.39"),
        ("USD 1,234.50", "1234.50"),
        ("1.234,50", "1234.50"),
        ("12,50", "12.50"),
        ("1,234", "1234"),
        ("\u22121.00", "-1.00"),
        ("/", "0"),
        ("", "0"),
    ],
)
def test_file_amounts(text, amount):
    assert file_amount(text, where="x") == Decimal(amount)


@pytest.mark.parametrize("text", ["1.5E3", "abc", "(-1)", "1,2345"])
def test_file_amounts_refused(text):
    with pytest.raises(AmountError):
        file_amount(text, where="x")


def test_dates_by_region_and_utc_times_in_the_shop_zone():
    assert file_date("03/04/2025", region="US", utc_to=None, where="x").isoformat() == "2025-03-04"
    assert file_date("03/04/2025", region="GB", utc_to=None, where="x").isoformat() == "2025-04-03"
    moved = file_date("2025/11/15 03:00:00", region="US", utc_to="America/Los_Angeles", where="x")
    assert moved.isoformat() == "2025-11-14"


def test_headers_compare_without_case_spaces_punctuation_or_utc():
    assert header_key("Order\\adjustment ID  ") == header_key("order/Adjustment ID")
    assert header_key("Order settled time(UTC)") == header_key("Order settled time")


def test_reader_sniffs_semicolons_and_windows_1252(tmp_path: Path):
    path = tmp_path / "export.csv"
    path.write_bytes(
        "Order/adjustment ID;Type;Order settled time;Total settlement amount;Note\n1;Order;2025/11/14;£1,00;café\n".encode(
            "cp1252"
        )
    )
    table = table_read(path, is_header=is_header_row)
    assert table.rows == (
        (
            "row 2",
            {
                "Order/adjustment ID": "1",
                "Type": "Order",
                "Order settled time": "2025/11/14",
                "Total settlement amount": "£1,00",
                "Note": "café",
            },
        ),
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty.csv is empty"),
        (b"a,b\n1,2\n", "no header row found"),
        (
            b"Order/adjustment ID,Type,Order settled time,Total settlement amount\n1,Order,2025/11/14,=1+2\n",
            "row 2: '=1+2' is a formula",
        ),
    ],
)
def test_reader_refuses_empty_files_headerless_files_and_formulas(tmp_path: Path, content, message):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=message.replace("+", r"\+")):
        table_read(path, is_header=is_header_row)


def test_reader_refuses_formulas_in_a_workbook(tmp_path: Path):
    book = Workbook()
    book.active.append(["Order/adjustment ID", "Type", "Order settled time", "Total settlement amount"])
    book.active.append(["1", "Order", "2025/11/14", "=SUM(A1:A2)"])
    path = tmp_path / "f.xlsx"
    book.save(path)
    with pytest.raises(UnreadableFile, match=r"sheet 'Sheet' row 2: '=SUM\(A1:A2\)' is a formula"):
        table_read(path, is_header=is_header_row)


def test_a_workbook_with_orders_and_adjustments_on_two_sheets_is_read_as_one_table(tmp_path: Path):
    book = Workbook()
    orders = book.active
    orders.title = "Order details"
    orders.append(["Reference only"])
    orders.append([*BASE, "Referral fee"])
    orders.append(["1", "Order", "2025/11/14", "-3.00", "-1.00", "-2.00"])
    adjustments = book.create_sheet("Adjustments")
    adjustments.append(
        ["Order/adjustment ID", "Type", "Order settled time", "Total settlement amount", "Adjustment amount"]
    )
    adjustments.append(["A1", "Platform reimbursement", "2025/11/14", "5.00", "5.00"])
    path = tmp_path / "two.xlsx"
    book.save(path)

    table = table_read(path, is_header=is_header_row)
    result = statements_from_rows(table.headers, table.rows, region="US", currency="USD", timezone=None)

    assert [where for where, _ in table.rows] == ["sheet 'Order details' row 3", "sheet 'Adjustments' row 2"]
    (statement,) = result.statements
    assert statement.problems == () and statement.facts.settlement_amount == Decimal("2.00")
    assert {c.name for c in statement.facts.components()} == {
        "fee.transaction_fee_amount",
        "fee.referral_fee_amount",
        "adjustment.PLATFORM_REIMBURSEMENT",
    }


def test_an_id_saved_as_a_too_long_number_is_refused(tmp_path: Path):
    book = Workbook()
    book.active.append(BASE)
    book.active.append([576500000000000001.0, "Order", "2025/11/14", "-1", "-1"])
    path = tmp_path / "ids.xlsx"
    book.save(path)
    with pytest.raises(UnreadableFile, match=r"sheet 'Sheet' row 2: .* is a number too long to be exact"):
        table_read(path, is_header=is_header_row)


def test_a_column_twice_in_the_header_is_refused(tmp_path: Path):
    path = tmp_path / "twice.csv"
    path.write_text(
        "Order/adjustment ID,Type,Order settled time,Total settlement amount,Type\n1,Order,2025/11/14,1,Order\n"
    )
    with pytest.raises(UnreadableFile, match="row 1: column 'Type' appears twice"):
        table_read(path, is_header=is_header_row)


@pytest.mark.parametrize("presentation", [GROSS, NET], ids=["gross", "net"])
def test_order_invoice_mode_settles_the_file_exactly_as_the_api_statement(presentation):
    """Posting mode "order invoices" (not yet enabled): the same payments and fees journal from both."""
    (statement,) = read("us_worked_order.csv").statements
    order = worked_order()
    (invoice,) = plan_order_invoice(
        order, shop=US_ORDER_SHOP, settings=presentation, maps=MAPS, org=order_org()
    ).documents
    document = OrderDocument(
        WORKED_ORDER_ID,
        invoice.key,
        invoice.payload["InvoiceNumber"],
        "invoice",
        expected_invoice_total(order, US_ORDER_SHOP, presentation),
        tax_kept_by_tiktok(order, US_ORDER_SHOP, presentation),
    )

    def settle(facts):
        plan = plan_order_settlement(
            facts,
            shop=US_ORDER_SHOP,
            documents={WORKED_ORDER_ID: [document]},
            rules=US_RULES,
            sales_tax_account="2300",
            org=order_org(),
        )
        assert plan.problems == ()
        return [
            (
                d.kind,
                d.payload.get("Amount"),
                [(x["AccountCode"], x["LineAmount"]) for x in d.payload.get("JournalLines", [])],
            )
            for d in plan.documents
        ]

    assert settle(statement.facts) == settle(worked_statement())
