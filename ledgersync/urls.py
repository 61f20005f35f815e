from django.contrib import admin
from django.urls import path

from reconciliation.webhooks import tiktok_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("webhooks/tiktok/", tiktok_webhook, name="tiktok-webhook"),
]
