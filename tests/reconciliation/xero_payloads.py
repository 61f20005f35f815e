"""Check planned documents against Xero's OpenAPI file, as the outbox would send them."""

import json

from connectors.xero.client import dumps
from connectors.xero.openapi import XeroSpec
from reconciliation.planning.types import PlannedDocument


def validate(spec_path, document: PlannedDocument) -> None:
    """PUT /{kind} with {kind: [payload]}; allocations go to PUT /CreditNotes/{id}/Allocations."""
    spec = XeroSpec.load(spec_path)
    if document.kind == "Allocations":
        path = "/CreditNotes/00000000-0000-0000-0000-000000000001/Allocations"
    else:
        path = f"/{document.kind}"
    # As the client writes it (Decimal as a JSON number) and as Xero reads it.
    body = json.loads(dumps({document.kind: [document.payload]}))
    spec.validate_request("PUT", path, body)
