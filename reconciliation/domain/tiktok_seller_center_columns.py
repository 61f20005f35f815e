"""What each column of a TikTok Seller Center settlement export means (DESIGN.md 4.1, last bullet).

Shops without API access download the statement / order settlement export from Seller Center
(Finance > Statements > Export, or Finance > Settlements). Its header names vary by region and over
time, so a column is found by any of its aliases, compared without case, spaces or punctuation (and
without a "(UTC)" suffix): "Order/adjustment ID", "Order\\adjustment ID" and "Order/Adjustment ID"
are one column.

Each amount column is one of:
- a LEAF: the Seller Center figure of the API leaf of the same meaning (tiktok_leaves.py), so the file
  gives the same components as the API. Several columns may feed one leaf where TikTok's description
  says one is "part of" the other (refunded customer shipping fee is part of
  customer_paid_shipping_fee_amount; the shipping fee subsidy is part of shipping_fee_discount_amount);
- a TOTAL: a group total (Total revenue, Seller shipping fee, Total fees, Total settlement amount),
  used as a check exactly like the API's group totals;
- a SUBTOTAL: a figure derived from two leaves (Subtotal after seller discounts), checked;
- INFORMATION: explains and never adds (customer payment, platform discounts, affiliate commission
  before PIT, package weights, SKU columns), as TikTok's `supplementary_component` does.
Anything else is an UNKNOWN column: reported, and a non-zero amount in it holds its statement.

Where the names come from (see also the README, "Seller Center files"). Evidence, not TikTok's own
documentation, which needs a Seller Center login:
- dataone-stack/dbt `models/t2/t2_tiktok_brand_statement_transaction_order_tot.sql`: rebuilds the
  Seller Center "income" sheet from 202309/202501 statement-transaction data, column by column
  (Subtotal before discounts = revenue_breakdown.subtotal_before_discount_amount, Seller discounts,
  Refund subtotal before seller discounts, Refund of seller discounts, Total fees = fee_tax_amount,
  Transaction fee, Actual shipping fee, Customer shipping fee, Actual return shipping fee, TikTok Shop
  commission fee = platform_commission_amount, Affiliate commission, Affiliate Shop Ads commission =
  affiliate_ads_commission_amount, Affiliate partner commission, SFP service fee, LIVE Specials
  service fee, Voucher Xtra service fee, Flash Sale service fee, Bonus cashback service fee, VAT /
  PIT withheld by TikTok Shop, Adjustment amount, Related order ID, Customer payment, Platform
  discounts, ... as information);
- ComaGear/shopeesalescoverter `constants/Columns/IncomeTikTokSettlementColumn.java` and
  `contentHandler/TikTokIncomeReportContentHandler.java` (MY): Transaction fee, TikTok Shop commission
  fee, SFP service fee, Platform shipping fee discount, Customer shipping fee, Actual shipping fee,
  Seller shipping fee, Affiliate (Shop Ads / partner) commission, Total settlement amount, Total
  revenue; headers with trailing spaces; fees are negative in the file (it negates them);
- public TikTok income-sheet parsers (code search, repositories not named by the index): a Python
  PAYOUT_HEADERS list (PH: Order/adjustment ID, Type, Order created time, Order settled time, Currency,
  Total settlement amount, Total revenue, Subtotal after seller discounts, ..., "Ajustment amount"
  spelled so, Related order ID, Estimated / Actual package weight (g)); a schema note of an MY income
  CSV with "Statement Date", "Statement ID", SKU ID, Quantity, Product name (one row per SKU line);
  a JavaScript summary listing "Seller shipping fee" parts (Actual shipping fee, Platform shipping fee
  discount, Customer shipping fee, Actual return shipping fee, Refunded customer shipping fee,
  Shipping subsidy) and "Affiliate commission" parts (before PIT, PIT withheld); a 2026 test fixture
  with "Order/Adjustment ID" and "Transaction type"; a US "unsettled orders" workbook with banner
  rows above the header and "Referral fee";
- narongrit-tech/saas-dashboard `frontend/src/lib/importers/tiktok-income.ts` (TH): the header row is
  searched for in the first 30 rows; the "Order details" sheet; Order/adjustment ID, Type, Order
  settled time, Total settlement amount, Total revenue, Currency;
- a Scribd copy of an IDR income export: header "Order/adjustment ID, Type, Order created time(UTC),
  Order settled time(UTC)", dates as 2024/04/12.
Every alias marked GUESS below is a name we have not seen in a file: it follows TikTok's API leaf name
or the brief; a wrong guess only makes a column unknown, which holds the statement (never a silent
drop).
"""

