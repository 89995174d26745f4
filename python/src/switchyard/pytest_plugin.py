"""The pytest plugin: a Switchyard fabric per test, its recording, and replay.

Fixtures:
    ``switchyard``          a fresh ``switchyardd`` for the test, recording into its tmp_path
    ``switchyard_session``  one fabric shared by the whole session
Marker:
    ``@pytest.mark.switchyard(rules="to svc_echo loss 20%", seed=42, args=[...], port=0)``
Options:
    ``--switchyard-bin DIR``  where switchyardd and the tools are (else $SWITCHYARD_BIN, else PATH)
    ``--switchyard-record``   ``replay(GOLDEN)`` re-records GOLDEN from the test's own session
                              instead of replaying it (the snapshot-testing habit)

When a test that used a fabric fails, its report gets a "switchyard" section with the
recording's path and each replay's report, and the paths go into ``user_properties`` (so a
JUnit XML report carries them): CI can keep them as artefacts.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Generator, Iterator

import pytest

from .fabric import Fabric, ReplayResult

_FABRIC = pytest.StashKey["TestFabric"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("switchyard")
    group.addoption("--switchyard-bin", metavar="DIR", default=None, help="directory holding switchyardd and the switchyard tools")
    group.addoption(
        "--switchyard-record", action="store_true", default=False,
        help="re-record golden recordings passed to switchyard.replay() from each test's own session, instead of replaying them",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "switchyard(rules=None, seed=None, args=(), port=0): configure the test's switchyardd (rules: one rule or a list)",
    )


class TestFabric(Fabric):
    """The fixture's fabric: a Fabric whose ``replay`` re-records in record mode."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, *args: Any, recording_mode: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recording_mode = recording_mode
        self.rerecord: list[Path] = []

    def replay(self, recording: Any, *arguments: str, timeout: float = 300.0) -> ReplayResult:
        path = Path(recording)
        if self.recording_mode:
            # Written from this session's capture once the fabric has stopped (the file is whole then).
            self.rerecord.append(path)
            result = ReplayResult(0, f"recorded {path} from this test's session\n", "", str(path), recorded=True)
            self.replays.append(result)
            return result
        if not path.exists():
            pytest.fail(f"no recording {path}: make it with pytest --switchyard-record", pytrace=False)
        return super().replay(path, *arguments, timeout=timeout)

    def finish(self) -> None:
        self.stop()
        for golden in self.rerecord:
            golden.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.capture, golden)
            if self.manifest.exists():
                shutil.copyfile(self.manifest, golden.with_name(_manifest_name(golden)))


def _manifest_name(capture: Path) -> str:
    name = capture.name
    for suffix in (".pcapng", ".pcap"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name + ".manifest.json"


def _options(marker: pytest.Mark | None) -> dict[str, Any]:
    if marker is None:
        return {}
    options = dict(marker.kwargs)
    unknown = set(options) - {"rules", "seed", "args", "port"}
    if unknown or marker.args:
        raise pytest.UsageError(f"@pytest.mark.switchyard takes rules=, seed=, args= and port=, not {sorted(unknown) or marker.args}")
    return options


def _make(directory: Path, config: pytest.Config, marker: pytest.Mark | None) -> TestFabric:
    options = _options(marker)
    rules = options.get("rules") or ()
    if isinstance(rules, str):
        rules = [rules]
    extra = list(options.get("args", ()))
    port = int(options.get("port", 0))
    if port:
        extra += ["--port", str(port)]
    fabric = TestFabric(
        directory, bin_dir=config.getoption("--switchyard-bin"), rules=list(rules), seed=options.get("seed"), extra=extra,
        recording_mode=config.getoption("--switchyard-record"),
    )
    return fabric


@pytest.fixture
def switchyard(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestFabric]:
    """A switchyardd for this test on a free loopback port, recording to tmp_path/switchyard/."""
    fabric = _make(tmp_path / "switchyard", request.config, request.node.get_closest_marker("switchyard"))
    request.node.stash[_FABRIC] = fabric
    try:
        fabric.start()
    except Exception:
        fabric.stop()
        raise
    try:
        yield fabric
    finally:
        fabric.finish()


@pytest.fixture(scope="session")
def switchyard_session(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestFabric]:
    """One switchyardd for the whole session (no marker: configure it with --switchyard-bin only)."""
    fabric = _make(tmp_path_factory.mktemp("switchyard-session"), request.config, None)
    fabric.start()
    try:
        yield fabric
    finally:
        fabric.finish()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _add_section(item, report)
    return report


def _add_section(item: pytest.Item, report: pytest.TestReport) -> None:
    fabric = item.stash.get(_FABRIC, None)
    if fabric is None or not report.failed or report.when not in ("setup", "call"):
        return
    lines = [f"recording: {fabric.capture}"]
    item.user_properties.append(("switchyard_recording", str(fabric.capture)))
    for number, replay in enumerate(fabric.replays, start=1):
        lines.append(f"replay {number} of {replay.recording}: exit {replay.returncode}")
        if replay.junit:
            lines.append(f"  JUnit report: {replay.junit}")
            item.user_properties.append((f"switchyard_replay_{number}", replay.junit))
        lines += ["  " + line for line in replay.report.splitlines()]
    if fabric.process is not None and fabric.process.returncode not in (None, 0):
        lines.append(f"switchyardd exited {fabric.process.returncode}: {fabric.process.stderr.strip()}")
    report.sections.append(("switchyard", "\n".join(lines)))
