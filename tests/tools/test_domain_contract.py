"""The import-linter contract for domains (tools/domain_contract.py), on small made-up packages.

Each case writes a package to a temporary folder and runs ``lint-imports`` on it, as
``make test`` does on cxloop: the contract must keep a well-formed package and name each
broken rule, including for a domain that no list mentions.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")

CONFIG = """
[importlinter]
root_package = shop
contract_types =
    domains: tools.domain_contract.DomainsContract

[importlinter:contract:domains]
name = domains
type = domains
root = shop
infrastructure =
    store
top =
    web
toolkit =
    shop.web.deps
composition =
    router
    flows
"""


def make_package(root: Path, files: dict[str, str]) -> None:
    """Write ``shop`` with the given modules (dotted name -> source)."""
    for name, source in files.items():
        parts = name.split(".")
        folder = root.joinpath(*parts[:-1])
        folder.mkdir(parents=True, exist_ok=True)
        for depth in range(1, len(parts)):
            init = root.joinpath(*parts[:depth], "__init__.py")
            if not init.exists():
                init.write_text("")
        target = root.joinpath(*parts[:-1], f"{parts[-1]}.py")
        if parts[-1] == "__init__":
            target = folder / "__init__.py"
        target.write_text(source)


def lint(tmp_path: Path, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the made-up package."""
    make_package(tmp_path / "src", files)
    (tmp_path / ".importlinter").write_text(CONFIG)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'src'}{os.pathsep}{ROOT}"}
    return subprocess.run(
        [str(LINT), "--config", str(tmp_path / ".importlinter"), "--no-cache"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


BASE = {
    "shop.store.db": "",
    "shop.web.deps": "",
    "shop.web.app": "from shop.orders import router\n",
    "shop.customers.__init__": "from shop.customers.service import find\n",
    "shop.customers.service": "from shop.store import db\n\ndef find(): ...\n",
    "shop.orders.__init__": "from shop.orders.service import place\n",
    "shop.orders.service": "from shop import customers\n\ndef place(): ...\n",
    "shop.orders.router": "from shop.web import deps\nfrom shop import orders\n",
}


def test_a_package_that_keeps_the_rules_passes(tmp_path: Path) -> None:
    result = lint(tmp_path, BASE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"shop.orders.service": "from shop.customers import service\n"},
            "past customers's facade: shop.orders.service -> shop.customers.service",
        ),
        (
            {"shop.store.db": "from shop import customers\n"},
            "infrastructure imports customers: shop.store.db -> shop.customers",
        ),
        (
            {"shop.customers.service": "from shop.web import app\n"},
            "a domain imports web: shop.customers.service -> shop.web.app",
        ),
        (
            {"shop.customers.service": "from shop import orders\n"},
            "domains in a cycle: customers -> orders -> customers",
        ),
        (
            # A domain no list names is covered all the same.
            {
                "shop.returns.__init__": "",
                "shop.returns.service": "from shop.orders.service import place\n",
            },
            "past orders's facade: shop.returns.service -> shop.orders.service",
        ),
    ],
)
def test_each_broken_rule_is_named(tmp_path: Path, change: dict[str, str], expected: str) -> None:
    result = lint(tmp_path, {**BASE, **change})
    assert result.returncode != 0
    assert expected in result.stdout


def test_flows_and_routers_may_assemble_domains_both_ways(tmp_path: Path) -> None:
    # customers.flows uses orders while orders uses customers: flows sit above both.
    result = lint(tmp_path, {**BASE, "shop.customers.flows": "from shop import orders\n"})
    assert result.returncode == 0, result.stdout
