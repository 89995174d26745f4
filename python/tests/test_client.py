"""The client against the real daemon (every message type, errors, a Unix socket, a closed
fabric) and against a fake fabric that misbehaves (a close mid-message, an absurd length, an
unknown type): a clear exception every time, never a hang."""

from __future__ import annotations

import asyncio
import struct
import subprocess
from pathlib import Path
from typing import Awaitable, Callable

import pytest

from switchyard import AsyncClient, Client, ClientError, ConnectionClosed, FabricError, ProtocolError, packets, wire
from switchyard.fabric import Process

pytestmark = pytest.mark.needs_fabric


def broadcast(source_mac: str, marker: bytes) -> bytes:
    return packets.Ethernet(packets.BROADCAST, source_mac, 0x88B5, marker).build()


def test_every_request_against_the_daemon(switchyard) -> None:
    with Client(port=switchyard.port, client_name="a") as a, Client(port=switchyard.port, client_name="b") as b:
        first = a.create_endpoint("first")
        assert (first.endpoint_id, first.mac) == (1, "02:53:59:00:00:01")
        chosen = b.create_endpoint("chosen", mac="02:AA:00:00:00:07")
        assert chosen.mac == "02:aa:00:00:00:07"
        assert b.lookup("first") == first
        with pytest.raises(FabricError) as refused:
            b.create_endpoint("first")
        assert refused.value.text == "endpoint name already exists: first" and refused.value.code == "name_in_use"
        with pytest.raises(FabricError, match="unknown endpoint name: nobody"):
            a.lookup("nobody")
        b.subscribe(chosen.endpoint_id)
        a.send(broadcast(first.mac, b"one"), first.endpoint_id)
        frame = b.next_frame(5)
        assert frame is not None and frame.endpoint_id == chosen.endpoint_id and frame.data.endswith(b"one")
        assert not frame.promiscuous
        assert b.next_frame(0.2) is None, "once"
        stats = a.stats()
        assert stats["frames_switched"] == 1 and stats["endpoints"] == 2
        added = a.rules("add", rule="to chosen drop")
        assert added["added"] == 1 and [rule["rule"] for rule in added["rules"]] == ["to chosen drop"]
        a.send(broadcast(first.mac, b"two"), first.endpoint_id)
        assert b.next_frame(0.3) is None, "dropped by the rule"
        assert a.rules()["rules"][0]["dropped"] == 1
        a.rules("delete", id=1)
        assert a.rules()["rules"] == []
        with pytest.raises(FabricError, match="no rule 9"):
            a.rules("delete", id=9)


def test_a_promiscuous_subscriber_sees_unicast_between_others(switchyard) -> None:
    with Client(port=switchyard.port) as a, Client(port=switchyard.port) as b, Client(port=switchyard.port) as sniffer:
        x, y = a.create_endpoint("x"), b.create_endpoint("y")
        b.subscribe(y.endpoint_id)
        s = sniffer.create_endpoint("s")
        sniffer.subscribe(s.endpoint_id, promiscuous=True)
        a.send(packets.Ethernet(y.mac, x.mac, 0x88B5, b"to y").build(), x.endpoint_id)
        seen = sniffer.next_frame(5)
        assert seen is not None and seen.promiscuous and seen.data.endswith(b"to y")
        assert b.next_frame(5) is not None


def test_frames_are_checked_before_they_are_sent(switchyard) -> None:
    with Client(port=switchyard.port) as a:
        me = a.create_endpoint("me")
        with pytest.raises(ValueError, match="14 to 65549 bytes"):
            a.send(b"\x00" * 13, me.endpoint_id)


def test_only_this_connections_endpoints_send(switchyard) -> None:
    with Client(port=switchyard.port) as owner, Client(port=switchyard.port) as other:
        mine = owner.create_endpoint("mine")
        with pytest.raises(ValueError, match="endpoint 1 was not created by this connection"):
            other.send(broadcast(mine.mac, b"forged"), mine.endpoint_id)
        assert other.stats()["frames_rejected"] == 0, "checked here: the fabric's ERROR could not be told from a reply"


def test_lookup_retries_until_the_endpoint_appears(switchyard) -> None:
    async def main() -> None:
        async with await switchyard.async_client() as waiter, await switchyard.async_client() as late:
            async def appear() -> None:
                await asyncio.sleep(0.3)
                await late.create_endpoint("late")

            creating = asyncio.ensure_future(appear())
            found = await waiter.lookup("late", retry_for=5, every=0.05)
            await creating
            assert found.name == "late"

    asyncio.run(main())


def test_frames_come_as_an_async_iterator_that_ends_with_the_connection(switchyard) -> None:
    async def main() -> list[bytes]:
        sender = await switchyard.async_client()
        receiver = await switchyard.async_client()
        a, b = await sender.create_endpoint("a"), await receiver.create_endpoint("b")
        await receiver.subscribe(b.endpoint_id)
        for index in range(5):
            sender.send(broadcast(a.mac, bytes([index])), a.endpoint_id)
        got: list[bytes] = []
        async for frame in receiver.frames():
            got.append(frame.data[-1:])
            if len(got) == 5:
                await receiver.close()
        await sender.close()
        return got

    assert asyncio.run(asyncio.wait_for(main(), 20)) == [bytes([index]) for index in range(5)]


