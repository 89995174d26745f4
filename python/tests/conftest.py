"""The SDK's own tests run against the real daemon and tools of this checkout: the binaries in
$SWITCHYARD_BIN, else the package's debug build (scripts/test.sh sets the variable). Without
them, tests marked ``needs_fabric`` are skipped with the reason; with CI set, that is an error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]


def _bin_dir() -> str | None:
    for candidate in (os.environ.get("SWITCHYARD_BIN"), str(ROOT / ".build" / "debug")):
        if candidate and (Path(candidate) / "switchyardd").exists():
            return candidate
    return None


BIN = _bin_dir()
MISSING = "switchyardd is not built (swift build --build-tests), and $SWITCHYARD_BIN names no folder holding it"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_fabric: runs switchyardd and the Swift tools")
    if BIN:
        os.environ["SWITCHYARD_BIN"] = BIN
        if not config.getoption("--switchyard-bin"):
            config.option.switchyard_bin = BIN
    elif os.environ.get("CI"):
        raise pytest.UsageError(f"CI is set, so these tests must run, but {MISSING}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BIN:
        return
    for item in items:
        if "needs_fabric" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=MISSING))


@pytest.fixture
def tool() -> "Callable[[str], str]":
    """The path of a Swift tool of this build: ``tool("switchyard-ping")``."""

    def path(name: str) -> str:
        assert BIN is not None, MISSING
        return str(Path(BIN) / name)

    return path
