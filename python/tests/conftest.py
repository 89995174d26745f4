"""The SDK's own tests run against the real daemon and tools of this checkout: the binaries in
$SWITCHYARD_BIN, else the package's debug build (scripts/test.sh sets the variable). Without
them, tests marked ``needs_fabric`` are skipped with the reason; with CI set, that is an error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

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


def require(missing: str | None) -> None:
    """Skips the test with the reason when ``missing`` says what is missing; under CI (which
    installs everything) fails it instead."""
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so this test must run, but {missing}", pytrace=False)
    pytest.skip(missing)


@pytest.fixture
def namespace() -> "Iterator[str]":
    """A network namespace of the test's own (root, iproute2 and /dev/net/tun needed), deleted after."""
    import shutil
    import subprocess
    import uuid

    missing = None
    if os.geteuid() != 0:
        missing = "network namespaces need root"
    elif shutil.which("ip") is None:
        missing = "ip (iproute2) is not installed"
    elif not Path("/dev/net/tun").exists():
        missing = "/dev/net/tun is missing"
    require(missing)
    name = "sy-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"], check=False)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)
