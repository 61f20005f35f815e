"""Error classes shared by every connector (DESIGN.md 6, "Error classes").

Each provider package has one function that turns a provider response into a `ConnectorError`
with one of these kinds; the posting service acts on the kind alone.
"""

from dataclasses import dataclass, field
from enum import StrEnum


class ErrorKind(StrEnum):
    TRANSIENT = "transient"  # timeouts, resets, 5xx, 429: retry with backoff
    UNKNOWN_OUTCOME = "unknown_outcome"  # the request may have been applied: look it up before retrying
    LOCK_DATE = "lock_date"  # quarantine with a proposed date, never retry as is
    VALIDATION = "validation"  # mapping / validation: quarantine with the provider's messages
    AUTH = "auth"  # pause the connection, no retries
    DUPLICATE = "duplicate"  # "must be unique": link to the existing document


PERMANENT_KINDS = {ErrorKind.LOCK_DATE, ErrorKind.VALIDATION, ErrorKind.AUTH, ErrorKind.DUPLICATE}


class ConnectorError(Exception):
    """A provider call failed. `permanent` errors are never retried automatically."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        status: int | None = None,
        retry_after: float | None = None,
        messages: tuple[str, ...] = (),
    ):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.messages = messages or (message,)

    @property
    def permanent(self) -> bool:
        return self.kind in PERMANENT_KINDS


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt, as the audit trail keeps it (secrets already removed)."""

    method: str
    url: str
    status: int | None
    request_headers: dict[str, str]
    request_body: str
    response_headers: dict[str, str]
    response_body: str
    duration_ms: int
    error: str = ""
    idempotency_key: str = ""
    extra: dict = field(default_factory=dict)  # {"attempt": 1-based try number, "kind": ErrorKind or ""}
    ref: str = ""  # the same for the start and the outcome report of one HTTP exchange


SECRET_HEADERS = {"authorization", "x-tts-access-token", "cookie", "set-cookie"}


def redact_headers(headers) -> dict[str, str]:
    return {k: ("[redacted]" if k.lower() in SECRET_HEADERS else v) for k, v in dict(headers).items()}
