"""The layers' imports run one way (docs/design.md): the domain, `ledger/`,
imports the standard library and itself only, so it stays pure and testable
without pydantic, httpx or restate; `api/` never imports the Restate shell."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(package: str) -> dict[str, set[str]]:
    """Each module of `package` and the top-level names it imports, read from
    its source (never imported, so nothing the module does can hide one)."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}: relative import"
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    assert found, f"no modules found in {package}/"
    return found


def test_the_domain_imports_only_the_standard_library_and_itself():
    allowed = set(sys.stdlib_module_names) | {"ledger", "__future__"}
    outside = {module: sorted(names - allowed) for module, names in imported_modules("ledger").items()
               if names - allowed}
    assert outside == {}


def test_the_contract_never_imports_the_shell_or_the_tools():
    banned = {"actors", "runtime", "bench", "campaign", "restate", "tests"}
    offending = {module: sorted(names & banned) for module, names in imported_modules("api").items()
                 if names & banned}
    assert offending == {}


def test_the_check_sees_an_import_from_outside():
    # The oracle must be able to fail: a module importing pydantic is caught.
    tree = ast.parse("from pydantic import BaseModel\nimport json\n")
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert names - set(sys.stdlib_module_names) == {"pydantic"}