def test_over_a_unix_socket(tmp_path: Path, tool: Callable[[str], str]) -> None:
    path = tmp_path / "fabric.sock"
    fabric = Process([tool("switchyardd"), "--unix", str(path)])
    try:
        fabric.wait_for_line(r"^\[fabric\] listening on unix:")
        with Client(unix=str(path)) as client:
            assert client.create_endpoint("u").endpoint_id == 1
            assert client.address == f"unix:{path}"
    finally:
        assert fabric.stop() == 0


def test_a_fabric_that_goes_away_ends_every_wait(switchyard) -> None:
    async def main() -> None:
        client = await switchyard.async_client()
        me = await client.create_endpoint("me")
        await client.subscribe(me.endpoint_id)
        switchyard.process.stop()
        assert await client.next_frame(10) is None, "the end, not a timeout"
        with pytest.raises(ConnectionClosed):
            await client.stats()
        with pytest.raises(ConnectionClosed):
            client.send(broadcast(me.mac, b"late"), me.endpoint_id)
        await client.close()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_no_fabric_is_a_clear_error() -> None:
    with pytest.raises(ClientError, match="cannot reach fabric at 127.0.0.1:1: Connection refused"):
        Client(port=1)


# A fake fabric that says WELCOME, then does what `then` says.

async def fake_fabric(then: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]) -> tuple[asyncio.AbstractServer, int]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)  # HELLO
        writer.write(wire.encode(wire.Message.control(wire.MessageType.WELCOME, {"server": "fake", "version": 1})))
        await then(reader, writer)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def against_fake(then: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]], body: Callable[[AsyncClient], Awaitable[None]]) -> None:
    async def main() -> None:
        server, port = await fake_fabric(then)
        async with server:
            client = await AsyncClient.connect(port=port, timeout=2.0)
            try:
                await body(client)
            finally:
                await client.close()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_a_close_in_the_middle_of_a_message() -> None:
    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(struct.pack("!IHHII", 100, 1, 11, 0, 0) + b'{"endpoint')
        await writer.drain()
        writer.close()

    async def body(client: AsyncClient) -> None:
        with pytest.raises(ConnectionClosed, match="in the middle of a message"):
            await client.create_endpoint("x")

    against_fake(half, body)


def test_an_absurd_length() -> None:
    async def absurd(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(struct.pack("!I", 0xFFFF_FFF0) + b"\x00" * 12)
        await asyncio.sleep(5)

    async def body(client: AsyncClient) -> None:
        with pytest.raises(ConnectionClosed, match="broke protocol v1: bad msg_len 4294967280"):
            await client.create_endpoint("x")

    against_fake(absurd, body)


def test_an_unknown_type_and_a_fabric_that_never_answers() -> None:
    async def odd(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(wire.encode(wire.Message(777)))
        await reader.read(1024)  # the next request gets no answer at all
        await asyncio.sleep(5)

    async def body(client: AsyncClient) -> None:
        with pytest.raises(FabricError, match="the fabric sent type 777, which is no reply"):
            await client.create_endpoint("x")
        with pytest.raises(TimeoutError, match="ENDPOINT_LOOKUP: no answer from the fabric within 0.3 s"):
            await client.request(wire.Message.control(wire.MessageType.ENDPOINT_LOOKUP, {"name": "x"}), wire.MessageType.ENDPOINT_INFO, timeout=0.3)

    against_fake(odd, body)


def test_an_error_that_answers_no_request_is_kept_apart() -> None:
    async def unsolicited(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(wire.encode(wire.Message.control(wire.MessageType.ERROR, {"error": "the fabric is shutting down", "code": "x"})))
        await asyncio.sleep(5)

    async def body(client: AsyncClient) -> None:
        for _ in range(100):
            if client.last_unsolicited_error is not None:
                break
            await asyncio.sleep(0.01)
        assert client.last_unsolicited_error is not None and client.last_unsolicited_error.text == "the fabric is shutting down"

    against_fake(unsolicited, body)


def test_the_reply_to_a_request_that_timed_out_is_not_taken_by_the_next() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        await asyncio.sleep(0.5)
        writer.write(wire.encode(wire.Message.control(wire.MessageType.ENDPOINT_INFO, {"endpoint_id": 1, "name": "slow", "mac": "02:00:00:00:00:01"})))
        await reader.read(1024)
        writer.write(wire.encode(wire.Message.control(wire.MessageType.ENDPOINT_INFO, {"endpoint_id": 2, "name": "second", "mac": "02:00:00:00:00:02"})))
        await asyncio.sleep(5)

    async def body(client: AsyncClient) -> None:
        with pytest.raises(TimeoutError):
            await client.request(wire.Message.control(wire.MessageType.ENDPOINT_LOOKUP, {"name": "slow"}), wire.MessageType.ENDPOINT_INFO, timeout=0.1)
        await asyncio.sleep(0.6)
        assert (await client.lookup("second")).name == "second"

    against_fake(slow, body)
