"""Downloadable sheet templates: the header row and example rows of one kind of map, as CSV or XLSX.

In the XLSX, code columns are formatted as Text, so that a code typed into them later keeps its
leading zeros (`090`) and is not read as a number, a date or TRUE (resources.py _code_cell).
"""

import csv
import io

import openpyxl
from openpyxl.utils import get_column_letter

TEXT = "@"  # Excel's "Text" number format
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def template_columns(resource_class) -> tuple[str, ...]:
    """Every column the sheet takes, required ones first."""
    return resource_class.columns()


def template_rows(resource_class) -> list[list[str]]:
    width = len(template_columns(resource_class))
    return [list(row) + [""] * (width - len(row)) for row in resource_class.example_rows]


def template_csv(resource_class) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(template_columns(resource_class))
    writer.writerows(template_rows(resource_class))
    return ("\ufeff" + out.getvalue()).encode()  # with a BOM, so Excel opens it as UTF-8


def template_xlsx(resource_class) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    columns = template_columns(resource_class)
    sheet.append(columns)
    for row in template_rows(resource_class):
        sheet.append(row)
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(column) + 4)
        if column in resource_class.code_columns:
            sheet.column_dimensions[letter].number_format = TEXT
            for (cell,) in sheet.iter_rows(min_col=index, max_col=index):
                cell.number_format = TEXT
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sheet_template(resource_class, file_format: str) -> bytes:
    if file_format == "csv":
        return template_csv(resource_class)
    if file_format == "xlsx":
        return template_xlsx(resource_class)
    raise ValueError(f"templates are csv or xlsx, not {file_format!r}")
