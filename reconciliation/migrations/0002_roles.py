"""Roles as Django groups (DESIGN.md 8): Operations keep maps, Finance decides, Auditors read."""

from django.db import migrations

MAP_MODELS = ["shop", "shopconnection", "componentmapping", "skumapping", "bundlecomponent",
              "taxratemapping", "unitofmeasureconversion", "xeroconnection"]
READ_MODELS = MAP_MODELS + ["sourcerecord", "statement", "payout", "syncrun", "xeroposting",
                            "xeroattempt", "quarantineitem"]


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(*codenames):
        return list(Permission.objects.filter(content_type__app_label="reconciliation", codename__in=codenames))

    view_all = [f"view_{m}" for m in READ_MODELS]
    edit_maps = [f"{action}_{m}" for m in MAP_MODELS for action in ("add", "change", "delete")]

    Group.objects.get_or_create(name="Auditor")[0].permissions.set(perms(*view_all))
    Group.objects.get_or_create(name="Operations")[0].permissions.set(perms(*view_all, *edit_maps))
    Group.objects.get_or_create(name="Finance")[0].permissions.set(
        perms(*view_all, "decide_quarantineitem", "change_shop", "change_componentmapping")
    )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Auditor", "Operations", "Finance"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reconciliation", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
