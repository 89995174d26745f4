from __future__ import annotations

import struct

import pytest

from switchyard import wire
from switchyard.wire import Decoder, Message, MessageType, ProtocolError


def test_a_message_is_its_header_and_payload_in_network_order() -> None:
    message = Message(MessageType.PACKET_OUT, endpoint_id=7, flags=1, payload=b"\x01\x02")
    assert wire.encode(message) == struct.pack("!IHHII", 14, 1, 30, 7, 1) + b"\x01\x02"


def test_control_payloads_are_compact_json() -> None:
    hello = Message.control(MessageType.HELLO, {"client_name": "t"})
    assert hello.payload == b'{"client_name":"t"}'
    assert hello.json() == {"client_name": "t"}
    assert Message(MessageType.SUBSCRIBED).json() == {}


@pytest.mark.parametrize("step", [1, 3, 16, 1000])
def test_the_decoder_finds_messages_however_the_bytes_are_split(step: int) -> None:
    messages = [Message(MessageType.PACKET_IN, endpoint_id=index, payload=bytes([index]) * (index * 37)) for index in range(1, 20)]
    stream = b"".join(wire.encode(message) for message in messages)
    decoder = Decoder()
    decoded: list[Message] = []
    for offset in range(0, len(stream), step):
        decoded += decoder.feed(stream[offset : offset + step])
    assert decoded == messages
    assert decoder.pending == 0


def test_unknown_types_survive_decoding() -> None:
    decoded = Decoder().feed(struct.pack("!IHHII", 12, 1, 999, 0, 0))
    assert decoded[0].type == 999 and decoded[0].type_name == "type 999"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (struct.pack("!I", 11), "bad msg_len 11"),
        (struct.pack("!I", 16 * 1024 * 1024 + 1), "bad msg_len 16777217"),
        (struct.pack("!IHHII", 12, 2, 1, 0, 0), "unsupported protocol version 2"),
    ],
)
def test_a_length_or_version_no_fabric_sends_breaks_framing(header: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        Decoder().feed(header)


def test_a_payload_that_is_not_a_json_object_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        Message(MessageType.WELCOME, payload=b"[1]").json()
    with pytest.raises(ProtocolError):
        Message(MessageType.WELCOME, payload=b"\xff").json()
