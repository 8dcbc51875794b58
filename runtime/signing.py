"""Request signing between restate-server and our endpoint.

restate-server signs every request it sends to the endpoint with an ed25519
private key; the endpoint verifies the signature with the public key and
answers 401 to anything unsigned or signed by another key. So only our
restate-server can invoke handlers, even when the endpoint's port is
reachable by others.

The key pair lives in the data folder (`<data>/keys/request-identity.pem`,
mode 0600, in a folder of mode 0700), is created on first start and reused
after. Only its path is ever logged or shown; the key itself never leaves the
file except into openssl, which derives the public key.

The public key is written the way restate names it: `publickeyv1_` followed
by the base58 (bitcoin alphabet) of the 32 raw bytes of the ed25519 public
key; restate-server logs that string at start ("Loaded request identity key",
`kid`), and the SDK's `identity_keys` expects it.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

# restate-server reads the private key's path from this variable.
SERVER_KEY_ENV = "RESTATE_WORKER__INVOKER__REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE"
# Our endpoint (runtime/endpoint_main.py) reads the public keys it accepts from
# this variable: one or more `publickeyv1_...`, separated by commas or spaces.
ENDPOINT_KEYS_ENV = "LEDGER_IDENTITY_KEYS"

KEY_FILE_NAME = "request-identity.pem"
PUBLIC_KEY_PREFIX = "publickeyv1_"
_OPENSSL_TIMEOUT_S = 30.0
# DER SubjectPublicKeyInfo of an ed25519 key: this 12-byte header, then the 32 key bytes.
_ED25519_SPKI_HEADER = bytes.fromhex("302a300506032b6570032100")
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class SigningError(RuntimeError):
    """The request-identity key could not be created or read. The message
    names the file, never its content."""


@dataclass(frozen=True)
class RequestIdentity:
    """The key pair restate-server signs with and our endpoint verifies with."""

    private_key_path: Path
    public_key: str

    def server_env(self) -> dict[str, str]:
        """What restate-server needs to sign: the private key's path."""
        return {SERVER_KEY_ENV: str(self.private_key_path)}

    def __repr__(self) -> str:
        return f"RequestIdentity({self.private_key_path}, {self.public_key})"


def keys_dir(data_dir: Path | str) -> Path:
    """Where the key pair of a data folder is kept."""
    return Path(data_dir) / "keys"


def load_or_create(folder: Path | str) -> RequestIdentity:
    """The key pair in `folder`, created there first if absent."""
    path = ensure_private_key(Path(folder) / KEY_FILE_NAME)
    return RequestIdentity(path, public_key(path))


def ensure_private_key(path: Path) -> Path:
    """Creates an ed25519 private key at `path` unless one is there; answers
    its absolute path. Refuses a key others may read, as ssh does.

    The key is written whole to a temporary file and then linked into place,
    so a crash never leaves a half-written key, and two starts at once agree
    on one key.
    """
    path = path.absolute()
    if not path.exists():
        _create_private_key(path)
    _check_private(path)
    return path


def public_key(private_key_path: Path) -> str:
    """The `publickeyv1_...` string of the ed25519 key in `private_key_path`."""
    der = _openssl(
        ["pkey", "-in", str(private_key_path), "-pubout", "-outform", "DER"],
        f"could not read the request-identity key {private_key_path}",
    )
    if len(der) != len(_ED25519_SPKI_HEADER) + 32 or not der.startswith(_ED25519_SPKI_HEADER):
        raise SigningError(
            f"{private_key_path} is not an ed25519 private key; move it away and "
            "start again to create a new one"
        )
    return PUBLIC_KEY_PREFIX + base58(der[len(_ED25519_SPKI_HEADER) :])


def parse_keys(value: str | None) -> list[str]:
    """The public keys listed in ENDPOINT_KEYS_ENV's value (commas or spaces)."""
    return [key for key in (value or "").replace(",", " ").split() if key]


def base58(data: bytes) -> str:
    """Base58 with the bitcoin alphabet, as restate encodes its public keys."""
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, remainder = divmod(number, 58)
        digits = _BASE58_ALPHABET[remainder] + digits
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return _BASE58_ALPHABET[0] * leading_zeros + digits


def _create_private_key(path: Path) -> None:
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = _openssl(
        ["genpkey", "-algorithm", "ed25519"], "could not create a request-identity key"
    )
    temporary = folder / f".{path.name}.{os.getpid()}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)  # fails if another start created one meanwhile
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)


def _check_private(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise SigningError(f"cannot read the request-identity key {path}: {error.strerror}") from None
    if not stat.S_ISREG(mode):
        raise SigningError(f"the request-identity key {path} is not a regular file")
    if mode & 0o077:
        raise SigningError(
            f"the request-identity key {path} may be read by others "
            f"(mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}`, or delete it "
            "to have a new key created"
        )


def _openssl(args: list[str], problem: str) -> bytes:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SigningError(
            f"{problem}: the `openssl` command is not installed; install it "
            "(e.g. `apt-get install openssl`), or serve with --no-signing"
        )
    try:
        result = subprocess.run(
            [openssl, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_OPENSSL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SigningError(f"{problem}: openssl failed to run ({type(error).__name__})") from None
    if result.returncode != 0:
        # openssl's diagnostics name the failing decoder, never key material;
        # the first line is enough to act on.
        first_line = result.stderr.decode(errors="replace").strip().splitlines()[:1]
        detail = f": {first_line[0]}" if first_line else ""
        raise SigningError(f"{problem} (openssl exit {result.returncode}{detail})")
    return result.stdout
