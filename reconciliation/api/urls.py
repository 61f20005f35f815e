"""/api/: the read endpoints, the finance decisions, statement uploads, tokens and the schema."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from reconciliation.api import views
from reconciliation.api.docs import DocsView
from reconciliation.api.upload import StatementUploadView

app_name = "api"

router = DefaultRouter()
router.register("postings", views.PostingViewSet, basename="posting")
router.register("attempts", views.AttemptViewSet, basename="attempt")
router.register("exceptions", views.ExceptionViewSet, basename="exception")
router.register("statements", views.StatementViewSet, basename="statement")
router.register("payouts", views.PayoutViewSet, basename="payout")


urlpatterns = [
    # before the router, so "upload" is not read as a statement id
    path("statements/upload/", StatementUploadView.as_view(), name="statement-upload"),
    path("token/", views.TokenView.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]
