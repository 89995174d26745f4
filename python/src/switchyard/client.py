"""An asyncio client for a Switchyard fabric (protocol v1, over TCP or a Unix socket).

One task reads the connection and sorts what arrives: PACKET_IN into a bounded frame queue,
everything else to the oldest request still waiting (the fabric answers requests in order).
Nobody else reads the stream, so two coroutines can never race for it, and a request that
times out keeps its place in line: its late reply is discarded, never taken as the answer to
the next request. Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator

from . import wire
from .wire import Message, MessageType

__all__ = [
    "ClientError",
    "FabricError",
    "ConnectionClosed",
    "Endpoint",
    "Frame",
    "AsyncClient",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9999
#: Frames held for a consumer that is behind before new ones are dropped (and counted).
FRAME_QUEUE_LIMIT = 65_536


class ClientError(Exception):
    """Something went wrong talking to the fabric."""


class FabricError(ClientError):
    """The fabric answered ERROR: ``text`` is its sentence, ``code`` its stable code (if it sent one)."""

    def __init__(self, text: str, code: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


class ConnectionClosed(ClientError):
    """The connection is gone (the fabric closed it, or it broke its framing)."""


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: int
    name: str
    mac: str

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> "Endpoint":
        try:
            return cls(int(body["endpoint_id"]), str(body["name"]), str(body["mac"]))
        except (KeyError, TypeError, ValueError):
            raise wire.ProtocolError(f"not an endpoint record: {body}") from None


@dataclass(frozen=True)
class Frame:
    """A frame delivered to one of this connection's subscriptions (PACKET_IN)."""

    endpoint_id: int
    flags: int
    data: bytes

    @property
    def promiscuous(self) -> bool:
        return bool(self.flags & wire.PROMISC)


