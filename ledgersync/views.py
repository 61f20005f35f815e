"""Pages outside the admin: the landing page at / and the README for signed-in users."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render


def landing(request: HttpRequest) -> HttpResponse:
    """What LedgerSync is, a way in, and (signed in) where to go next."""
    return render(request, "landing.html")


@login_required(login_url="admin:login")
def readme(request: HttpRequest) -> FileResponse:
    """The README as plain text: the guides, roles and commands live there (no markdown renderer
    is installed, and the text reads fine as it is)."""
    return FileResponse(
        (settings.BASE_DIR / "README.md").open("rb"), content_type="text/plain; charset=utf-8"
    )
