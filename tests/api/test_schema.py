"""The OpenAPI schema validates, lists every endpoint, and its UI is served from our static files."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db
ENDPOINTS = [
    "/api/postings/",
    "/api/postings/{id}/",
    "/api/attempts/",
    "/api/attempts/{id}/",
    "/api/exceptions/",
    "/api/exceptions/{id}/",
    "/api/exceptions/{id}/approve/",
    "/api/exceptions/{id}/retry/",
    "/api/exceptions/{id}/draft/",
    "/api/exceptions/{id}/dismiss/",
    "/api/statements/",
    "/api/statements/{id}/",
    "/api/statements/upload/",
    "/api/payouts/",
    "/api/payouts/{id}/",
    "/api/token/",
]


def test_the_schema_validates_without_a_single_warning(tmp_path):
    out = tmp_path / "schema.yaml"

    # --fail-on-warn turns any warning (an unresolvable field type, a name clash) into an error
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    assert sorted(schema["paths"]) == sorted(ENDPOINTS)
    money = schema["components"]["schemas"]["Money"]
    assert money["properties"]["amount"]["type"] == "string"
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


@pytest.mark.parametrize("role", ["Auditor", "Operations", "Finance"])
def test_the_schema_docs_and_root_are_served_to_every_role(as_role, role):
    client = as_role(role)

    schema = client.get("/api/schema/?format=json")
    root = client.get("/api/")

    assert schema.status_code == 200
    assert "/api/exceptions/{id}/approve/" in schema.json()["paths"]
    assert client.get("/api/docs/").status_code == 200
    assert sorted(root.json()) == ["attempts", "exceptions", "payouts", "postings", "statements"]


def test_anonymous_gets_neither_schema_docs_nor_root(as_role):
    client = as_role("anonymous")

    assert [client.get(url).status_code for url in ("/api/schema/", "/api/")] == [401] * 2


def test_a_signed_out_browser_is_sent_from_the_docs_to_sign_in_and_back(client):
    response = client.get("/api/docs/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/api/docs/"


def test_the_docs_link_back_to_the_back_office(as_role):
    page = as_role("Operations").get("/api/docs/").content.decode()

    assert re.search(r'<a href="/admin/"[^>]*>Back office</a>', page)


def test_the_swagger_ui_loads_only_our_own_static_files(as_role):
    response = as_role("Auditor").get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(s.endswith("swagger-ui-bundle.js") for s in sources)
    assert all(
        s.startswith("/static/drf_spectacular_sidecar/") for s in sources if s.endswith((".js", ".css"))
    )
    assert "cdn" not in html.lower() and "https://" not in html
    for source in sources:
        if source.startswith("/static/"):
            assert finders.find(source.removeprefix("/static/")), f"{source} is not among the static files"
