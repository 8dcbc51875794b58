"""Who may talk to what: restate-server signs its requests, our endpoint refuses
anything unsigned (401), the key stays out of every log, and `serve` listens
on loopback only unless told otherwise."""

from __future__ import annotations

import asyncio
import base64
import re
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtime import paths, signing
from runtime.endpoint import Endpoint
from runtime.endpoint_main import load_app
from runtime.process import stop_all
from runtime.registration import RegistrationError, register, wait_until_ok
from runtime.restate_server import RestateServer
from tests.harness import ServeProcess, Stack, distinct_free_ports

PROBE_APP = "tests.serving.probe_app:app"
DEADLINE_S = 30.0
PUBLIC_KEY = re.compile(r"^publickeyv1_[1-9A-HJ-NP-Za-km-z]{43,44}$")
live = pytest.mark.live


# --- the key pair ---


def test_base58_is_bitcoins() -> None:
    assert signing.base58(b"hello world") == "StV1DL6CwTryKyV"
    assert signing.base58(b"\0\0\x28\x7f\xb4\xcd") == "11233QC4"
    assert signing.base58(b"") == ""


def test_the_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    folder = signing.keys_dir(tmp_path / "data")
    first = signing.load_or_create(folder)
    again = signing.load_or_create(folder)

    assert first == again
    assert first.private_key_path == folder / signing.KEY_FILE_NAME
    assert stat.S_IMODE(first.private_key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert PUBLIC_KEY.match(first.public_key), first.public_key
    assert [p.name for p in folder.iterdir()] == [signing.KEY_FILE_NAME]  # no temporary left
    assert first.server_env() == {signing.SERVER_KEY_ENV: str(first.private_key_path)}
    # The SDK parses the key as it will verify with it (a malformed one raises).
    assert callable(load_app(PROBE_APP, [first.public_key]))


def test_a_key_others_may_read_is_refused(tmp_path: Path) -> None:
    identity = signing.load_or_create(tmp_path)
    identity.private_key_path.chmod(0o644)
    with pytest.raises(signing.SigningError, match="chmod 600") as raised:
        signing.load_or_create(tmp_path)
    assert str(identity.private_key_path) in str(raised.value)


def test_an_unreadable_key_is_named_never_shown(tmp_path: Path) -> None:
    body = "U0VDUkVUU0VDUkVUU0VDUkVUU0VDUkVUU0VDUkVU"
    key = tmp_path / signing.KEY_FILE_NAME
    key.write_text(f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n")
    key.chmod(0o600)
    with pytest.raises(signing.SigningError) as raised:
        signing.load_or_create(tmp_path)
    assert str(key) in str(raised.value)
    assert body not in str(raised.value) and "BEGIN" not in str(raised.value)


def test_identity_keys_are_parsed_from_commas_or_spaces() -> None:
    assert signing.parse_keys(None) == []
    assert signing.parse_keys(" a, b c ,") == ["a", "b", "c"]


# --- the endpoint refuses unsigned requests, in process ---


async def _asgi_status(app, method: str, path: str) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
        "query_string": b"", "headers": [(b"content-type", b"application/vnd.restate.invocation.v1")],
        "server": ("127.0.0.1", 9080), "client": ("127.0.0.1", 50000),
    }  # fmt: skip
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


def test_the_signed_app_answers_401_to_unsigned_requests(tmp_path: Path) -> None:
    app = load_app(PROBE_APP, [signing.load_or_create(tmp_path).public_key])
    assert asyncio.run(_asgi_status(app, "POST", "/invoke/Probe/add")) == 401
    assert asyncio.run(_asgi_status(app, "GET", "/discover")) == 401
    assert asyncio.run(_asgi_status(app, "GET", "/health")) == 200  # liveness stays open


# --- live: the session stack runs signed, and the endpoint refuses the unsigned ---


@live
def test_the_live_endpoint_refuses_unsigned_requests(stack: Stack, ingress: httpx.Client) -> None:
    assert stack.identity is not None and stack.server.signs_requests and stack.endpoint.signed
    # Through restate-server (signed) an invocation goes through...
    opened = ingress.post("/Account/signing-check/open", json={})
    assert opened.status_code == 200, opened.text
    # ...straight to the endpoint (unsigned) nothing does, over HTTP/1.1 or HTTP/2.
    with httpx.Client(base_url=stack.endpoint.url, trust_env=False, timeout=10) as http1:
        assert http1.post("/invoke/Account/balance", content=b"").status_code == 401
        assert http1.post("/invoke/Account/deposit", content=b"{}").status_code == 401
        assert http1.get("/discover").status_code == 401
    with httpx.Client(
        base_url=stack.endpoint.url, http1=False, http2=True, trust_env=False, timeout=10
    ) as h2c:
        refused = h2c.post("/invoke/Account/open", content=b"")
        assert (refused.http_version, refused.status_code) == ("HTTP/2", 401)


@live
def test_a_server_signing_with_another_key_is_refused(tmp_path: Path) -> None:
    ours = signing.load_or_create(tmp_path / "ours")
    theirs = signing.load_or_create(tmp_path / "theirs")
    ingress_port, admin_port, node_port, endpoint_port = distinct_free_ports(4)
    server = RestateServer(
        tmp_path / "restate",
        ingress_port=ingress_port,
        admin_port=admin_port,
        node_port=node_port,
        log_path=tmp_path / "restate-server.log",
        request_identity_key=theirs.private_key_path,
    )
    endpoint = Endpoint(
        PROBE_APP,
        port=endpoint_port,
        log_path=tmp_path / "endpoint.log",
        cwd=paths.project_root(),
        identity_keys=[ours.public_key],
    )
    try:
        server.start(DEADLINE_S)
        endpoint.start(DEADLINE_S)
        with pytest.raises(RegistrationError, match="401"):
            register(server.admin_url, endpoint.url, timeout_s=3)
    finally:
        stop_all([server, endpoint], 10)


# --- live: `ledger serve`, end to end ---


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """`ledger serve` (the probe app) on a fresh data dir, signed by default;
    stopped with SIGTERM by the test that reads its whole output."""
    serve = ServeProcess(tmp_path_factory.mktemp("served") / "data", app=PROBE_APP)
    serve.start()
    try:
        yield serve
    finally:
        serve.kill()


@live
def test_serve_signs_by_default(served: ServeProcess) -> None:
    key = signing.keys_dir(served.data_dir) / signing.KEY_FILE_NAME
    identity = signing.load_or_create(key.parent)
    assert f"signing:  on, key {key} ({identity.public_key})" in served.output
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    response = wait_until_ok(served.ingress_url, "/Probe/signed/add", json=4, timeout_s=DEADLINE_S)
    assert response.json() == 4
    with httpx.Client(base_url=served.endpoint_url, trust_env=False, timeout=10) as client:
        assert client.post("/invoke/Probe/add", content=b"").status_code == 401


def _listening_sockets(pids: list[int]) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state that `pids` hold."""
    inodes: set[str] = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = fd.readlink().as_posix()
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    found = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            address_hex, port_hex = local.split(":")
            raw = bytes.fromhex(address_hex)
            # /proc writes each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, width // 2, 4))
            address = ".".join(str(b) for b in words) if width == 8 else words.hex()
            found.append((address, int(port_hex, 16)))
    return found


@live
def test_serve_listens_on_loopback_only(served: ServeProcess) -> None:
    sockets = _listening_sockets(served.descendants())
    ports = {port for _, port in sockets}
    assert set(served.ports) <= ports, sockets
    not_loopback = [
        (address, port)
        for address, port in sockets
        if not (address.startswith("127.") or address == "0" * 31 + "1")
    ]
    assert not not_loopback, f"listening beyond loopback: {not_loopback}"


@live
def test_no_secret_in_serve_output_or_logs(served: ServeProcess) -> None:
    key = signing.keys_dir(served.data_dir) / signing.KEY_FILE_NAME
    pem = key.read_text()
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    der = base64.b64decode(body)
    seed = der[-32:]  # PKCS#8 ed25519: the 32-byte private seed ends the DER
    secrets = {
        "the PEM body": body,
        "the seed in base64": base64.b64encode(seed).decode().rstrip("="),
        "the seed in hex": seed.hex(),
        "a PEM private key marker": "PRIVATE KEY",
    }
    wait_until_ok(served.ingress_url, "/Probe/logs/add", json=1, timeout_s=DEADLINE_S)
    assert served.stop(signal.SIGTERM) == 0

    texts = {
        "serve's output": served.output,
        "restate-server.log": (served.data_dir / "logs" / "restate-server.log").read_text(),
        "endpoint.log": (served.data_dir / "logs" / "endpoint.log").read_text(),
    }
    leaks = [
        f"{what} in {where}"
        for where, text in texts.items()
        for what, secret in secrets.items()
        if secret.lower() in text.lower()
    ]
    assert not leaks, leaks
    # What may be shown is: the key's path, and that it was loaded.
    assert str(key) in texts["serve's output"]
    assert "Loaded request identity key" in texts["restate-server.log"]
    assert str(key) in texts["restate-server.log"]
    assert "request signing on" in texts["endpoint.log"]


@live
def test_serve_no_signing_accepts_unsigned_requests(tmp_path: Path) -> None:
    serve = ServeProcess(tmp_path / "data", app=PROBE_APP, args=("--no-signing",))
    try:
        output = serve.start()
        assert "signing:  OFF (--no-signing)" in output
        assert not signing.keys_dir(serve.data_dir).exists()
        assert wait_until_ok(serve.ingress_url, "/Probe/open/add", json=2).json() == 2
        with httpx.Client(base_url=serve.endpoint_url, trust_env=False, timeout=10) as client:
            # Past the signature check: refused for its (empty) content, not as unsigned.
            assert client.post("/invoke/Probe/add", content=b"").status_code != 401
        assert serve.stop(signal.SIGTERM) == 0
    finally:
        serve.kill()
