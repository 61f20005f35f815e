def test_settings_load():
    from django.conf import settings

    assert "reconciliation" in settings.INSTALLED_APPS