from dataclasses import dataclass

LEAF, TOTAL, SUBTOTAL, INFORMATION = "leaf", "total", "subtotal", "information"
# Non-amount columns the statement is built from.
ID, TYPE, ORDER, CREATED, SETTLED, CURRENCY, STATEMENT_ID, STATEMENT_DATE = (
    "id",
    "type",
    "order",
    "created",
    "settled",
    "currency",
    "statement_id",
    "statement_date",
)


@dataclass(frozen=True)
class Column:
    """What a Seller Center column holds: `role` (LEAF, TOTAL, ... or one of the key roles),
    `target` (the component of a LEAF, the group of a TOTAL, the two leaves of a SUBTOTAL), and
    whether the alias is a GUESS (not seen in a real export)."""

    role: str
    target: str | tuple[str, ...] = ""
    guess: bool = False


def _leaf(component: str, guess: bool = False) -> Column:
    return Column(LEAF, component, guess)


KEYS = {
    "Order/adjustment ID": Column(ID),
    "Type": Column(TYPE),
    "Transaction type": Column(TYPE),
    "Related order ID": Column(ORDER),
    "Order created time": Column(CREATED),
    "Order settled time": Column(SETTLED),
    "Currency": Column(CURRENCY),
    "Statement ID": Column(STATEMENT_ID),
    "Statement date": Column(STATEMENT_DATE),
}

# In the order the API lists its leaves, so journals list lines the same way for both sources.
LEAVES = {
    "Subtotal before discounts": _leaf("revenue.subtotal_before_discount_amount"),
    "Seller discounts": _leaf("revenue.seller_discount_amount"),
    "Refund subtotal before seller discounts": _leaf("revenue.refund_subtotal_before_discount_amount"),
    "Refund of seller discounts": _leaf("revenue.seller_discount_refund_amount"),
    "COD service fee": _leaf("revenue.cod_service_fee_amount", guess=True),
    "Actual shipping fee": _leaf("shipping.actual_shipping_fee_amount"),
    # The platform's shipping discount is the additive shipping_fee_discount_amount ("all subsidies");
    # the API repeats it as supplementary platform_shipping_fee_discount_amount. In the file it is a
    # part of "Seller shipping fee", so it adds there too.
    "Platform shipping fee discount": _leaf("shipping.shipping_fee_discount_amount"),
    "Shipping fee subsidy": _leaf("shipping.shipping_fee_discount_amount"),
    "Shipping subsidy": _leaf("shipping.shipping_fee_discount_amount"),
    "Customer shipping fee": _leaf("shipping.customer_paid_shipping_fee_amount"),
    # finance.json: refunded_customer_shipping_fee_amount "is part of customer_paid_shipping_fee_amount"
    "Refunded customer shipping fee": _leaf("shipping.customer_paid_shipping_fee_amount"),
    "Refund customer shipping fee": _leaf("shipping.customer_paid_shipping_fee_amount"),
    "Actual return shipping fee": _leaf("shipping.return_shipping_fee_amount"),
    "Return shipping fee": _leaf("shipping.return_shipping_fee_amount", guess=True),
    "Referral fee": _leaf("fee.referral_fee_amount"),
    "Transaction fee": _leaf("fee.transaction_fee_amount"),
    "TikTok Shop commission fee": _leaf("fee.platform_commission_amount"),
    "Affiliate commission": _leaf("fee.affiliate_commission_amount"),
    "Affiliate Shop Ads commission": _leaf("fee.affiliate_ads_commission_amount"),
    "Affiliate partner commission": _leaf("fee.affiliate_partner_commission_amount"),
    "Affiliate commission deposit": _leaf("fee.affiliate_commission_deposit", guess=True),
    "SFP service fee": _leaf("fee.sfp_service_fee_amount"),
    "LIVE Specials service fee": _leaf("fee.live_specials_fee_amount"),
    "Voucher Xtra service fee": _leaf("fee.voucher_xtra_service_fee_amount"),
    "Flash Sale service fee": _leaf("fee.flash_sales_service_fee_amount"),
    "Brands Crazy Deals/Flash Sale service fee": _leaf("fee.flash_sales_service_fee_amount"),
    "Bonus cashback service fee": _leaf("fee.bonus_cashback_service_fee_amount"),
    "Dynamic commission": _leaf("fee.dynamic_commission_amount", guess=True),
    "Credit card installment - Handling fee": _leaf("fee.credit_card_handling_fee_amount", guess=True),
    "Campaign resource fee": _leaf("fee.campaign_resource_fee", guess=True),
    "Pre-order service fee": _leaf("fee.pre_order_service_fee_amount", guess=True),
    "Refund administration fee": _leaf("fee.refund_administration_fee_amount", guess=True),
    "VAT withheld by TikTok Shop": _leaf("tax.vat_amount"),
    "PIT withheld by TikTok Shop": _leaf("tax.pit_amount"),
    "GST": _leaf("tax.gst_amount", guess=True),
    "SST": _leaf("tax.sst_amount", guess=True),
    "Adjustment amount": _leaf("adjustment"),
    "Ajustment amount": _leaf("adjustment"),  # TikTok's own spelling in PH / MY exports
}

