"""The example tools against the Swift ones, both ways: the same lines, the same exits."""

from __future__ import annotations

import sys
from typing import Callable

import pytest

from switchyard.fabric import Process

pytestmark = pytest.mark.needs_fabric

PYTHON = [sys.executable, "-m"]


def test_our_echo_answers_the_swift_ping_by_lookup_and_by_arp(switchyard, tool: Callable[[str], str]) -> None:
    echo = switchyard.command(PYTHON + ["switchyard.examples.echo", *switchyard.address], ready=r"^\[svc_echo\] ready: ")
    assert echo.wait_for_line(r"ready").group(0) and "ip 10.0.0.2 udp 7007" in echo.stdout
    for resolve in ("lookup", "arp"):
        ping = Process([tool("switchyard-ping"), *switchyard.address, "--resolve", resolve, "--count", "2"], env={"PING_MSG": "hello switchyard"})
        assert ping.wait(30) == 0, ping.stderr
        assert ping.stdout.count("[cli] got reply from 10.0.0.2:7007 b'hello switchyard'") == 2
        assert "2 packets transmitted, 2 received, 0% packet loss" in ping.stdout
    assert echo.stop() == 0, "SIGTERM ends it with 0"


def test_our_ping_gets_the_swift_echo_and_prints_the_same_lines(switchyard, tool: Callable[[str], str]) -> None:
    switchyard.service("switchyard-echo")
    ours = Process(PYTHON + ["switchyard.examples.ping", *switchyard.address, "--count", "2", "--message", "same lines"])
    assert ours.wait(30) == 0, ours.stderr
    theirs = switchyard.run("switchyard-ping", "--count", "2", "--message", "same lines")
    assert theirs.returncode == 0

    def without_times(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("rtt ")]

    assert without_times(ours.stdout) == without_times(theirs.stdout)
    arp = Process(PYTHON + ["switchyard.examples.ping", *switchyard.address, "--resolve", "arp"])
    assert arp.wait(30) == 0, arp.stderr
    assert arp.stdout == "[cli] sent 10 bytes to 10.0.0.2:7007 b'marco polo'\n[cli] got reply from 10.0.0.2:7007 b'marco polo'\n"


def test_the_exits_and_errors_are_the_swift_tools(switchyard, tool: Callable[[str], str]) -> None:
    nobody = Process(PYTHON + ["switchyard.examples.ping", *switchyard.address, "--timeout", "0.3"])
    assert nobody.wait(30) == 1
    assert nobody.stderr.strip() == 'switchyard-ping: timeout: endpoint "svc_echo" not found within 0.3 s (is switchyard-echo running?)'
    swift = switchyard.run("switchyard-ping", "--timeout", "0.3")
    assert swift.returncode == 1 and swift.stderr.strip() == nobody.stderr.strip()
    for module in ("switchyard.examples.ping", "switchyard.examples.echo"):
        unreachable = Process(PYTHON + [module, "--port", "1"])
        assert unreachable.wait(30) == 2
        assert unreachable.stderr.strip().endswith("cannot reach fabric at 127.0.0.1:1: Connection refused")
        usage = Process(PYTHON + [module, "--no-such-flag"])
        assert usage.wait(30) == 64 and "--no-such-flag" in usage.stderr
