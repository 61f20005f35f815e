"""`{% money_columns cl %}`: a change list's money columns aligned as money (reconciliation/admin/money.py)."""

from django import template

from reconciliation.admin.money import money_columns_style

register = template.Library()


@register.simple_tag
def money_columns(cl):
    return money_columns_style(cl.model_admin, cl.list_display)