TOTALS = {
    "Total settlement amount": Column(TOTAL, "settlement"),
    "Total revenue": Column(TOTAL, "revenue"),
    # GUESS that it is the shipping group total: a public summary script lists its parts as the
    # shipping leaves above; one dbt model maps it to a supplementary field instead. If it is not the
    # total, the check holds the statement SOURCE_INCONSISTENT naming both figures.
    "Seller shipping fee": Column(TOTAL, "shipping", guess=True),
    "Total fees": Column(TOTAL, "fee_tax"),
}

SUBTOTALS = {
    "Subtotal after seller discounts": Column(
        SUBTOTAL, ("revenue.subtotal_before_discount_amount", "revenue.seller_discount_amount")
    ),
    "Refund subtotal after seller discounts": Column(
        SUBTOTAL, ("revenue.refund_subtotal_before_discount_amount", "revenue.seller_discount_refund_amount")
    ),
}

_INFORMATION = (
    "Affiliate commission before PIT (personal income tax)",
    "Personal income tax withheld from affiliate commission",
    "Affiliate Shop Ads commission before PIT",
    "Personal income tax withheld from affiliate Shop Ads commission",
    "Customer payment",
    "Customer refund",
    "Sales tax payment",  # US: not in the settlement (a public US workbook's figures add up without it)
    "Seller co-funded voucher discount",
    "Refund of seller co-funded voucher discount",
    "Platform discounts",
    "Refund of platform discounts",
    "Platform co-funded voucher discounts",
    "Refund of platform co-funded voucher discounts",
    "Seller shipping fee discount",
    "Estimated package weight (g)",
    "Actual package weight (g)",
    "Estimated package weight",
    "Chargeable package weight",
    "Details of items sold",
    "SKU ID",
    "Quantity",
    "Product name",
    "SKU name",
    "Payment ID",
)
INFORMATION_COLUMNS = {name: Column(INFORMATION) for name in _INFORMATION}

ALL = {**KEYS, **LEAVES, **TOTALS, **SUBTOTALS, **INFORMATION_COLUMNS}

# Seller Center's "Type" -> the API's transaction type where the spelling differs (the rest is
# upper-cased with underscores: "Platform reimbursement" -> PLATFORM_REIMBURSEMENT, as the API).
TYPES = {"GMV_PAYMENT_FOR_TIKTOK_ADS": "GMV_PAYMENT_FOR_ADS"}  # GUESS from the API's description
