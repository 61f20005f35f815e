from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver

from reconciliation.models import Shop
from reconciliation.roles import roles_ensure
from reconciliation.schedules import schedules_ensure


@receiver(post_save, sender=Shop)
@receiver(post_delete, sender=Shop)
def shop_schedules(sender, **kwargs):
    # A shop added, paused or removed in the admin gets (or loses) its schedule at once.
    schedules_ensure()


@receiver(post_migrate)
def roles_after_migrate(sender, app_config=None, **kwargs):
    if app_config is None or app_config.label != "reconciliation":
        return
    from django.contrib.auth.models import Group, Permission

    roles_ensure(Group, Permission)
