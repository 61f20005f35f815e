"""The admin's own name: LedgerSync in the header and the browser tab, and "View site" leads to
the landing page (ledgersync/views.py), not Django's defaults."""

from django.contrib import admin

admin.site.site_header = "LedgerSync"
admin.site.site_title = "LedgerSync"
admin.site.index_title = "Back office"
admin.site.site_url = "/"


def _get_urls(default=admin.site.get_urls):
    """The admin's own URLs, the month-end close pack at admin/close-pack/
    (reconciliation/admin/close.py) and the Connections pages at admin/connections/
    (reconciliation/admin/connections.py), behind the admin's login like every admin page."""
    from django.urls import path

    from reconciliation.admin.close import close_pack_view
    from reconciliation.admin.connections import urls as connection_urls

    return [
        path("close-pack/", admin.site.admin_view(close_pack_view), name="close_pack"),
        *connection_urls(),
        *default(),
    ]


admin.site.get_urls = _get_urls  # type: ignore[method-assign]
