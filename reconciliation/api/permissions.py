"""Who may call what: the roles' Django model permissions (reconciliation/roles.py), as in the admin.

DRF's DjangoModelPermissions lets any authenticated user read; here a read needs the model's
`view_` permission too, so a user in no group sees nothing, and every write is an explicit action
with its own check below.
"""

from rest_framework.permissions import BasePermission, DjangoModelPermissions

from reconciliation.services.quarantine import DECIDE

# Uploading a Seller Center statement file feeds a shop's money into Xero. It is allowed to the
# roles that may change a shop's set-up: Operations (it keeps shops and imports maps, and runs
# `import_statement` today) and Finance (it owns what posts). Auditors read only. There is no
# separate "import statements" permission to give (one would need a model change), so the shop's
# change permission is the rule; a superuser has it too.
UPLOAD_STATEMENTS = "reconciliation.change_shop"


class ModelPermissions(DjangoModelPermissions):
    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class CanDecide(BasePermission):
    """Approve, retry, post as draft, dismiss: Finance's `decide_quarantineitem`, the admin's check.
    The services check it again, so this only answers early with a 403 instead of running anything."""

    message = "only Finance may approve, retry, post as draft or dismiss quarantined items"

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm(DECIDE))


class CanUploadStatements(BasePermission):
    message = "only Operations and Finance may upload statement files"

    def has_permission(self, request, view) -> bool:
        return bool(
            request.user and request.user.is_authenticated and request.user.has_perm(UPLOAD_STATEMENTS)
        )
