"""The locks in requirements/ pin every dependency pyproject.toml names, within its bounds.

A dependency added or re-bounded in pyproject.toml without `make lock` fails here, so the
installs of `make demo` and `make test` keep repeating what CI ran.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
RUNTIME: list[str] = PROJECT["dependencies"]
TEST: list[str] = PROJECT["optional-dependencies"]["test"]
EMBEDDINGS: list[str] = PROJECT["optional-dependencies"]["embeddings"]


def pins(lock: str) -> dict[NormalizedName, str]:
    """Each package of a lock file with its specifier (`==1.2` when pinned)."""
    found: dict[NormalizedName, str] = {}
    for line in (ROOT / "requirements" / lock).read_text(encoding="utf-8").splitlines():
        # Requirement lines start at the margin; hashes and `# via` comments are indented.
        if line and not line[0].isspace() and not line.startswith(("#", "-")):
            requirement = Requirement(line.removesuffix("\\").strip())
            found[canonicalize_name(requirement.name)] = str(requirement.specifier)
    return found


@pytest.mark.parametrize(
    ("lock", "declared"),
    [("runtime.txt", RUNTIME), ("test.txt", RUNTIME + TEST)],
)
def test_every_declared_dependency_is_pinned_within_its_bounds(
    lock: str, declared: list[str]
) -> None:
    # given the lock and the dependencies pyproject.toml declares for it
    pinned = pins(lock)
    # when each declared dependency is looked up in the lock
    unlocked = []
    for text in declared:
        wanted = Requirement(text)
        specifier = pinned.get(canonicalize_name(wanted.name), "")
        version = specifier.removeprefix("==")
        if not specifier.startswith("==") or not wanted.specifier.contains(
            Version(version), prereleases=True
        ):
            unlocked.append(f"{text} (lock: {specifier or 'absent'})")
    # then none is missing, unpinned or out of its bounds
    assert unlocked == [], f"run `make lock`: requirements/{lock} does not pin {unlocked}"


def test_the_runtime_lock_runs_the_versions_the_test_lock_tests() -> None:
    runtime, test = pins("runtime.txt"), pins("test.txt")
    assert {name: test.get(name) for name in runtime} == runtime


def test_the_embeddings_extra_stays_out_of_the_locks() -> None:
    names = {canonicalize_name(Requirement(text).name) for text in EMBEDDINGS}
    assert names & (pins("runtime.txt").keys() | pins("test.txt").keys()) == set()
