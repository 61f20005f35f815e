"""`preview tiktok-order`: one order and its statement transactions, under the shop's maps and
settings from the database (services/order_preview.py, selectors.order_maps)."""

import json
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command, execute_from_command_line

from reconciliation import selectors
from reconciliation.demo.scenario import sandbox_xero_connection
from reconciliation.imports import mappings_import
from reconciliation.models import BundleComponent, ComponentMapping, Shop, SkuMapping, TaxRateMapping
from reconciliation.planning.types import PlannedDocument
from reconciliation.services.organisation import organisation_refresh
from tests.reconciliation.order_fixtures import ORDERS, WORKED_ORDER_ID, raw_order
from tests.reconciliation.planning_fixtures import US_RULES
from tests.reconciliation.test_order_sandbox import sandbox_for_orders
from tests.reconciliation.xero_payloads import validate

pytestmark = pytest.mark.django_db
D = Decimal
ORDER_FILE = ORDERS / "us_worked_order_detail.json"
TRANSACTIONS_FILE = ORDERS / "us_worked_order_statement_transactions.json"
KINDS = {"Invoice": "Invoices", "Payment": "Payments", "ManualJournal": "ManualJournals"}


@pytest.fixture
def us_shop():
    shop = Shop.objects.create(
        channel="tiktok",
        code="tt-us",
        name="Demo US",
        region="US",
        currency="USD",
        timezone="America/Los_Angeles",
        line_amount_types="NoTax",
        clearing_account="1210",
        order_sales_account="4000",
        order_seller_discount_account="4010",
        order_platform_discount_account="4050",
        order_platform_reimbursement_account="4060",
        order_shipping_account="4070",
        order_sales_tax_account="2300",
        order_tax_presentation="gross",
    )
    for component, rule in US_RULES.items():
        ComponentMapping.objects.create(
            channel="tiktok",
            component=component,
            account_code=rule.account_code,
            description=rule.description,
        )
    for sku in ("HOODIE-BLK-M", "MUG-WHT", "CANDLE-SOY"):
        SkuMapping.objects.create(channel="tiktok", channel_sku=sku, item_code=sku)
    for item, quantity, weight in (("MUG-WHT", 2, "12.00"), ("CANDLE-SOY", 1, "18.00")):
        BundleComponent.objects.create(
            channel="tiktok",
            bundle_sku="GIFTSET-3",
            item_code=item,
            quantity=quantity,
            price_weight=D(weight),
        )
    return shop


def preview(order: Path = ORDER_FILE, transactions: Path = TRANSACTIONS_FILE, shop: str = "tt-us"):
    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command(
            "preview", "tiktok-order", str(order), "--statement", str(transactions), "--shop", shop,
            stdout=out, stderr=err,
        )  # fmt: skip
    except SystemExit as exit_:
        code = exit_.code
    return code, json.loads(out.getvalue()), err.getvalue()


def with_xero_org(shop: Shop, xero_spec_path):
    """The shop's Xero organisation read from the sandbox (accounts, tax rates, Items), as a sync does."""
    sandbox, _ = sandbox_for_orders(xero_spec_path)
    shop.xero_connection = organisation_refresh(connection=sandbox_xero_connection(sandbox, name="Org"))
    shop.save()
    return sandbox


def amounts(output) -> list[tuple[str, Decimal]]:
    found = []
    for document in output["documents"]:
        payload = document["payload"]
        total = payload.get("Amount")
        if document["type"] == "Invoice":
            total = sum(
                (D(str(line["Quantity"])) * D(str(line["UnitAmount"]))).quantize(D("0.01"))
                for line in payload["LineItems"]
            )
        if document["type"] == "ManualJournal":
            total = next(
                D(str(line["LineAmount"]))
                for line in payload["JournalLines"]
                if line["AccountCode"] == "1210"
            )
        found.append((document["type"], D(str(total))))
    return found


@pytest.mark.parametrize(
    ("presentation", "invoice", "journal"),
    [("gross", D("221.10"), D("-54.06")), ("net", D("207.06"), D("-40.02"))],
)
def test_the_worked_order_previews_its_invoice_payment_and_journal(
    us_shop, xero_spec_path, presentation, invoice, journal
):
    us_shop.order_tax_presentation = presentation
    us_shop.save()
    with_xero_org(us_shop, xero_spec_path)

    code, output, err = preview()

    assert (code, output["problems"], output["checks_not_run"], err) == (0, [], [], "")
    assert amounts(output) == [("Invoice", invoice), ("Payment", invoice), ("ManualJournal", journal)]
    assert invoice + journal == D("167.04")  # the order's settlement_amount
    invoice_doc = output["documents"][0]["payload"]
    assert invoice_doc["InvoiceNumber"] == f"TT-{WORKED_ORDER_ID}" and invoice_doc["Status"] == "AUTHORISED"
    assert output["documents"][1]["payload"]["Invoice"] == {"InvoiceNumber": f"TT-{WORKED_ORDER_ID}"}
    assert [i["code"] for i in output["information"]] == ["STATEMENT_DATE_ASSUMED"]
    for document in output["documents"]:
        kind = KINDS[document["type"]]
        validate(xero_spec_path, PlannedDocument(kind, "", document["payload"], date(2025, 11, 14), ("", "")))


