"""`make bench`: how long a large SKU sheet takes to import (issue 7: 50,000 rows in under 20 s).

The rows are scoped to a shop of their own, whose organisation has read its Items, so every row's
item code is checked against Xero as an operator's would be. Numbers, not assertions.
"""

import csv
import tempfile
import time
from pathlib import Path

import openpyxl
from django.db import transaction
from django.utils import timezone

from reconciliation.imports import mappings_import
from reconciliation.models import Shop, SkuMapping, XeroConnection

SHOP = "bench-sheets"
ITEMS = 500
COLUMNS = ["channel", "shop", "external_sku", "item_code", "description"]


def bench_shop() -> Shop:
    connection, _ = XeroConnection.objects.update_or_create(
        tenant_id="tenant-bench-sheets",
        defaults={
            "name": "Bench sheets",
            "organisation_name": "Bench sheets",
            "items": [{"Code": f"ITEM-{i:04d}"} for i in range(ITEMS)],
            "settings_refreshed_at": timezone.now(),
        },
    )
    shop, _ = Shop.objects.update_or_create(
        code=SHOP,
        defaults={
            "channel": "tiktok",
            "name": "Bench sheets",
            "region": "US",
            "currency": "USD",
            "clearing_account": "1210",
            "xero_connection": connection,
        },
    )
    return shop


def sku_rows(count: int) -> list[list[str]]:
    # TikTok sku_ids are 19-digit numbers: text cells, as a template's Text column keeps them.
    return [
        ["tiktok", SHOP, str(1729382256910000000 + i), f"ITEM-{i % ITEMS:04d}", f"Bench product {i}"]
        for i in range(count)
    ]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def sheets_bench(count: int, write) -> None:
    """Import `count` new SKU rows as CSV, then as XLSX (each into an empty map), then the same
    XLSX again (every row unchanged); `write` gets one line per run."""
    bench_shop()
    rows = sku_rows(count)
    with tempfile.TemporaryDirectory() as folder:
        files = [
            ("CSV", write_csv(Path(folder) / "skus.csv", rows)),
            ("XLSX", write_xlsx(Path(folder) / "skus.xlsx", rows)),
        ]
        for label, path in [*files, ("XLSX again (unchanged)", files[1][1])]:
            if not label.endswith("(unchanged)"):
                with transaction.atomic():
                    SkuMapping.objects.filter(shop__code=SHOP).delete()
            started = time.perf_counter()
            report = mappings_import(kind="skus", path=path, dry_run=False)
            elapsed = time.perf_counter() - started
            write(
                f"import {count} SKU rows as {label}: {elapsed:.1f} s ({count / elapsed:,.0f} rows/s); "
                f"{report.summary()}, {len(report.errors)} errors"
            )
