"""The REST API (issue 7 item 8): thin views over the same selectors, services and permissions as the
admin (STYLE.md, "Thin APIs"). README, "REST API", lists the endpoints."""
