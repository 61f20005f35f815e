"""Plain-text summaries for the command line (sync, demo)."""


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
        lines.append(f"    - {reason}: {source_ref}: {first_line}")
    return lines


def reconciliation_lines(rows: list[dict]) -> list[str]:
    lines = [
        "Payouts through the clearing account (residue = deposit - reserve on the receipt - journals posted through clearing)",
        "  payout               paid         deposit  statements     posted  receive   residue",
    ]
    for r in rows:
        lines.append(
            f"  {r['payout']:<20} {r['paid_date']!s:<10} {r['deposit']:>9} {r['statements_total']:>11}"
            f" {r['posted_to_clearing']:>10}  {r['receive']:<8} {r['residue']:>8}"
        )
    return lines
