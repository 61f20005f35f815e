"""TikTok Shop's published OpenAPI description as an executable contract (docs/ARCHITECTURE.md).

The TikTok sandbox and every TikTok fixture are checked against the description TikTok publishes
(`specs/tiktok/*.json`, see the README for where it comes from), so neither can drift into a shape
the real API does not have, as the first fixtures did (`statement_id`, `statement_time` and
`settlement_amount` on a 202501 statement-transactions page; the API says `id`, `create_time`,
`total_settlement_amount`).

Choices, each forced by something in TikTok's files:
- No schema says `required`, `additionalProperties` or `nullable`. A plain validator would accept any
  object, so every declared object is made closed here: a key TikTok does not declare is a violation.
  Missing keys are allowed (TikTok omits fields that do not apply to a region).
- Amounts are declared `type: string` and times `type: integer` (unix seconds); both are enforced.
- Paths are versioned literally (`/finance/202501/...`), so an operation is found by its template.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30ReadValidator

_METHODS = ("get", "post", "put", "delete", "patch")
_MAX_REPORTED = 5


class SpecViolation(AssertionError):
    """A body does not match TikTok's published description. `where` is its JSON path."""

    def __init__(self, message: str, *, where: str = "$"):
        super().__init__(message)
        self.where = where


def _closed(schema: Any) -> Any:
    """A copy of `schema` in which every object with declared properties admits no other key."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items() if key != "example"}
    if closed.get("type") == "object" and "properties" in closed:
        closed.setdefault("additionalProperties", False)
    return closed


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def _json_path(error: ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


class TikTokSpec:
    """The operations of every `*.json` description in one folder; `TikTokSpec.load(folder)` caches."""

    def __init__(self, documents: dict[str, dict[str, Any]]):
        self.operations: list[tuple[str, str, re.Pattern[str], dict[str, Any]]] = []
        for _name, document in sorted(documents.items()):
            for template, item in document.get("paths", {}).items():
                for method in _METHODS:
                    if method in item:
                        self.operations.append((method, template, _template_regex(template), item[method]))
        # literal segments beat parameters (/statements/{id}/... never loses to a broader template)
        self.operations.sort(key=lambda op: op[1].count("{"))
        self._validators: dict[str, OAS30ReadValidator] = {}

    @classmethod
    def load(cls, folder: Path | str) -> TikTokSpec:
        return _load(str(Path(folder).resolve()))

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        """The (path template, operation object) that serves `method path`; SpecViolation if none."""
        for op_method, template, regex, operation in self.operations:
            if op_method == method.lower() and regex.match(path):
                return template, operation
        raise SpecViolation(f"{method.upper()} {path} is not an operation in TikTok's description")

    @classmethod
    def load_if_present(cls, folder: Path | str) -> TikTokSpec | None:
        """The description in `folder`, or None when it is not there (the sandbox then checks nothing)."""
        return cls.load(folder) if (Path(folder) / "finance.json").exists() else None

    def describes(self, method: str, path: str) -> bool:
        """Whether TikTok's files (finance, order, return_refund, event) describe `method path`."""
        return any(m == method.lower() and regex.match(path) for m, _, regex, _ in self.operations)

    def response_schema(self, method: str, path: str) -> dict[str, Any]:
        template, operation = self.operation(method, path)
        try:
            return operation["responses"]["200"]["content"]["application/json"]["schema"]
        except KeyError as exc:
            raise SpecViolation(f"{method.upper()} {template} declares no JSON 200 response") from exc

    def validate_response(self, method: str, path: str, body: Any) -> None:
        """Raise SpecViolation naming up to five places where `body` (the whole envelope) differs."""
        template, _ = self.operation(method, path)
        key = f"{method.lower()} {template}"
        if key not in self._validators:
            self._validators[key] = OAS30ReadValidator(_closed(self.response_schema(method, path)))
        errors = sorted(self._validators[key].iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            shown = "; ".join(f"{_json_path(e)}: {e.message}" for e in errors[:_MAX_REPORTED])
            more = f" (+{len(errors) - _MAX_REPORTED} more)" if len(errors) > _MAX_REPORTED else ""
            raise SpecViolation(
                f"{method.upper()} {template} response: {shown}{more}", where=_json_path(errors[0])
            )

    def validate_statement_page(self, body: Any) -> None:
        """A 202501 statement-transactions page (the envelope) as TikTok describes it."""
        self.validate_response(
            "GET", "/finance/202501/statements/{statement_id}/statement_transactions", body
        )

    def transaction_schema(self) -> dict[str, Any]:
        """The schema of one 202501 statement transaction (what the normaliser reads)."""
        page = self.response_schema("GET", "/finance/202501/statements/{statement_id}/statement_transactions")
        return page["properties"]["data"]["properties"]["transactions"]["items"]


@functools.cache
def _load(folder: str) -> TikTokSpec:
    paths = sorted(Path(folder).glob("*.json"))
    if not paths:
        raise FileNotFoundError(f"no TikTok OpenAPI description (*.json) in {folder}")
    return TikTokSpec({p.name: json.loads(p.read_text()) for p in paths})


def example_copy(schema: dict[str, Any]) -> Any:
    """A body built from the `example` of every declared leaf (TikTok's own documentation sample)."""
    kind = schema.get("type")
    if kind == "object":
        return {k: example_copy(v) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [example_copy(schema.get("items", {}))]
    return copy.deepcopy(schema.get("example"))
