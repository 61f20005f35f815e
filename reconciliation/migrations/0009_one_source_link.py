"""Postings and quarantine items point at their source through one link (content type + id)
instead of one nullable foreign key per kind of source (statement, payout; orders next)."""

import django.db.models.deletion
from django.db import migrations, models


def copy_links(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    kinds = {
        "statement": ContentType.objects.get_or_create(app_label="reconciliation", model="statement")[0],
        "payout": ContentType.objects.get_or_create(app_label="reconciliation", model="payout")[0],
    }
    for model_name in ("XeroPosting", "QuarantineItem"):
        model = apps.get_model("reconciliation", model_name)
        for field, content_type in kinds.items():
            model.objects.filter(**{f"{field}__isnull": False}).update(
                source_type=content_type, source_id=models.F(f"{field}_id")
            )


def copy_back(apps, schema_editor):
    for model_name in ("XeroPosting", "QuarantineItem"):
        model = apps.get_model("reconciliation", model_name)
        for row in model.objects.exclude(source_type=None).select_related("source_type"):
            setattr(row, f"{row.source_type.model}_id", row.source_id)
            row.save(update_fields=[f"{row.source_type.model}_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("reconciliation", "0008_outbox_attempts_shop_identity"),
    ]

    operations = [
        migrations.AddField(
            model_name="xeroposting",
            name="source_type",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contenttypes.contenttype",
            ),
        ),
        migrations.AddField(
            model_name="xeroposting", name="source_id", field=models.PositiveBigIntegerField(null=True)
        ),
        migrations.AddField(
            model_name="quarantineitem",
            name="source_type",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contenttypes.contenttype",
            ),
        ),
        migrations.AddField(
            model_name="quarantineitem",
            name="source_id",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(copy_links, copy_back),
        migrations.AlterField(
            model_name="xeroposting",
            name="source_type",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="contenttypes.contenttype"
            ),
        ),
        migrations.AlterField(
            model_name="xeroposting", name="source_id", field=models.PositiveBigIntegerField()
        ),
        migrations.RemoveField(model_name="xeroposting", name="statement"),
        migrations.RemoveField(model_name="xeroposting", name="payout"),
        migrations.RemoveField(model_name="quarantineitem", name="statement"),
        migrations.RemoveField(model_name="quarantineitem", name="payout"),
        migrations.AddIndex(
            model_name="xeroposting",
            index=models.Index(fields=["source_type", "source_id"], name="reconciliat_source__1c01a9_idx"),
        ),
    ]