class AsyncClient:
    """A connection to a fabric. Make one with ``await AsyncClient.connect(...)``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: str, timeout: float) -> None:
        self._reader = reader
        self._writer = writer
        self.address = address
        #: The default bound of every request, in seconds.
        self.timeout = timeout
        self._waiting: collections.deque[asyncio.Future[Message]] = collections.deque()
        self._frames: asyncio.Queue[Frame | None] = asyncio.Queue()
        self._closed: ClientError | None = None
        #: Frames dropped because FRAME_QUEUE_LIMIT frames were waiting.
        self.frames_dropped = 0
        #: The last ERROR that answered no request.
        self.last_unsolicited_error: FabricError | None = None
        # Endpoints this connection created: PACKET_OUT is checked against them before it is
        # sent, since the fabric's ERROR for a refused one could not be told from a reply.
        self._owned: set[int] = set()
        self._task = asyncio.get_running_loop().create_task(self._read_loop())

    @classmethod
    async def connect(
        cls,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        unix: str | None = None,
        client_name: str = "switchyard-python",
        timeout: float = 5.0,
    ) -> "AsyncClient":
        """Connects and says HELLO; raises ClientError when there is no fabric or it refuses."""
        address = f"unix:{unix}" if unix else f"{host}:{port}"
        try:
            if unix:
                reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(unix), timeout)
            else:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, asyncio.TimeoutError) as error:
            if isinstance(error, OSError) and error.errno:
                reason = os.strerror(error.errno)
            else:
                reason = str(error) or "timed out"
            raise ClientError(f"cannot reach fabric at {address}: {reason}") from None
        client = cls(reader, writer, address, timeout)
        try:
            await client.request(Message.control(MessageType.HELLO, {"client_name": client_name}), MessageType.WELCOME)
        except BaseException:
            await client.close()
            raise
        return client

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # Requests

    async def request(self, message: Message, expecting: MessageType, timeout: float | None = None) -> Message:
        """Sends a control request and returns its reply; ERROR raises FabricError."""
        if self._closed:
            raise self._closed
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        self._writer.write(wire.encode(message))
        bound = self.timeout if timeout is None else timeout
        try:
            # shield: a timeout cancels the wait, not the slot (its reply is still coming).
            reply = await asyncio.wait_for(asyncio.shield(future), bound)
        except asyncio.TimeoutError:
            raise TimeoutError(f"{MessageType(message.type).name}: no answer from the fabric within {bound:g} s") from None
        if reply.type == MessageType.ERROR:
            body = _json_or_empty(reply)
            raise FabricError(str(body.get("error", "(no text)")), body.get("code"))
        if reply.type != expecting:
            raise wire.ProtocolError(f"{MessageType(message.type).name} answered with {reply.type_name}, expected {expecting.name}")
        return reply

    async def create_endpoint(self, name: str, mac: str | None = None) -> Endpoint:
        body: dict[str, Any] = {"name": name}
        if mac is not None:
            body["mac"] = mac
        reply = await self.request(Message.control(MessageType.ENDPOINT_CREATE, body), MessageType.ENDPOINT_CREATED)
        endpoint = Endpoint.from_json(reply.json())
        self._owned.add(endpoint.endpoint_id)
        return endpoint

    async def lookup(self, name: str, retry_for: float = 0.0, every: float = 0.1) -> Endpoint:
        """The endpoint named ``name``; with ``retry_for``, asks again until it appears."""
        deadline = time.monotonic() + retry_for
        while True:
            try:
                reply = await self.request(Message.control(MessageType.ENDPOINT_LOOKUP, {"name": name}), MessageType.ENDPOINT_INFO)
                return Endpoint.from_json(reply.json())
            except FabricError:
                if time.monotonic() + every > deadline:
                    raise
                await asyncio.sleep(every)

    async def subscribe(self, endpoint_id: int, promiscuous: bool = False) -> None:
        flags = wire.PROMISC if promiscuous else 0
        body = {"endpoint_id": endpoint_id, "promisc": promiscuous}
        await self.request(Message.control(MessageType.SUBSCRIBE, body, endpoint_id, flags), MessageType.SUBSCRIBED)

    async def stats(self) -> dict[str, Any]:
        """The fabric's counters (STATS, an extension of this fabric)."""
        return (await self.request(Message.control(MessageType.STATS_REQUEST), MessageType.STATS)).json()

    async def rules(self, op: str = "list", rule: str | None = None, id: int | None = None) -> dict[str, Any]:
        """Lists (``op="list"``), adds (``rule=``), deletes (``id=``) or clears rules."""
        body: dict[str, Any] = {"op": op}
        if rule is not None:
            body["rule"] = rule
        if id is not None:
            body["id"] = id
        return (await self.request(Message.control(MessageType.RULES_REQUEST, body), MessageType.RULES)).json()

    # Frames

    def send(self, frame: bytes, from_endpoint: int) -> None:
        """Sends one Ethernet frame from an endpoint this connection created (PACKET_OUT)."""
        if self._closed:
            raise self._closed
        frame = bytes(frame)
        if from_endpoint not in self._owned:
            raise ValueError(f"endpoint {from_endpoint} was not created by this connection")
        if not wire.MINIMUM_FRAME_LENGTH <= len(frame) <= wire.MAXIMUM_FRAME_LENGTH:
            raise ValueError(f"a frame has {wire.MINIMUM_FRAME_LENGTH} to {wire.MAXIMUM_FRAME_LENGTH} bytes, this one {len(frame)}")
        self._writer.write(wire.encode(Message(MessageType.PACKET_OUT, from_endpoint, 0, frame)))

    async def drain(self) -> None:
        """Waits until the socket has taken what was sent (backpressure for a fast sender)."""
        await self._writer.drain()

    async def next_frame(self, timeout: float | None = None) -> Frame | None:
        """The next delivered frame, or None when none arrives within ``timeout`` (default: the client's)."""
        if self._frames.empty() and self._closed:
            return None
        try:
            frame = await asyncio.wait_for(self._frames.get(), self.timeout if timeout is None else timeout)
        except asyncio.TimeoutError:
            return None
        if frame is None:
            self._frames.put_nowait(None)  # the end, for every later call too
        return frame

    async def frames(self) -> AsyncIterator[Frame]:
        """Every delivered frame until the connection closes."""
        while True:
            frame = await self._frames.get()
            if frame is None:
                self._frames.put_nowait(None)
                return
            yield frame

    async def close(self) -> None:
        if not self._closed:
            self._fail(ConnectionClosed(f"connection to {self.address} closed by this client"))
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()

    @property
    def is_closed(self) -> bool:
        return self._closed is not None

    # The one reader

    async def _read_loop(self) -> None:
        decoder = wire.Decoder()
        reason: ClientError = ConnectionClosed(f"the fabric at {self.address} closed the connection")
        try:
            while True:
                data = await self._reader.read(256 * 1024)
                if not data:
                    if decoder.pending:
                        reason = ConnectionClosed(f"the fabric at {self.address} closed the connection in the middle of a message")
                    break
                for message in decoder.feed(data):
                    self._dispatch(message)
        except wire.ProtocolError as error:
            reason = ConnectionClosed(f"the fabric at {self.address} broke protocol v1: {error}")
        except OSError as error:
            reason = ConnectionClosed(f"connection to {self.address} failed: {error.strerror or error}")
        except asyncio.CancelledError:
            return
        self._fail(reason)
        self._writer.close()

    def _dispatch(self, message: Message) -> None:
        if message.type == MessageType.PACKET_IN:
            if self._frames.qsize() >= FRAME_QUEUE_LIMIT:
                self.frames_dropped += 1
                return
            self._frames.put_nowait(Frame(message.endpoint_id, message.flags, message.payload))
            return
        if message.type not in _REPLY_TYPES:
            # Not a message a fabric sends a client: the oldest request gets a clear error
            # (framing is intact, so the connection stays usable).
            message = Message(MessageType.ERROR, payload=_error_json(f"the fabric sent {message.type_name}, which is no reply"))
        if self._waiting:
            # The oldest request's answer, also when that request timed out meanwhile: its
            # slot takes the late reply, which nobody reads.
            future = self._waiting.popleft()
            if not future.done():
                future.set_result(message)
            return
        if message.type == MessageType.ERROR:
            body = _json_or_empty(message)
            self.last_unsolicited_error = FabricError(str(body.get("error", "(no text)")), body.get("code"))

    def _fail(self, reason: ClientError) -> None:
        if self._closed:
            return
        self._closed = reason
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(reason)
                future.exception()  # retrieved: a waiter that timed out must not warn
        self._frames.put_nowait(None)


_REPLY_TYPES = {
    MessageType.WELCOME, MessageType.ENDPOINT_CREATED, MessageType.ENDPOINT_INFO, MessageType.SUBSCRIBED,
    MessageType.STATS, MessageType.RULES, MessageType.ERROR,
}


def _json_or_empty(message: Message) -> dict[str, Any]:
    try:
        return message.json()
    except wire.ProtocolError:
        return {}


def _error_json(text: str) -> bytes:
    return Message.control(MessageType.ERROR, {"error": text}).payload
