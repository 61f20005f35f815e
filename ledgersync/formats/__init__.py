"""LedgerSync's date formats (settings.FORMAT_MODULE_PATH).

Django 5 always localises, so with LANGUAGE_CODE "en-gb" its own en_GB formats ("29 Nov 2026",
"29/11/2026 11:15 p.m.") win over settings.DATE_FORMAT; a format module of ours wins over Django's.
One format everywhere: ISO dates as Xero and TikTok's statements write them, and audit times to the
second with their zone (every time stored and shown is UTC: settings.TIME_ZONE).
"""
