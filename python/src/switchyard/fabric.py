"""Running ``switchyardd`` and the Switchyard tools as processes: a fabric on a free port with
its capture, services and commands waited for by their ready lines, and replays whose report
is parsed into counts. The pytest plugin is built on this; scripts can use it directly."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Sequence

from .client import AsyncClient
from .sync import Client

__all__ = ["FabricStartError", "Process", "ReplayResult", "Fabric", "find_binary"]

_SUMMARY = re.compile(
    r"(?:replayed|interrupted after playing) (?P<played>\d+) frames?(?: and (?P<connections>\d+) TCP connections?)?, "
    r"expected (?P<expected>\d+) repl(?:y|ies): "
    r"(?P<matched>\d+) matched, (?P<differed>\d+) differed, (?P<missing>\d+) missing"
    r"(?:; streams: (?P<streams_matched>\d+) matched, (?P<streams_differed>\d+) differed, (?P<streams_missing>\d+) missing"
    r"(?:, (?P<streams_skipped>\d+) skipped)?)?"
    r"; (?P<unexpected>\d+) unexpected"
    r"(?:; (?P<background>\d+) background frames?, not compared)?"
    r"(?:; masked: (?P<masked>.*))?$",
    re.MULTILINE,
)
# One mask in the summary's "masked:" list: "ipv4.ttl 3 (--ignore)", "dns.id 0 (noise file, stale)".
_MASK = re.compile(r"(?P<name>\S+) (?P<hid>\d+) \((?P<source>[^,)]+)(?P<stale>, stale)?\)")


class FabricStartError(RuntimeError):
    """A process did not start or never printed its ready line; the message carries its own words."""


def find_binary(name: str, directory: str | os.PathLike[str] | None = None) -> str:
    """``name`` in ``directory`` (a build's bin folder), else $SWITCHYARD_BIN, else PATH."""
    for folder in (directory, os.environ.get("SWITCHYARD_BIN")):
        if folder:
            candidate = Path(folder) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    found = shutil.which(name)
    if found is None:
        where = f" in {directory}," if directory else ""
        raise FabricStartError(f"{name} not found{where} in $SWITCHYARD_BIN or on PATH (build it: swift build)")
    return found


class Process:
    """A child process whose stdout and stderr are collected as it runs; stopped by its PID."""

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        try:
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env={**os.environ, **(env or {})}, start_new_session=True,
            )
        except OSError as error:
            raise FabricStartError(f"cannot run {self.argv[0]}: {error.strerror}") from None
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._lock = threading.Lock()
        self._readers = [
            threading.Thread(target=self._drain, args=(self.popen.stdout, self._stdout), daemon=True),
            threading.Thread(target=self._drain, args=(self.popen.stderr, self._stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _drain(self, stream: IO[bytes] | None, into: list[str]) -> None:
        assert stream is not None
        for raw in iter(stream.readline, b""):
            with self._lock:
                into.append(raw.decode("utf-8", "replace"))

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def stdout(self) -> str:
        with self._lock:
            return "".join(self._stdout)

    @property
    def stderr(self) -> str:
        with self._lock:
            return "".join(self._stderr)

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def wait_for_line(self, pattern: str, timeout: float = 20.0, stream: str = "stdout") -> re.Match[str]:
        """The first line (of stdout, or stderr) matching the regular expression ``pattern``."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.stdout if stream == "stdout" else self.stderr
            for line in text.splitlines():
                if match := compiled.search(line):
                    return match
            if self.popen.poll() is not None or time.monotonic() > deadline:
                what = "exited" if self.popen.poll() is not None else f"printed nothing matching it within {timeout:g} s"
                raise FabricStartError(
                    f"{' '.join(self.argv)}: no line matching {pattern!r}; it {what}. "
                    f"stdout: {self.stdout.strip() or '(none)'}; stderr: {self.stderr.strip() or '(none)'}"
                )
            time.sleep(0.02)

    def wait(self, timeout: float = 60.0) -> int:
        """Waits for the exit (killing the process after ``timeout``) and returns its status."""
        try:
            status = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TimeoutError(f"{' '.join(self.argv)} did not exit within {timeout:g} s; stderr: {self.stderr}") from None
        for reader in self._readers:
            reader.join(timeout=5.0)
        return status

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signals the process (SIGTERM) and waits; SIGKILL if it does not go."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        try:
            return self.wait(timeout)
        except TimeoutError:
            return self.popen.wait(5.0)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(5.0)


@dataclass
class ReplayResult:
    """What ``switchyard-replay`` said: its exit status (0 identical, 1 differences, 2 errors),
    the counts of its summary line, and the report a person reads."""

    returncode: int
    stdout: str
    stderr: str
    recording: str
    played: int = 0
    expected: int = 0
    matched: int = 0
    differed: int = 0
    missing: int = 0
    unexpected: int = 0
    #: TCP connections replayed, and how their server streams compared.
    connections: int = 0
    streams_matched: int = 0
    streams_differed: int = 0
    streams_missing: int = 0
    streams_skipped: int = 0
    #: Frames not compared: what hosts send on their own, and floods of no recorded flow.
    background: int = 0
    #: Each mask (--ignore or the noise file) and in how many replies it hid a difference.
    masks: dict[str, int] = field(default_factory=dict)
    #: Masks that hid nothing in this run.
    stale_masks: list[str] = field(default_factory=list)
    #: True when the recording was (re)made with --switchyard-record instead of replayed.
    recorded: bool = False
    junit: str | None = None

    @property
    def passed(self) -> bool:
        return self.returncode == 0

    @property
    def report(self) -> str:
        return (self.stdout + self.stderr).strip()

    @classmethod
    def parse(cls, returncode: int, stdout: str, stderr: str, recording: str, junit: str | None = None) -> "ReplayResult":
        result = cls(returncode, stdout, stderr, recording, junit=junit)
        if match := _SUMMARY.search(stdout):
            for key, value in match.groupdict().items():
                if value is not None and key != "masked":
                    setattr(result, key, int(value))
            for mask in _MASK.finditer(match.group("masked") or ""):
                result.masks[mask.group("name")] = int(mask.group("hid"))
                if mask.group("stale"):
                    result.stale_masks.append(mask.group("name"))
        return result


@dataclass
class Fabric:
    """A ``switchyardd`` on a free loopback port, recording into ``capture``."""

    directory: Path
    bin_dir: str | None = None
    rules: Sequence[str] = ()
    seed: int | None = None
    extra: Sequence[str] = ()
    record: bool = True
    process: Process | None = None
    host: str = "127.0.0.1"
    port: int = 0
    processes: list[Process] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    replays: list[ReplayResult] = field(default_factory=list)

    @property
    def capture(self) -> Path:
        return self.directory / "switchyard.pcap"

    @property
    def manifest(self) -> Path:
        return self.directory / "switchyard.manifest.json"

    def binary(self, name: str) -> str:
        return find_binary(name, self.bin_dir)

    def start(self) -> "Fabric":
        self.directory.mkdir(parents=True, exist_ok=True)
        argv = [self.binary("switchyardd"), "--host", self.host, "--port", "0"]
        if self.record:
            argv += ["--capture", str(self.capture)]
        if self.rules:
            rules_file = self.directory / "switchyard.rules"
            rules_file.write_text("\n".join(self.rules) + "\n")
            argv += ["--rules", str(rules_file)]
        if self.seed is not None:
            argv += ["--seed", str(self.seed)]
        argv += list(self.extra)
        self.process = Process(argv)
        match = self.process.wait_for_line(r"^\[fabric\] listening on .*:(\d+)$")
        self.port = int(match.group(1))
        return self

    @property
    def address(self) -> list[str]:
        """The flags that point a Switchyard tool at this fabric."""
        return ["--host", self.host, "--port", str(self.port)]

    def service(self, tool: str, *arguments: str, ready: str = r"\] ready", timeout: float = 20.0) -> Process:
        """Starts a Switchyard tool (``switchyard-echo``, or ``echo`` for short) on this fabric
        and waits for its ready line."""
        name = tool if tool.startswith("switchyard") else f"switchyard-{tool}"
        return self.command([self.binary(name), *self.address, *arguments], ready=ready, timeout=timeout)

    def command(self, argv: Sequence[str], ready: str | None = None, timeout: float = 20.0, env: dict[str, str] | None = None) -> Process:
        """Starts any command (stopped with the fabric); with ``ready``, waits for that line."""
        process = Process(argv, env)
        self.processes.append(process)
        if ready is not None:
            process.wait_for_line(ready, timeout)
        return process

    def run(self, tool: str, *arguments: str, timeout: float = 60.0, env: dict[str, str] | None = None) -> Process:
        """Runs a Switchyard tool against this fabric to its end (``run("switchyard-ping", "--count", "3")``)."""
        name = tool if tool.startswith("switchyard") else f"switchyard-{tool}"
        process = Process([self.binary(name), *self.address, *arguments], env)
        process.wait(timeout)
        return process

    def tap(self, name: str, *arguments: str, timeout: float = 20.0) -> Process:
        """Attaches a TAP device (``switchyard-tap --name NAME ...``: root) and waits until it is ready."""
        return self.service("switchyard-tap", "--name", name, *arguments, ready=r"^\[tap\] ready", timeout=timeout)

    def client(self, client_name: str = "pytest", timeout: float = 5.0) -> Client:
        """A blocking client on this fabric, closed with it."""
        client = Client(self.host, self.port, client_name=client_name, timeout=timeout)
        self.clients.append(client)
        return client

    async def async_client(self, client_name: str = "pytest", timeout: float = 5.0) -> AsyncClient:
        """An asyncio client on this fabric; close it yourself (``async with``)."""
        return await AsyncClient.connect(self.host, self.port, client_name=client_name, timeout=timeout)

    def replay(self, recording: str | os.PathLike[str], *arguments: str, timeout: float = 300.0) -> ReplayResult:
        """Replays a recording against the services on this fabric (``switchyard-replay``)."""
        junit = self.directory / f"replay-{len(self.replays) + 1}.junit.xml"
        argv = [self.binary("switchyard-replay"), str(recording), *self.address, "--junit", str(junit), *arguments]
        process = Process(argv)
        status = process.wait(timeout)
        result = ReplayResult.parse(status, process.stdout, process.stderr, str(recording), str(junit) if junit.exists() else None)
        self.replays.append(result)
        return result

    def stop(self) -> int | None:
        """Stops every client and process, then the fabric (its capture is then complete)."""
        for client in self.clients:
            try:
                client.close()
            except Exception:
                pass
        self.clients.clear()
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        if self.process is None:
            return None
        status = self.process.stop()
        return status


def temporary_fabric(**options: object) -> Fabric:
    """A fabric in a fresh temporary directory (for scripts; tests use the fixture)."""
    return Fabric(Path(tempfile.mkdtemp(prefix="switchyard-")), **options).start()  # type: ignore[arg-type]
