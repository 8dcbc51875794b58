"""Where the project, its restate binaries and its data live."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

PROJECT_NAME = "restate-ledger"
RESTATE_SERVER_ENV = "RESTATE_SERVER_BIN"
RESTATECTL_ENV = "RESTATECTL_BIN"
# `make setup` installs the npm packages here; the binaries are in per-platform packages.
_NPM_DIR = Path(".tools") / "node_modules" / "@restatedev"
_SERVER_REL = _NPM_DIR / "restate-server-linux-x64" / "bin" / "restate-server"
_CTL_REL = _NPM_DIR / "restatectl-linux-x64" / "bin" / "restatectl"


class SetupError(RuntimeError):
    """Something `make setup` provides is missing."""


def _is_project_root(folder: Path) -> bool:
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return data.get("project", {}).get("name") == PROJECT_NAME


def find_project_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above `start` holding our pyproject.toml, or None."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        if _is_project_root(candidate):
            return candidate
    return None


def project_root() -> Path:
    """The project root: searched from the working directory first, so a
    developer inside a checkout gets that checkout, then from this file."""
    for start in (Path.cwd(), Path(__file__).parent):
        root = find_project_root(start)
        if root is not None:
            return root
    raise SetupError(
        f"cannot find the {PROJECT_NAME} project (a pyproject.toml named {PROJECT_NAME!r}) "
        "above the working directory; run from inside the checkout"
    )


def _binary(env_var: str, relative: Path, what: str) -> Path:
    override = os.environ.get(env_var)
    path = Path(override) if override else project_root() / relative
    if not (path.is_file() and os.access(path, os.X_OK)):
        source = f"${env_var}" if override else "the project's .tools folder"
        raise SetupError(
            f"{what} not found at {path} (from {source}); run `make setup` to install it, "
            f"or point ${env_var} at an executable {what}"
        )
    return path


def restate_server_bin() -> Path:
    """The restate-server executable (`$RESTATE_SERVER_BIN` overrides)."""
    return _binary(RESTATE_SERVER_ENV, _SERVER_REL, "restate-server")


def restatectl_bin() -> Path:
    """The restatectl executable (`$RESTATECTL_BIN` overrides)."""
    return _binary(RESTATECTL_ENV, _CTL_REL, "restatectl")


def default_data_dir() -> Path:
    """Where `serve` keeps restate's data across restarts."""
    return project_root() / ".data"
