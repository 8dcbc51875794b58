"""Domain errors, each carrying the HTTP status the contract gives it.

The Restate shell turns every LedgerError into a TerminalError with this
status, so a refusal is final (never retried) and reaches the client as-is.
"""


class LedgerError(Exception):
    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(LedgerError):
    """Malformed or invalid input: the request can never succeed as sent."""

    status_code = 400


class NotFound(LedgerError):
    """Unknown account, order or transfer."""

    status_code = 404


class Refused(LedgerError):
    """Well-formed, but the ledger's rules refuse it now (funds, frozen, ...)."""

    status_code = 409
