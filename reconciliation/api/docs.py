"""/api/docs/: Swagger UI for signed-in users (SPECTACULAR_SETTINGS' SERVE_PERMISSIONS). The page is
for a browser, linked from the landing page, so a signed-out visitor is sent to sign in and back
here rather than shown DRF's bare 401; the schema and the JSON endpoints still answer 401/403."""

from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated


class DocsView(SpectacularSwaggerView):
    template_name = "api/docs.html"  # Swagger UI with a way back to the admin

    def handle_exception(self, exc):
        if isinstance(exc, NotAuthenticated | AuthenticationFailed):
            return redirect_to_login(self.request.get_full_path(), reverse("admin:login"))
        return super().handle_exception(exc)
