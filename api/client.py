"""The typed HTTP client of the ledger, sync and async, over the Restate ingress.

    with LedgerClient("http://127.0.0.1:8080") as ledger:
        ledger.open("alice")
        ledger.deposit("alice", "USD", "100.00")
        ledger.transfer("t-1", "alice", "bob", "USD", "25.00")

Amounts go out as decimal strings; a float is refused here, before it can
round anything. Every error answer raises ApiError with the contract's
status and message.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from api.responses import (
    AccountView, BalanceView, BatchView, BookView, HistoryPage, HoldView, OrderView, TradesPage, TransactionView,
    TransferView,
)
from api.statement import statement

DEFAULT_URL = "http://127.0.0.1:8080"
R = TypeVar("R", bound=BaseModel)


class ApiError(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True)
class Request:
    path: str
    body: dict | None
    answer: type[BaseModel]
    idempotency_key: str | None = None


def amount_text(amount: str | int | Decimal) -> str:
    if isinstance(amount, bool) or isinstance(amount, float):
        raise TypeError("amounts are decimal strings, ints or Decimals, never floats")
    if isinstance(amount, Decimal):
        return format(amount, "f")
    return str(amount)


class _Api:
    """Builds each contract call; the sync and async clients send them."""

    def _send(self, req: Request) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def open(self, account: str, owner: str | None = None, *, idempotency_key: str | None = None):
        body = {} if owner is None else {"owner": owner}
        return self._send(Request(f"/Account/{account}/open", body, AccountView, idempotency_key))

    def deposit(self, account: str, asset: str, amount, *, reference: str | None = None,
                metadata: dict[str, str] | None = None, idempotency_key: str | None = None):
        return self._amount("deposit", account, asset, amount, _tags(reference, metadata), idempotency_key)

    def withdraw(self, account: str, asset: str, amount, *, reference: str | None = None,
                 metadata: dict[str, str] | None = None, idempotency_key: str | None = None):
        return self._amount("withdraw", account, asset, amount, _tags(reference, metadata), idempotency_key)

    def balance(self, account: str):
        return self._send(Request(f"/Account/{account}/balance", None, BalanceView))

    def history(self, account: str, limit: int | None = None, before: int | None = None):
        body = {k: v for k, v in (("limit", limit), ("before", before)) if v is not None}
        return self._send(Request(f"/Account/{account}/history", body, HistoryPage))

    def freeze(self, account: str, *, idempotency_key: str | None = None):
        return self._send(Request(f"/Account/{account}/freeze", {}, AccountView, idempotency_key))

    def unfreeze(self, account: str, *, idempotency_key: str | None = None):
        return self._send(Request(f"/Account/{account}/unfreeze", {}, AccountView, idempotency_key))

    def transfer(self, transfer_id: str, source: str, target: str, asset: str, amount, *,
                 reference: str | None = None, metadata: dict[str, str] | None = None):
        body = {"source": source, "target": target, "asset": asset, "amount": amount_text(amount),
                **_tags(reference, metadata)}
        return self._send(Request(f"/Transfer/{transfer_id}/run", body, TransferView))

    def transfer_status(self, transfer_id: str):
        return self._send(Request(f"/Transfer/{transfer_id}/status", None, TransferView))

    def place_hold(self, hold_id: str, source: str, asset: str, amount, *, target: str | None = None,
                   expires_in_s: int | None = None, reference: str | None = None,
                   metadata: dict[str, str] | None = None):
        body = {"source": source, "asset": asset, "amount": amount_text(amount), **_tags(reference, metadata)}
        if target is not None:
            body["target"] = target
        if expires_in_s is not None:
            body["expires_in_s"] = expires_in_s
        return self._send(Request(f"/Hold/{hold_id}/place", body, HoldView))

    def capture_hold(self, hold_id: str, amount=None, *, idempotency_key: str | None = None):
        """Captures once: sent again it answers 409 naming the status, unless it
        carries the first call's `idempotency_key`, which answers the first answer."""
        body = {} if amount is None else {"amount": amount_text(amount)}
        return self._send(Request(f"/Hold/{hold_id}/capture", body, HoldView, idempotency_key))

    def void_hold(self, hold_id: str, *, idempotency_key: str | None = None):
        return self._send(Request(f"/Hold/{hold_id}/void", {}, HoldView, idempotency_key))

    def hold_status(self, hold_id: str):
        return self._send(Request(f"/Hold/{hold_id}/status", None, HoldView))

    def post_transaction(self, transaction_id: str, legs: list[dict], *, reference: str | None = None,
                         metadata: dict[str, str] | None = None):
        """`legs`: each {"account", "asset", "amount", "direction": "DEBIT" or "CREDIT"}."""
        body = {"legs": [{**leg, "amount": amount_text(leg["amount"])} for leg in legs],
                **_tags(reference, metadata)}
        return self._send(Request(f"/Transaction/{transaction_id}/post", body, TransactionView))

    def transaction_status(self, transaction_id: str):
        return self._send(Request(f"/Transaction/{transaction_id}/status", None, TransactionView))

    def run_batch(self, batch_id: str, transfers: list[dict]):
        """`transfers`: each {"id", "source", "target", "asset", "amount", "reference"?, "metadata"?}."""
        body = {"transfers": [{**t, "amount": amount_text(t["amount"])} for t in transfers]}
        return self._send(Request(f"/Batch/{batch_id}/run", body, BatchView))

    def batch_status(self, batch_id: str):
        return self._send(Request(f"/Batch/{batch_id}/status", None, BatchView))

    def place_order(self, order_id: str, account: str, symbol: str, side: str, quantity, price,
                    time_in_force: str = "GTC", expires_at_ms: int | None = None):
        body = {"account": account, "symbol": symbol, "side": side,
                "quantity": amount_text(quantity), "price": amount_text(price),
                "time_in_force": time_in_force}
        if expires_at_ms is not None:
            body["expires_at_ms"] = expires_at_ms
        return self._send(Request(f"/Order/{order_id}/place", body, OrderView))

    def cancel_order(self, order_id: str):
        return self._send(Request(f"/Order/{order_id}/cancel", {}, OrderView))

    def order_status(self, order_id: str):
        return self._send(Request(f"/Order/{order_id}/status", None, OrderView))

    def book(self, symbol: str, depth: int | None = None):
        body = {} if depth is None else {"depth": depth}
        return self._send(Request(f"/OrderBook/{symbol}/book", body, BookView))

    def trades(self, symbol: str, limit: int | None = None, before: int | None = None):
        body = {k: v for k, v in (("limit", limit), ("before", before)) if v is not None}
        return self._send(Request(f"/OrderBook/{symbol}/trades", body, TradesPage))

    def _amount(self, handler: str, account: str, asset: str, amount, tags: dict, idempotency_key):
        body = {"asset": asset, "amount": amount_text(amount), **tags}
        return self._send(Request(f"/Account/{account}/{handler}", body, BalanceView, idempotency_key))


