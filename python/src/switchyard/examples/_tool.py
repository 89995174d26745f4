"""What the example tools share: the connection flags, docs/conventions.md's exit codes and
error prefix, and a clean exit on SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Awaitable, Callable, NoReturn, Union

from .. import __version__
from ..client import DEFAULT_HOST, DEFAULT_PORT, AsyncClient, ClientError

EXIT_NEGATIVE = 1
EXIT_ERROR = 2
EXIT_USAGE = 64


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the usage error's exit code of the Swift tools (64, EX_USAGE)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"Error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def parser(prog: str, description: str) -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default=DEFAULT_HOST, help="Fabric address. (default: %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="Fabric TCP port. (default: %(default)s)")
    parser.add_argument("--unix", metavar="path", help="Fabric Unix-domain socket (instead of --host and --port).")
    parser.add_argument(
        "--log-level", default="warning", choices=["trace", "debug", "info", "notice", "warning", "error", "critical"],
        help="Logging level, to stderr. (default: %(default)s)",
    )
    parser.add_argument("--version", action="version", version=__version__)
    return parser


def check_port(parser: argparse.ArgumentParser, port: int) -> None:
    if not 1 <= port <= 65535:
        parser.error(f"--port must be between 1 and 65535, got {port}")


async def connect(arguments: argparse.Namespace, client_name: str) -> AsyncClient:
    return await AsyncClient.connect(arguments.host, arguments.port, unix=arguments.unix, client_name=client_name)


def run(prog: str, arguments: argparse.Namespace, main: Callable[[], Awaitable[int]], on_signal: Union[int, Callable[[], int]]) -> NoReturn:
    """Runs ``main`` until it returns its exit status; SIGINT/SIGTERM end it with ``on_signal``.
    A ClientError is one line on stderr, ``prog: reason``, and exit 2 (1 for a timeout)."""
    levels = {"trace": logging.DEBUG, "notice": logging.INFO}
    logging.basicConfig(level=levels.get(arguments.log_level, getattr(logging, arguments.log_level.upper(), logging.WARNING)),
                        format=f"{prog}: %(levelname)s: %(message)s")

    async def guarded() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        signalled = False

        def stop() -> None:
            nonlocal signalled
            signalled = True
            if task is not None:
                task.cancel()

        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop)
        try:
            return await main()
        except asyncio.CancelledError:
            if signalled:
                return on_signal() if callable(on_signal) else on_signal
            raise

    try:
        status = asyncio.run(guarded())
    except TimeoutError as error:
        print(f"{prog}: timeout: {error}" if not str(error).startswith("timeout") else f"{prog}: {error}", file=sys.stderr)
        status = EXIT_NEGATIVE
    except ClientError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        status = EXIT_ERROR
    sys.stdout.flush()
    raise SystemExit(status)


def line(text: str) -> None:
    """One stdout line, flushed at once (a script waiting on a pipe sees it)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
