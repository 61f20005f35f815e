"""Money in the admin's tables: right-aligned with tabular figures, so the decimals of a column line
up (issue 7, "the back office").

One CSS class, `ls-money` (reconciliation/static/reconciliation/ledgersync.css): our own tables put
it on their money cells and headers (`MONEY_ATTRS`: documents.py's `Cell(number=True)`, payouts.py's
`table(money=...)`; the dashboard's and the close pack's templates). A change list's cells and headers are rendered by
Django, which takes no class per column, so a display method marked with `money_column` gets the
same look through `{% money_columns cl %}` (templates/admin/change_list.html).
"""

from collections.abc import Callable

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

MONEY_CLASS = "ls-money"
MONEY_ATTRS = mark_safe(f' class="{MONEY_CLASS}"')  # for a <td> or <th> of our own tables
# ledgersync.css's `.ls-money`, for the change list columns Django renders without our class.
MONEY_STYLE = "text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap;"


def money_column(description: str, ordering: str | None = None) -> Callable:
    """@admin.display for a change list column that holds money: it is aligned as money."""

    def mark(method):
        method = admin.display(description=description, ordering=ordering)(method)
        method.money_column = True
        return method

    return mark


def money_columns_style(model_admin, list_display) -> SafeString:
    """A <style> aligning the change list's money columns (see money_column), or ""."""
    names = [
        name
        for name in list_display
        if isinstance(name, str) and getattr(getattr(model_admin, name, None), "money_column", False)
    ]
    if not names:
        return mark_safe("")
    # .field-<name>, not td.field-<name>: a row's link column is a <th> (list_display_links)
    selectors = format_html_join(
        ", ", "#result_list .column-{0}, #result_list .field-{0}", ((name,) for name in names)
    )
    return format_html("<style>{} {{ {} }}</style>", selectors, MONEY_STYLE)