def _tags(reference: str | None, metadata: dict[str, str] | None) -> dict:
    """The caller's reference and metadata, each only when given."""
    tags: dict = {}
    if reference is not None:
        tags["reference"] = reference
    if metadata is not None:
        tags["metadata"] = metadata
    return tags


def _headers(req: Request) -> dict[str, str]:
    headers = {} if req.body is None else {"content-type": "application/json"}
    if req.idempotency_key is not None:
        headers["idempotency-key"] = req.idempotency_key
    return headers


def _answer(req: Request, response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise ApiError(response.status_code, _error_message(response))
    return req.answer.model_validate_json(response.content)


def _error_message(response: httpx.Response) -> str:
    """The `message` of restate's error body, or the body itself when it is
    not one (a proxy's HTML page, a JSON string): never a crash."""
    try:
        body = response.json()
    except ValueError:
        return response.text
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else response.text


class LedgerClient(_Api):
    def __init__(self, base_url: str = DEFAULT_URL, timeout_s: float = 30.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout_s)

    def _send(self, req: Request) -> Any:
        return _answer(req, self.http.post(req.path, json=req.body, headers=_headers(req)))

    def statement(self, account: str, asset: str, since_ms: int | None = None, until_ms: int | None = None):
        """The account's statement for `asset` (api/statement.py), paging its history."""
        return statement(self, account, asset, since_ms, until_ms)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "LedgerClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncLedgerClient(_Api):
    """The same calls, each returning an awaitable."""

    def __init__(self, base_url: str = DEFAULT_URL, timeout_s: float = 30.0,
                 max_connections: int = 64) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, limits=limits)

    async def _send(self, req: Request) -> Any:
        return _answer(req, await self.http.post(req.path, json=req.body, headers=_headers(req)))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> "AsyncLedgerClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
