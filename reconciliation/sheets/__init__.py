"""Spreadsheet maps (issue 7, item 6): rules.py (what a row obeys, sheet or form), cells.py (reading
cells as typed), base.py (the resource every sheet shares, and the Xero checks), maps.py (one
resource per kind), report.py (what an import found, for the admin and the command), templates.py
(downloadable templates), bench.py (`make bench`). reconciliation/resources.py re-exports them."""
