"""Plain-text summaries for the command line (sync, demo)."""

from reconciliation.models.quarantine import Reason


def summary_lines(summary: dict) -> list[str]:
    postings = summary["postings"]
    lines = [
        "Summary",
        f"  Xero documents posted: {postings.get('posted', 0)}",
        f"  waiting to send or retry: {sum(postings.get(s, 0) for s in ('ready', 'retry', 'unknown', 'sending'))}",
        f"  held for finance: {postings.get('held', 0)}",
        f"  bank receipts waiting for their statements: {postings.get('waiting', 0)}",
        f"  quarantined items open: {sum(summary['quarantine'].values())}",
    ]
    for reason, source_ref, message in summary["quarantine_items"]:
        first_line = message.splitlines()[0] if message else ""
        lines.append(f"    - {_reason_label(reason)}: {source_ref}: {first_line}")
    return lines


def _reason_label(code: str) -> str:
    """A quarantine reason in finance's words (its code when a newer one is not known here)."""
    return Reason(code).label if code in Reason.values else code


def reconciliation_lines(rows: list[dict]) -> list[str]:
    lines = [
        "Payouts through the clearing account (residue = deposit - reserve on the receipt - journals and "
        "payments posted through clearing)",
        "  payout               paid       currency   deposit  statements     posted  receive   residue",
    ]
    for r in rows:
        lines.append(
            f"  {r['payout']:<20} {r['paid_date']!s:<10} {r['currency']:<8} {r['deposit']:>9} {r['statements_total']:>11}"
            f" {r['posted_to_clearing']:>10}  {r['receive']:<8} {r['residue']:>8}"
        )
    return lines


def order_document_lines(posted: dict[str, int]) -> list[str]:
    """What posting mode "order invoices" put in Xero, from selectors.posted_by_purpose."""
    invoices, credits = posted.get("order_invoice", 0), posted.get("order_credit_note", 0)
    paid, refunded = posted.get("order_payment", 0), posted.get("credit_note_refund", 0)
    return [
        "Order documents in Xero",
        f"  invoices posted: {invoices}",
        f"  credit notes posted: {credits} (allocated to their invoice: "
        f"{posted.get('order_credit_allocation', 0)}, refunded out of clearing: {refunded})",
        f"  payments posted: {paid + refunded} (invoices paid into clearing: {paid}, credit notes "
        f"refunded out of clearing: {refunded})",
        f"  fees journals posted: {posted.get('order_settlement_journal', 0)}",
        f"  bank receipts (RECEIVE) posted: {posted.get('payout_receive', 0)}",
    ]
