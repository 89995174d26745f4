"""Protocol v1 on the wire: the 16-byte header, the message types and their framing.

Every message is ``u32 msg_len`` (bytes after this field: 12 + payload), ``u16 version``
(1), ``u16 type``, ``u32 endpoint_id``, ``u32 flags``, then the payload; all in network
byte order. Control payloads are UTF-8 JSON objects, data payloads raw Ethernet frames.
"""

from __future__ import annotations

import enum
import json
import struct
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "VERSION",
    "HEADER_LENGTH",
    "MAXIMUM_MESSAGE_LENGTH",
    "MINIMUM_FRAME_LENGTH",
    "MAXIMUM_FRAME_LENGTH",
    "PROMISC",
    "MessageType",
    "Message",
    "ProtocolError",
    "encode",
    "Decoder",
]

VERSION = 1
#: The header after ``msg_len``: version, type, endpoint id, flags.
HEADER_LENGTH = 12
#: The largest ``msg_len`` a fabric accepts (16 MiB); larger breaks framing.
MAXIMUM_MESSAGE_LENGTH = 16 * 1024 * 1024
#: An Ethernet header: the shortest frame a fabric switches.
MINIMUM_FRAME_LENGTH = 14
#: The largest IPv4 datagram plus an Ethernet header: the longest frame a fabric switches.
MAXIMUM_FRAME_LENGTH = 65_535 + 14
#: SUBSCRIBE and PACKET_IN flag: a promiscuous subscription.
PROMISC = 0x0000_0001

_HEADER = struct.Struct("!IHHII")


class MessageType(enum.IntEnum):
    """The frozen message type numbers of protocol v1, and this fabric's additions."""

    HELLO = 1
    WELCOME = 2
    ENDPOINT_CREATE = 10
    ENDPOINT_CREATED = 11
    ENDPOINT_LOOKUP = 12
    ENDPOINT_INFO = 13
    SUBSCRIBE = 20
    SUBSCRIBED = 21
    PACKET_OUT = 30
    PACKET_IN = 31
    STATS_REQUEST = 40
    STATS = 41
    RULES_REQUEST = 50
    RULES = 51
    ERROR = 100


class ProtocolError(Exception):
    """The byte stream is not protocol v1 (a bad length, another version)."""


@dataclass(frozen=True)
class Message:
    """One message: its type (an int, so unknown types survive decoding), header fields and payload."""

    type: int
    endpoint_id: int = 0
    flags: int = 0
    payload: bytes = b""
    version: int = VERSION

    @classmethod
    def control(cls, type: MessageType, body: dict[str, Any] | None = None, endpoint_id: int = 0, flags: int = 0) -> "Message":
        """A control message with a JSON payload."""
        return cls(int(type), endpoint_id, flags, json.dumps(body or {}, separators=(",", ":")).encode())

    def json(self) -> dict[str, Any]:
        """The JSON payload (an empty payload is ``{}``); raises ProtocolError when it is not a JSON object."""
        if not self.payload:
            return {}
        try:
            value = json.loads(self.payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ProtocolError(f"message type {self.type}: payload is not JSON: {error}") from None
        if not isinstance(value, dict):
            raise ProtocolError(f"message type {self.type}: payload is not a JSON object")
        return value

    @property
    def type_name(self) -> str:
        try:
            return MessageType(self.type).name
        except ValueError:
            return f"type {self.type}"


def encode(message: Message) -> bytes:
    """The message's bytes on the wire."""
    return _HEADER.pack(HEADER_LENGTH + len(message.payload), message.version, message.type, message.endpoint_id, message.flags) + message.payload


@dataclass
class Decoder:
    """Finds whole messages in bytes as they arrive (any split, any batch).

    ``feed`` returns every message completed so far and keeps the rest; a length a fabric
    cannot send raises ProtocolError, since framing is then lost.
    """

    limit: int = MAXIMUM_MESSAGE_LENGTH
    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        messages: list[Message] = []
        offset = 0
        buffer = self._buffer
        while len(buffer) - offset >= 4:
            (length,) = struct.unpack_from("!I", buffer, offset)
            if length < HEADER_LENGTH or length > self.limit:
                raise ProtocolError(f"bad msg_len {length} (allowed {HEADER_LENGTH}..{self.limit})")
            if len(buffer) - offset < 4 + length:
                break
            _, version, type_, endpoint_id, flags = _HEADER.unpack_from(buffer, offset)
            if version != VERSION:
                raise ProtocolError(f"unsupported protocol version {version}")
            start = offset + 4 + HEADER_LENGTH
            messages.append(Message(type_, endpoint_id, flags, bytes(buffer[start : offset + 4 + length]), version))
            offset += 4 + length
        if offset:
            del buffer[:offset]
        return messages

    @property
    def pending(self) -> int:
        """Bytes held that do not make a whole message yet."""
        return len(self._buffer)
