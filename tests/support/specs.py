"""The published API descriptions the fakes and fixtures are checked against (../shared/specs)."""

from django.conf import settings

from connectors.tiktok.openapi import TikTokSpec


def tiktok_spec_if_present() -> TikTokSpec | None:
    """TikTok's description when it is beside the repository; the tests that must have it use the
    `tiktok_spec` fixture, which fails under CI=true when it is missing."""
    return TikTokSpec.load_if_present(settings.TIKTOK_OPENAPI_DIR)
