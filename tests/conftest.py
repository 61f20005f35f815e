import os

import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").lower() == "true"


def need(condition: bool, reason: str) -> None:
    """Skip a test whose service or file is missing, except in CI where that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture
def xero_spec_path():
    path = settings.XERO_OPENAPI_SPEC
    need(path.exists(), f"Xero's OpenAPI file is not at {path} (set XERO_OPENAPI_SPEC or put ../shared beside the repo)")
    return path
