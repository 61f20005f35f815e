"""Account, tax type and item fields that offer the organisations' own values (issue 7, item 6).

A text input with an HTML <datalist> of what the connected Xero organisations last read from Xero
(XeroConnection.accounts / tax_rates / items, refreshed by services/organisation.py): the browser
suggests `4000 (Sales)` as the operator types, and any other value can still be typed (the sheet and
form checks say whether the organisation has it). Read when the form is drawn, so a refresh shows
at once.
"""

from django import forms
from django.utils.html import format_html, format_html_join

from reconciliation.models import XeroConnection

# cached setting -> (the code's key, the name's key)
KEYS = {"accounts": ("Code", "Name"), "tax_rates": ("TaxType", "Name"), "items": ("Code", "Name")}


def organisation_values(cached: str) -> list[tuple[str, str]]:
    """(code, label) for every code any organisation has cached, sorted, each once."""
    code_key, name_key = KEYS[cached]
    found: dict[str, str] = {}
    for records in XeroConnection.objects.values_list(cached, flat=True):
        for record in records or []:
            code = record.get(code_key)
            if code and code not in found:
                found[code] = f"{code} ({record[name_key]})" if record.get(name_key) else code
    return sorted(found.items())


class OrganisationChoicesInput(forms.TextInput):
    """A text input with a <datalist> of the organisations' cached `cached` values."""

    def __init__(self, cached: str, attrs=None):
        super().__init__(attrs)
        self.cached = cached

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{(attrs or {}).get('id') or name}_choices"
        attrs = {**(attrs or {}), "list": list_id, "autocomplete": "off"}
        options = format_html_join("", '<option value="{}">{}</option>', organisation_values(self.cached))
        html = super().render(name, value, attrs, renderer)
        return format_html('{}<datalist id="{}">{}</datalist>', html, list_id, options)


def organisation_widgets(**fields: str) -> dict[str, OrganisationChoicesInput]:
    """Form Meta.widgets: field name -> the organisations' `cached` values."""
    return {name: OrganisationChoicesInput(cached) for name, cached in fields.items()}
