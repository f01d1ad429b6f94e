"""The layout rules no linter checks: test helpers are shared through tests/helpers only, and no
domain reads another domain's tables through the metadata."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
SRC = ROOT / "src" / "cxloop"
# Neither domains nor infrastructure: they may read any table (the store lists them all; the
# demo generator bulk-loads every table).
NOT_DOMAINS = {"store", "web", "demo", "worker", "locale"}


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_tests_share_helpers_only_through_the_helpers_package() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if "vendor" in path.parts or "helpers" in path.parts:
            continue
        for module in _imported_modules(path):
            if module.startswith("tests.") and not module.startswith("tests.helpers"):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_no_domain_reads_another_domains_table_through_the_metadata() -> None:
    # A domain may name its own tables so (a Core insert); another domain's, never.
    owners: dict[str, str] = {}
    for models in SRC.glob("*/models.py"):
        for name in re.findall(r'__tablename__ = "(\w+)"', models.read_text()):
            owners[name] = models.parent.name
    offenders = []
    for path in sorted(SRC.glob("*/**/*.py")):
        domain = path.relative_to(SRC).parts[0]
        if domain in NOT_DOMAINS:
            continue
        text = path.read_text()
        if "load_models(" in text:
            offenders.append(f"{path.relative_to(ROOT)} loads every domain's models")
        for table in re.findall(r'metadata\.tables\["(\w+)"\]', text):
            if owners.get(table) != domain:
                offenders.append(f"{path.relative_to(ROOT)} reads {table}")
    assert offenders == []
