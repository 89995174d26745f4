"""The fixture with a kernel behind switchyard-tap: a namespace's own nc reaches the echo service."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import require

pytestmark = pytest.mark.needs_fabric


def test_a_kernel_in_a_namespace_reaches_a_service(switchyard, namespace: str) -> None:
    require(None if shutil.which("nc") else "nc (netcat-openbsd) is not installed")
    switchyard.service("echo")
    tap = switchyard.tap("ns1", "--netns", namespace, "--address", "10.0.0.50/24")
    assert "ns1" in tap.stdout
    echoed = subprocess.run(
        ["ip", "netns", "exec", namespace, "nc", "-u", "-w", "1", "10.0.0.2", "7007"],
        input=b"from the kernel\n", capture_output=True, timeout=30,
    )
    assert echoed.stdout == b"from the kernel\n", echoed.stderr
    assert switchyard.client().lookup("ns1").name == "ns1"
