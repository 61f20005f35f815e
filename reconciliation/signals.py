from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from reconciliation.models import Shop
from reconciliation.schedules import schedules_ensure


@receiver(post_save, sender=Shop)
@receiver(post_delete, sender=Shop)
def shop_schedules(sender, **kwargs):
    # A shop added, paused or removed in the admin gets (or loses) its schedule at once.
    schedules_ensure()
