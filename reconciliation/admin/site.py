"""The admin's own name: LedgerSync in the header and the browser tab, and "View site" leads to
the landing page (ledgersync/views.py), not Django's defaults."""

from django.contrib import admin

admin.site.site_header = "LedgerSync"
admin.site.site_title = "LedgerSync"
admin.site.index_title = "Back office"
admin.site.site_url = "/"
