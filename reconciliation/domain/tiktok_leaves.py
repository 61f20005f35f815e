"""Which leaves of a TikTok 202501 statement transaction add up, and which only explain.

Read from TikTok's own description of `GET /finance/202501/statements/{id}/statement_transactions`
(see docs/ARCHITECTURE.md, "TikTok's description is the contract"): `revenue_breakdown`,
`shipping_cost_breakdown`, `fee_tax_breakdown.fee` and `fee_tax_breakdown.tax` are described as
"the list of amounts that directly contribute to" their group total, so their leaves are additive;
every `supplementary_component` is described as "for your reference ... do not directly
contribute", so its leaves are information. `tests/domain/test_tiktok_leaves.py` fails when the
description declares a leaf that is in neither list.

A leaf TikTok adds later is in neither list: if it moves money, its group total no longer equals
the known leaves and the difference surfaces as `<group>.unclassified` naming it.
"""

REVENUE = frozenset(
    {
        "subtotal_before_discount_amount",
        "seller_discount_amount",
        "refund_subtotal_before_discount_amount",
        "seller_discount_refund_amount",
        "cod_service_fee_amount",
        "refund_cod_service_fee_amount",
    }
)

SHIPPING = frozenset(
    {
        "actual_shipping_fee_amount",
        "customer_paid_shipping_fee_amount",
        "exchange_shipping_fee_amount",
        "failed_delivery_subsidy_amount",
        "fbt_free_shipping_fee_amount",
        "fbt_fulfillment_fee_reimbursement_amount",
        "free_return_subsidy_amount",
        "replacement_shipping_fee_amount",
        "return_shipping_fee_amount",
        "return_shipping_fee_paid_buyer_amount",
        "return_shipping_label_fee_amount",
        "seller_self_shipping_service_fee_amount",
        "shipping_fee_discount_amount",
        "shipping_fee_guarantee_reimbursement",
        "shipping_insurance_fee_amount",
        "signature_confirmation_fee_amount",
    }
)

FEE = frozenset(
    {
        "affiliate_ads_commission_amount",
        "affiliate_commission_amount",
        # Described as a deposit taken after payment and its later release; both sit directly in
        # `fee`, whose leaves "directly contribute" to fee_tax_amount, so they add.
        "affiliate_commission_deposit",
        "affiliate_commission_release",
        "affiliate_partner_commission_amount",
        "bonus_cashback_service_fee_amount",
        "campaign_resource_fee",
        "cofunded_creator_bonus_amount",
        "cofunded_promotion_service_fee_amount",
        "credit_card_handling_fee_amount",
        "dt_handling_fee_amount",
        "dynamic_commission_amount",
        "epr_pob_service_fee_amount",
        "external_affiliate_marketing_fee_amount",
        "fee_per_item_sold_amount",
        "flash_sales_service_fee_amount",
        "installation_service_fee",
        "live_specials_fee_amount",
        "mall_service_fee_amount",
        "platform_commission_amount",
        "pre_order_service_fee_amount",
        "referral_fee_amount",
        "refund_administration_fee_amount",
        "seller_paylater_handling_fee_amount",
        "sfp_service_fee_amount",
        "shipping_fee_guarantee_service_fee",
        "tap_shop_ads_commission",
        "transaction_fee_amount",
        "tsp_commission_amount",
        "vn_fix_infrastructure_fee",
        "voucher_xtra_service_fee_amount",
    }
)

TAX = frozenset(
    {
        "anti_dumping_duty_amount",
        "customs_clearance_amount",
        "customs_duty_amount",
        "gst_amount",
        "import_vat_amount",
        "isr_amount",
        "iva_amount",
        "local_vat_amount",
        "pit_amount",
        "sst_amount",
        "vat_amount",
    }
)

# Leaves beside the additive ones that only explain them (kept as information, never summed).
FEE_INFORMATION = frozenset(
    {
        # "the affiliate ads commission paid to a creator before any personal income tax
        # withholding": the commission itself is affiliate_commission_amount, the tax pit_amount.
        "affiliate_commission_amount_before_pit",
    }
)

SHIPPING_SUPPLEMENTARY = frozenset(
    {
        "customer_shipping_fee",
        "customer_shipping_fee_offset_amount",
        "fbm_shipping_cost_amount",
        "fbt_fulfillment_fee_amount",
        "fbt_fulfillment_fee_reimbursement_amount",
        "fbt_shipping_cost_amount",
        "platform_shipping_fee_discount_amount",
        "promo_shipping_incentive_amount",
        "refund_customer_shipping_fee",
        "refunded_customer_shipping_fee_amount",
        "return_refund_subsidy_amount",
        "seller_shipping_fee_discount_amount",
        "shipping_fee_subsidy_amount",
    }
)

TRANSACTION_SUPPLEMENTARY = frozenset(
    {
        "customer_payment_amount",
        "customer_refund_amount",
        "platform_cofunded_discount_amount",
        "platform_cofunded_discount_refund_amount",
        "platform_discount_amount",
        "platform_discount_refund_amount",
        "retail_delivery_fee_amount",
        "retail_delivery_fee_payment_amount",
        "retail_delivery_fee_refund_amount",
        "sales_tax_amount",
        "sales_tax_payment_amount",
        "sales_tax_refund_amount",
        "seller_cofunded_discount_amount",
        "seller_cofunded_discount_refund_amount",
    }
)

# Transaction fields that identify or describe it (kept on the transaction, never summed).
TRANSACTION_FIELDS = frozenset(
    {
        "id",
        "type",
        "order_id",
        "order_create_time",
        "adjustment_id",
        "adjustment_order_id",
        "associated_order_id",
        "reserve_id",
        "reserve_status",
        "estimated_release_time",
    }
)

# Transaction amounts: the settlement, its four group totals, and the reserve outside it.
TRANSACTION_AMOUNTS = frozenset(
    {
        "settlement_amount",
        "revenue_amount",
        "shipping_cost_amount",
        "fee_tax_amount",
        "adjustment_amount",
        "reserve_amount",
    }
)

# group -> (its total field on a transaction, breakdown field, {sub-object or None: additive leaves},
#           the statement total in total_settlement_breakdown)
GROUPS = {
    "revenue": ("revenue_amount", "revenue_breakdown", {None: REVENUE}, "total_revenue_amount"),
    "shipping": (
        "shipping_cost_amount",
        "shipping_cost_breakdown",
        {None: SHIPPING},
        "total_shipping_cost_amount",
    ),
    "fee_tax": ("fee_tax_amount", "fee_tax_breakdown", {"fee": FEE, "tax": TAX}, "total_fee_tax_amount"),
}

# Leaf-name prefix of each (group, sub-object) in component names: revenue.*, shipping.*, fee.*, tax.*
PREFIX = {("revenue", None): "revenue", ("shipping", None): "shipping", ("fee_tax", "fee"): "fee"}
PREFIX[("fee_tax", "tax")] = "tax"


def component_names() -> dict[str, frozenset[str]]:
    """Prefix -> additive leaf names: what the component map may name (with adjustment.* and reserve)."""
    return {"revenue": REVENUE, "shipping": SHIPPING, "fee": FEE, "tax": TAX}