def test_without_a_xero_connection_it_previews_and_lists_the_checks_not_run(us_shop):
    code, output, err = preview()
    assert code == 0 and output["problems"] == []
    assert amounts(output)[0] == ("Invoice", D("221.10"))
    assert "lock dates" in output["checks_not_run"]
    assert "item codes against the organisation's Items" in output["checks_not_run"]
    assert "lock dates" in err


def test_an_unmapped_sku_is_held_and_names_the_row_to_add(us_shop):
    SkuMapping.objects.filter(channel_sku="HOODIE-BLK-M").delete()
    code, output, _ = preview()
    assert code == 2 and output["documents"] == []
    assert [p["code"] for p in output["problems"]] == ["UNMAPPED_SKU"]
    assert "HOODIE-BLK-M" in output["problems"][0]["message"]


def test_a_blank_order_account_is_held(us_shop):
    us_shop.order_shipping_account = ""
    us_shop.save()
    code, output, _ = preview()
    assert code == 2 and "shipping account" in output["problems"][0]["message"]


def test_an_item_xero_does_not_have_is_held(us_shop, xero_spec_path):
    with_xero_org(us_shop, xero_spec_path)
    SkuMapping.objects.filter(channel_sku="HOODIE-BLK-M").update(item_code="HOODIE-OLD")
    code, output, _ = preview()
    assert code == 2 and [p["code"] for p in output["problems"]] == ["INVALID_MAPPING"]
    assert "HOODIE-OLD is not one of the Xero organisation's Items" in output["problems"][0]["message"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"data": {"orders": []}}', "no order in it"),
        ('{"code": 36009004, "message": "invalid order"}', "TikTok answered code 36009004"),
        ("[1, 2]", "expected an orders response"),
    ],
)
def test_an_unreadable_order_file_exits_1_with_a_message(us_shop, tmp_path, capsys, content, message):
    broken = tmp_path / "order.json"
    broken.write_text(content)
    argv = ["manage.py", "preview", "tiktok-order", str(broken), "--statement", str(TRANSACTIONS_FILE)]
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line([*argv, "--shop", "tt-us"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_an_unreadable_transactions_file_exits_1(us_shop, tmp_path, capsys):
    broken = tmp_path / "transactions.json"
    broken.write_text('{"data": {"sku_transactions": "no"}}')
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(
            [
                "manage.py",
                "preview",
                "tiktok-order",
                str(ORDER_FILE),
                "--statement",
                str(broken),
                "--shop",
                "tt-us",
            ]
        )
    assert exit_.value.code == 1 and "sku_transactions" in capsys.readouterr().err


def test_one_order_object_is_read_as_well_as_the_envelope(us_shop, tmp_path):
    one = tmp_path / "one.json"
    one.write_text(json.dumps(raw_order()))
    assert preview(one)[0] == 0


def test_a_settlement_that_disagrees_with_the_order_is_held(us_shop, tmp_path):
    envelope = json.loads(TRANSACTIONS_FILE.read_text())
    row = envelope["data"]["sku_transactions"][0]
    row["revenue_breakdown"]["subtotal_before_discount_amount"] = "98.95"
    row["revenue_amount"], row["settlement_amount"] = "83.96", "68.93"
    envelope["data"]["revenue_amount"], envelope["data"]["settlement_amount"] = "199.56", "166.04"
    changed = tmp_path / "transactions.json"
    changed.write_text(json.dumps(envelope))
    code, output, _ = preview(transactions=changed)
    assert code == 2 and [p["code"] for p in output["problems"]] == ["SOURCE_INCONSISTENT"]


def test_an_order_no_statement_has_settled_previews_its_invoice_alone(us_shop, tmp_path):
    envelope = json.loads(TRANSACTIONS_FILE.read_text())
    envelope["data"] = {"order_id": WORKED_ORDER_ID, "currency": "USD", "sku_transactions": []}
    empty = tmp_path / "transactions.json"
    empty.write_text(json.dumps(envelope))
    code, output, _ = preview(transactions=empty)
    assert code == 0 and [d["type"] for d in output["documents"]] == ["Invoice"]
    assert [i["code"] for i in output["information"]] == ["ORDER_NOT_SETTLED"]


def test_an_order_settled_over_two_statements_is_held(us_shop, tmp_path):
    envelope = json.loads(TRANSACTIONS_FILE.read_text())
    envelope["data"]["sku_transactions"][1]["statement_id"] = "7301000000000000002"
    split = tmp_path / "transactions.json"
    split.write_text(json.dumps(envelope))
    code, output, _ = preview(transactions=split)
    assert code == 2 and [p["code"] for p in output["problems"]] == ["UNSUPPORTED_ORDER"]


def test_a_pulled_statement_dates_the_payment_and_journal(us_shop):
    from reconciliation.models import Statement

    Statement.objects.create(
        shop=us_shop,
        statement_id="7301000000000000001",
        statement_date=date(2025, 11, 14),
        currency="USD",
        settlement_amount=D("167.04"),
    )
    code, output, _ = preview()
    assert code == 0 and output["information"] == []
    assert [d["payload"]["Date"] for d in output["documents"][1:]] == ["2025-11-14", "2025-11-14"]


def test_the_shops_own_sku_row_overrides_the_channel_row(us_shop):
    other = Shop.objects.create(
        channel="tiktok", code="tt-other", name="Other", region="US", currency="USD", clearing_account="1210"
    )
    SkuMapping.objects.create(
        channel="tiktok", shop=us_shop, channel_sku="HOODIE-BLK-M", item_code="HOODIE-US"
    )
    SkuMapping.objects.create(channel="tiktok", shop=other, channel_sku="HOODIE-BLK-M", item_code="HOODIE-X")
    TaxRateMapping.objects.create(
        channel="tiktok", region="us", source_tax="SALES_TAX", usage="sales", tax_type="TAX10"
    )

    maps = selectors.order_maps(us_shop)

    assert maps.sku["HOODIE-BLK-M"] == "HOODIE-US" and maps.sku["MUG-WHT"] == "MUG-WHT"
    assert maps.bundles["GIFTSET-3"][0].quantity == 2 and maps.bundles["GIFTSET-3"][1].weight == D("18.00")
    assert maps.tax == {("tiktok", "US", "SALES_TAX", "sales"): "TAX10"}
    code, output, _ = preview()
    hoodie = next(
        line
        for line in output["documents"][0]["payload"]["LineItems"]
        if "hoodie" in line["Description"].lower()
    )
    assert code == 0 and hoodie["ItemCode"] == "HOODIE-US"


def test_an_imported_shop_tax_row_is_the_one_the_invoice_lines_carry(us_shop, tmp_path):
    us_shop.line_amount_types = "Exclusive"  # a seller's own tax: the tax-rate map is read
    us_shop.save()
    sheet = tmp_path / "tax_rates.csv"
    sheet.write_text(
        "channel,shop,region,source_tax,direction,tax_type\n"
        "tiktok,,US,*,sales,CHANNELTAX\n"
        "tiktok,tt-us,US,*,sales,SHOPTAX\n"
    )
    assert mappings_import(kind="tax_rates", path=sheet, dry_run=False).created == 2

    code, output, _ = preview()

    invoice = output["documents"][0]["payload"]
    assert code == 0 and len(invoice["LineItems"]) > 1
    assert {line["TaxType"] for line in invoice["LineItems"]} == {"SHOPTAX"}


def test_the_shops_order_invoice_settings_reach_the_planner(us_shop):
    us_shop.order_invoice_prefix = "US-"
    us_shop.save()
    settings = selectors.order_invoice_settings(us_shop)
    assert (settings.sales, settings.sales_tax, settings.tax_presentation) == ("4000", "2300", "gross")
    assert settings.finalised_status == "AWAITING_COLLECTION"
    _, output, _ = preview()
    assert output["documents"][0]["payload"]["InvoiceNumber"] == f"US-{WORKED_ORDER_ID}"


def test_a_refresh_caches_the_organisations_items_from_xero(us_shop, xero_spec_path):
    sandbox = with_xero_org(us_shop, xero_spec_path)
    connection = us_shop.xero_connection
    connection.refresh_from_db()

    assert sorted(i["Code"] for i in connection.items) == ["CANDLE-SOY", "HOODIE-BLK-M", "MUG-WHT", "TEE-1"]
    org = selectors.org_settings(connection)
    assert org is not None and org.items == frozenset({"CANDLE-SOY", "HOODIE-BLK-M", "MUG-WHT", "TEE-1"})
    assert any(r.method == "GET" and r.path.endswith("/Items") for r in sandbox.requests)
    assert sandbox.spec_checked and sandbox.spec_violations == []


def test_items_never_read_are_none_not_empty(us_shop):
    connection = sandbox_connection_row()
    assert selectors.org_settings(connection).items is None  # type: ignore[union-attr]


def sandbox_connection_row():
    from reconciliation.models import XeroConnection

    return XeroConnection.objects.create(
        name="Org", tenant_id="t-1", base_currency="USD", settings_refreshed_at="2026-11-01T00:00:00Z"
    )
