"""Spreadsheet maps: what a sheet import found, reported the same way in the admin and on the
command line (the resources themselves are in reconciliation/resources.py)."""
