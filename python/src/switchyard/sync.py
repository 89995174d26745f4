"""A blocking wrapper around AsyncClient, for scripts: the client runs on an event loop of its
own in a background thread, and each call waits (with the client's timeout) for its result."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine, TypeVar

from .client import DEFAULT_HOST, DEFAULT_PORT, AsyncClient, Endpoint, Frame

__all__ = ["Client"]

T = TypeVar("T")


class Client:
    """``with Client(port=9999) as fabric: me = fabric.create_endpoint("cli1") ...``"""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        unix: str | None = None,
        client_name: str = "switchyard-python",
        timeout: float = 5.0,
    ) -> None:
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="switchyard-client", daemon=True)
        self._thread.start()
        try:
            self._client = self._run(AsyncClient.connect(host, port, unix=unix, client_name=client_name, timeout=timeout))
        except BaseException:
            self._stop_loop()
            raise

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        # The coroutine bounds itself; this bound is only for a loop that stopped answering.
        return future.result((timeout if timeout is not None else self.timeout) + 5.0)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def address(self) -> str:
        return self._client.address

    def create_endpoint(self, name: str, mac: str | None = None) -> Endpoint:
        return self._run(self._client.create_endpoint(name, mac))

    def lookup(self, name: str, retry_for: float = 0.0, every: float = 0.1) -> Endpoint:
        return self._run(self._client.lookup(name, retry_for, every), timeout=retry_for + self.timeout)

    def subscribe(self, endpoint_id: int, promiscuous: bool = False) -> None:
        self._run(self._client.subscribe(endpoint_id, promiscuous))

    def send(self, frame: bytes, from_endpoint: int) -> None:
        async def send() -> None:
            self._client.send(frame, from_endpoint)

        self._run(send())

    def next_frame(self, timeout: float | None = None) -> Frame | None:
        return self._run(self._client.next_frame(timeout), timeout=timeout)

    def stats(self) -> dict[str, Any]:
        return self._run(self._client.stats())

    def rules(self, op: str = "list", rule: str | None = None, id: int | None = None) -> dict[str, Any]:
        return self._run(self._client.rules(op, rule, id))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._run(self._client.close())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5.0)
        if not self._loop.is_running():
            self._loop.close()
