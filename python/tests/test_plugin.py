"""The pytest plugin, used by test suites of its own (pytester)."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.needs_fabric

ROOT = Path(__file__).resolve().parents[2]


def test_a_fabric_per_test_with_the_markers_rules_and_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            import pytest

            @pytest.mark.switchyard(rules=["to svc_echo loss 50%"], seed=42)
            def test_rules_and_seed(switchyard):
                client = switchyard.client()
                stats = client.stats()
                assert stats["seed"] == 42
                assert [rule["rule"] for rule in stats["rules"]] == ["to svc_echo loss 50%"]
                switchyard.service("echo")
                ping = switchyard.run("switchyard-ping", "--count", "10", "--timeout", "0.2")
                assert "10 packets transmitted" in ping.stdout
                assert switchyard.capture.exists()

            def test_each_test_has_its_own(switchyard):
                assert switchyard.client().stats()["endpoints"] == 0

            def test_the_session_fabric_is_shared(switchyard_session):
                switchyard_session.client().create_endpoint("once")
            """
        )
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=3)


def test_a_failing_replay_reports_its_recording_and_report(pytester: pytest.Pytester) -> None:
    golden = ROOT / "captures" / "echo-session.pcap"
    pytester.makepyfile(
        textwrap.dedent(
            f"""
            def test_replay_without_the_service(switchyard):
                result = switchyard.replay({str(golden)!r}, "--timeout", "0.3")
                assert result.passed, result.report
            """
        )
    )
    result = pytester.runpytest_subprocess("-q", "--junitxml=report.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*- switchyard -*", "recording: */switchyard/switchyard.pcap", f"replay 1 of {golden}: exit 1", "*JUnit report: *replay-1.junit.xml"])
    assert "switchyard_recording" in (pytester.path / "report.xml").read_text(), "the paths are in the JUnit report too"


def test_record_then_replay_then_catch_a_change(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            import os

            def test_echo_regression(switchyard):
                switchyard.service("echo", *os.environ.get("ECHO_ARGS", "").split())
                ping = switchyard.run("switchyard-ping", "--count", "3")
                assert ping.returncode == 0
                result = switchyard.replay("golden/echo.pcap")
                assert result.passed, result.report
            """
        )
    )
    pytester.runpytest_subprocess("-q", "--switchyard-record").assert_outcomes(passed=1)
    assert (pytester.path / "golden" / "echo.pcap").exists() and (pytester.path / "golden" / "echo.manifest.json").exists()
    pytester.runpytest_subprocess("-q").assert_outcomes(passed=1)
    monkeypatch.setenv("ECHO_ARGS", "--ttl 63")
    changed = pytester.runpytest_subprocess("-q")
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(["*differed*"])


def test_a_missing_recording_says_how_to_make_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(switchyard):\n    switchyard.replay('golden/none.pcap')\n")
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no recording golden/none.pcap: make it with pytest --switchyard-record*"])


def test_a_daemon_that_does_not_start_is_a_test_error_with_its_own_words(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile("def test_x(switchyard):\n    pass\n")
    missing = pytester.runpytest_subprocess("-q", f"--switchyard-bin={tmp_path}", "-p", "no:cacheprovider")
    # $SWITCHYARD_BIN is set for this suite: the empty folder is tried first, then it.
    missing.assert_outcomes(passed=1)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        pytester.makepyfile(f"import pytest\n\n@pytest.mark.switchyard(port={port})\ndef test_x(switchyard):\n    pass\n")
        taken = pytester.runpytest_subprocess("-q")
        taken.assert_outcomes(errors=1)
        taken.stdout.fnmatch_lines(["*FabricStartError*", "*switchyardd: *"])


def test_no_binary_anywhere_is_a_test_error(pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile("def test_x(switchyard):\n    pass\n")
    monkeypatch.setenv("SWITCHYARD_BIN", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    result = pytester.runpytest_subprocess("-q", f"--switchyard-bin={tmp_path}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*switchyardd not found in *, in $SWITCHYARD_BIN or on PATH*"])
