from django.contrib import admin
from django.urls import include, path

from reconciliation.webhooks import tiktok_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("reconciliation.api.urls")),
    path("webhooks/tiktok/", tiktok_webhook, name="tiktok-webhook"),
]
