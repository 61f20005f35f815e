"""Pieces every LedgerSync admin shares: read-only audit admins, spreadsheet import/export, secrets."""

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats

from reconciliation.resources import RESOURCES, SpreadsheetCSV, SpreadsheetXLSX
from reconciliation.sheets.templates import CONTENT_TYPES, sheet_template

PRE = '<pre style="white-space: pre-wrap">{}</pre>'


def pretty_json(value) -> str:
    """JSON (or JSON text, such as a stored HTTP body) indented for reading; other text as it is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return format_html(PRE, value)
    return format_html(PRE, json.dumps(value, indent=2, ensure_ascii=False, cls=DjangoJSONEncoder))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit rows: viewable with the view permission, never added, changed or deleted, even by a
    superuser (DESIGN.md 8)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SpreadsheetAdmin(ImportExportModelAdmin):
    """Import and export as CSV or XLSX through the same resources as `manage.py import_mappings`."""

    import_formats = [SpreadsheetCSV, SpreadsheetXLSX]
    export_formats = [base_formats.CSV, base_formats.XLSX]
    # Errors as text with their row numbers, and new / changed / unchanged rows (sheets/report.py).
    import_template_name = "admin/reconciliation/sheets/import.html"
    # The import / export buttons and "Download template".
    import_export_change_list_template = "admin/reconciliation/sheets/change_list.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                "template.<str:file_format>",
                self.admin_site.admin_view(self.template_view),
                name="{}_{}_sheet_template".format(*info),
            )
        ]
        return urls + super().get_urls()

    def sheet_kind(self) -> str:
        """The map's name on the command line (`import_mappings --kind`), used in file names."""
        resource = self.resource_classes[0]
        return next(kind for kind, resource_class in RESOURCES.items() if resource_class is resource)

    def template_view(self, request, file_format: str):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if file_format not in CONTENT_TYPES:
            raise Http404(f"templates are .csv or .xlsx, not .{file_format}")
        response = HttpResponse(
            sheet_template(self.resource_classes[0], file_format), content_type=CONTENT_TYPES[file_format]
        )
        response["Content-Disposition"] = f'attachment; filename="{self.sheet_kind()}-template.{file_format}"'
        return response

    def sheet_templates(self) -> list[tuple[str, str]]:
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_sheet_template"
        return [
            (
                f"template (.{file_format})",
                reverse(name, args=[file_format], current_app=self.admin_site.name),
            )
            for file_format in ("xlsx", "csv")
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "sheet_templates": self.sheet_templates()}
        return super().changelist_view(request, extra_context)

    def get_import_context_data(self, **kwargs):
        return {**super().get_import_context_data(**kwargs), "sheet_templates": self.sheet_templates()}

    def has_import_permission(self, request):
        # An import creates and updates rows: it needs both permissions (django-import-export
        # allows every staff user by default).
        opts = self.opts
        return request.user.has_perms(
            [f"{opts.app_label}.add_{opts.model_name}", f"{opts.app_label}.change_{opts.model_name}"]
        )

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_import_data_kwargs(self, **kwargs):
        # All or nothing, as on the command line: one invalid row rolls every row back.
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs["rollback_on_validation_errors"] = True
        return kwargs


# --- secrets: write-only in forms, "set" / "not set" everywhere else -------------------------------

SECRET_PREFIX = "new_"


def secret_input(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: type a value to replace the stored one, or leave blank to keep it.",
    )


def pretty(name: str, label: str):
    """A read-only admin column showing JSON field `name` indented ('-' when empty)."""

    @admin.display(description=label)
    def show(self, obj):
        value = getattr(obj, name)
        return pretty_json(value) if value not in (None, "") else "-"

    return show


def secret_state(name: str):
    """A read-only admin column that says whether secret `name` is stored, never what it is."""

    @admin.display(description=name.replace("_", " "))
    def state(self, obj) -> str:
        return "set" if obj is not None and getattr(obj, name) else "not set"

    return state


class SecretsForm(forms.ModelForm):
    """The model's encrypted fields are excluded (so their values are never a form's initial data);
    a write-only `new_<field>` input replaces a stored secret when filled in."""

    secret_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            model_field = self._meta.model._meta.get_field(name)
            if f"{SECRET_PREFIX}{name}" in self.fields and not model_field.blank:
                self.fields[f"{SECRET_PREFIX}{name}"].required = not getattr(self.instance, name)

    def save(self, commit=True):
        for name in self.secret_fields:
            value = self.cleaned_data.get(f"{SECRET_PREFIX}{name}")
            if value:
                setattr(self.instance, name, value)
        return super().save(commit)


class SecretsAdminMixin:
    """Drops the write-only inputs for users who may only view (they see the set / not set state)."""

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        opts = self.opts
        if request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}") or (
            obj is None and request.user.has_perm(f"{opts.app_label}.add_{opts.model_name}")
        ):
            return fieldsets
        return [
            (title, {**options, "fields": [f for f in options["fields"] if not f.startswith(SECRET_PREFIX)]})
            for title, options in fieldsets
        ]


def secrets_form(model, secret_fields: tuple[str, ...]) -> type[SecretsForm]:
    """A SecretsForm for `model`: each encrypted field left out, a write-only `new_<field>` instead."""
    attrs = {f"new_{name}": secret_input(f"New {name.replace('_', ' ')}") for name in secret_fields}
    attrs["secret_fields"] = secret_fields
    attrs["Meta"] = type("Meta", (), {"model": model, "exclude": secret_fields})
    return type(f"{model.__name__}Form", (SecretsForm,), attrs)
