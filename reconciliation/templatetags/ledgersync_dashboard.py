"""`{% ledgersync_dashboard %}`: the dashboard on the admin's home (templates/admin/index.html)."""

from django import template

from reconciliation.dashboard import BAR_WIDTH, dashboard

register = template.Library()


@register.inclusion_tag("admin/reconciliation/dashboard.html", takes_context=True)
def ledgersync_dashboard(context):
    user = context["request"].user
    # Every role may read payouts and postings (reconciliation/roles.py); a staff user without
    # them sees the app list only.
    visible = user.has_perms(["reconciliation.view_payout", "reconciliation.view_xeroposting"])
    return {"panels": dashboard() if visible else None, "bar_width": BAR_WIDTH}
