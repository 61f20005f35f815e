"""Roles as Django groups (DESIGN.md 8): Operations keep maps, Finance decides, Auditors read.

Created by migration 0002 and kept in step after every migrate or flush (post_migrate), so a test
database flushed between tests still has them.
"""

MAP_MODELS = [
    "shop",
    "shopconnection",
    "componentmapping",
    "skumapping",
    "bundlecomponent",
    "taxratemapping",
    "unitofmeasureconversion",
    "xeroconnection",
]
AUDIT_MODELS = [
    "sourcerecord",
    "statement",
    "payout",
    "syncrun",
    "xeroposting",
    "xeroattempt",
    "quarantineitem",
    "tiktokorder",
    "tiktokreturn",
    "tiktokcancellation",
    "webhookevent",
    "ordersync",
    "statementorder",
]

VIEW_ALL = [f"view_{m}" for m in MAP_MODELS + AUDIT_MODELS]
EDIT_MAPS = [f"{action}_{m}" for m in MAP_MODELS for action in ("add", "change", "delete")]
ROLES = {
    "Auditor": VIEW_ALL,
    "Operations": VIEW_ALL + EDIT_MAPS,
    "Finance": [
        *VIEW_ALL,
        "decide_quarantineitem",
        "change_shop",
        "change_posting_settings",
        "change_componentmapping",
        "change_ordersync",  # the order invoicing gate (DESIGN.md 4.4)
    ],
}


def roles_ensure(group_model, permission_model) -> None:
    for name, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.set(
            permission_model.objects.filter(content_type__app_label="reconciliation", codename__in=codenames)
        )
