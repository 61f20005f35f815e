from django.contrib import admin
from django.urls import include, path

from ledgersync.views import landing, readme
from reconciliation.webhooks import tiktok_webhook

urlpatterns = [
    path("", landing, name="landing"),
    path("readme/", readme, name="readme"),
    path("admin/", admin.site.urls),
    path("api/", include("reconciliation.api.urls")),
    path("webhooks/tiktok/", tiktok_webhook, name="tiktok-webhook"),
]

# A refusal in the admin's layout, saying why (ledgersync/refusals.py, templates/403.html).
handler403 = "ledgersync.refusals.refused"
