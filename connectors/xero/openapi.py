"""Xero's published OpenAPI description as an executable contract (DESIGN.md 7).

The sandbox checks every body it receives and every body it produces against
`specs/xero_accounting.yaml`, the way stripe-mock does for Stripe, so the fake cannot drift from what
Xero publishes. Other code (for example a client test) may reuse `XeroSpec` directly.

Choices, each forced by something in Xero's file:
- Request bodies are checked with `OAS30WriteValidator`: a field Xero marks `readOnly` (`Total`,
  `AmountDue`, `CanApplyToRevenue`, ...) is ignored by Xero when sent, so sending one is a client bug
  worth hearing about. Response bodies use `OAS30ReadValidator`, which accepts readOnly fields. Both
  skip a `required` property that is readOnly/writeOnly on the side where it cannot appear.
- The file never says `nullable` (0 occurrences), so a JSON `null` anywhere is a violation; neither
  Xero's examples nor our bodies should contain one.
- No schema sets `additionalProperties`, so unknown keys pass (Xero's envelope keys `Id`, `Status`,
  `ProviderName`, `DateTimeUTC` and fields such as `DateString` are not declared at all).
- Dates are `type: string` with the vendor flag `x-is-msdate` / `x-is-msdate-time`, which a plain
  validator ignores. We enforce it: responses must use Xero's `/Date(1700000000000+0000)/` form;
  requests may also use ISO `2024-01-31` or `2024-01-31T00:00:00`, which Xero accepts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jsonschema.exceptions import ValidationError
from jsonschema.validators import extend
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT4

_SPEC_URI = "urn:xero:accounting-openapi"
_MSDATE = re.compile(r"^/Date\(-?\d+([+-]\d{4})?\)/$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?$")
_METHODS = ("get", "put", "post", "delete", "patch")
_MAX_REPORTED = 5


class SpecViolation(AssertionError):
    """A body does not match Xero's published OpenAPI description. `where` is its JSON path."""

    def __init__(self, message: str, *, where: str = "$"):
        super().__init__(message)
        self.where = where


def _msdate_keyword(*, accept_iso: bool):
    def check(validator, enabled, instance, schema) -> Iterator[ValidationError]:
        if not enabled or not isinstance(instance, str) or _MSDATE.match(instance):
            return
        if accept_iso and _ISO_DATE.match(instance):
            return
        expected = "/Date(ms+0000)/ or an ISO date" if accept_iso else "Xero's /Date(ms+0000)/ form"
        yield ValidationError(f"{instance!r} is not a date in {expected}")

    return check


def _with_msdate(base, *, accept_iso: bool):
    keyword = _msdate_keyword(accept_iso=accept_iso)
    return extend(base, validators={"x-is-msdate": keyword, "x-is-msdate-time": keyword})


_REQUEST_VALIDATOR = _with_msdate(OAS30WriteValidator, accept_iso=True)
_RESPONSE_VALIDATOR = _with_msdate(OAS30ReadValidator, accept_iso=False)


def _json_path(error: ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{pattern}$")


class XeroSpec:
    """One loaded copy of Xero's OpenAPI file; use `XeroSpec.load(path)` (cached per path)."""

    def __init__(self, document: dict[str, Any], *, source: Path | None = None):
        self.document = document
        self.source = source
        server = document.get("servers", [{}])[0].get("url", "")
        self.prefix = urlsplit(server).path.rstrip("/")  # "/api.xro/2.0"
        # Literal segments beat parameters, so /CreditNotes/{id}/Allocations never loses to a
        # broader template; where two templates tie (/Contacts/{ContactID} vs /{ContactNumber})
        # both describe the same bodies, and the first in the file wins.
        templates = sorted(document.get("paths", {}), key=lambda t: t.count("{"))
        self._templates = [(t, _template_regex(t)) for t in templates]
        registry = Registry().with_resource(_SPEC_URI, DRAFT4.create_resource(document))
        self._registry = registry
        self._validators: dict[tuple[int, str], Any] = {}

    @classmethod
    def load(cls, path: Path | str) -> XeroSpec:
        return _load(str(Path(path).resolve()))

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        """The (path template, operation object) that serves `method path`."""
        relative = self._relative(path)
        for template, regex in self._templates:
            operation = self.document["paths"][template].get(method.lower())
            if operation is not None and regex.match(relative):
                return template, operation
        raise SpecViolation(f"{method.upper()} {relative} is not an operation in Xero's OpenAPI file")

    def validate_request(self, method: str, path: str, body: dict | None) -> None:
        template, operation = self.operation(method, path)
        request_body = operation.get("requestBody")
        label = f"{method.upper()} {template} request body"
        if request_body is None:
            if body is not None:
                raise SpecViolation(f"{label}: the operation takes no body")
            return
        if body is None:
            if request_body.get("required"):
                raise SpecViolation(f"{label}: a body is required")
            return
        self._check(_REQUEST_VALIDATOR, self._schema_ref(request_body), body, label)

    def validate_response(self, method: str, path: str, status: int, body: dict) -> None:
        template, operation = self.operation(method, path)
        responses = operation.get("responses", {})
        response = responses.get(str(status)) or responses.get("default")
        label = f"{method.upper()} {template} response {status}"
        if response is None:
            # Xero's file documents only 200 and 400; 401/403/404/429/5xx bodies are not part of
            # the contract, but an undocumented success would be.
            if 200 <= status < 300:
                raise SpecViolation(f"{label}: status not documented")
            return
        ref = self._schema_ref(self._resolve(response))
        if ref is not None:
            self._check(_RESPONSE_VALIDATOR, ref, body, label)

    def _relative(self, path: str) -> str:
        path = urlsplit(path).path if "://" in path else path.split("?", 1)[0]
        if self.prefix and path.startswith(self.prefix + "/"):
            path = path[len(self.prefix) :]
        return path

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node and len(node) == 1:
            node = self._pointer(node["$ref"])
        return node

    def _pointer(self, ref: str) -> dict[str, Any]:
        node: Any = self.document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _schema_ref(self, holder: dict[str, Any]) -> str | None:
        content = self._resolve(holder).get("content", {}).get("application/json")
        if not content or "schema" not in content:
            return None
        if "$ref" not in content["schema"]:  # every body in Xero's file is a named schema
            raise SpecViolation("inline request/response schemas are not supported")
        return content["schema"]["$ref"]

    def _check(self, validator_class, ref: str, body: Any, label: str) -> None:
        key = (id(validator_class), ref)
        validator = self._validators.get(key)
        if validator is None:
            validator = validator_class(
                {"$ref": _SPEC_URI + ref}, registry=self._registry, format_checker=oas30_format_checker
            )
            self._validators[key] = validator
        errors = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
        if not errors:
            return
        details = "; ".join(f"{_json_path(e)}: {e.message}" for e in errors[:_MAX_REPORTED])
        more = f" (and {len(errors) - _MAX_REPORTED} more)" if len(errors) > _MAX_REPORTED else ""
        raise SpecViolation(
            f"{label} does not match Xero's OpenAPI file: {details}{more}", where=_json_path(errors[0])
        )


@functools.lru_cache(maxsize=4)
def _load(path: str) -> XeroSpec:
    # ~900 KB of YAML: the C loader takes ~0.4 s, the pure-Python one several seconds, so load once
    # per process and per file.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=loader)
    return XeroSpec(document, source=Path(path))
