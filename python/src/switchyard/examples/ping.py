"""The UDP ping of the original tools: endpoint cli1, 10.0.0.1:12345, one datagram to the echo
service per ping, waiting for the echo before the next.

``python -m switchyard.examples.ping [--count N] [--timeout S] [--resolve lookup|arp]
[--message TEXT]``, as ``switchyard-ping``: the same lines (``[cli] sent ...``, ``[cli] got
reply ...``, ping(8)'s statistics with ``--count``), and exit 0 when every ping was echoed, 1
otherwise, 2 without a fabric, 64 on bad flags. The payload is --message, else $PING_MSG, else
"marco polo".
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from .. import packets
from ..client import AsyncClient, FabricError
from . import _tool

NAME = "cli1"
IP = "10.0.0.1"
PORT = 12345
SERVICE = "svc_echo"
SERVICE_IP = "10.0.0.2"
SERVICE_PORT = 7007


async def locate(client: AsyncClient, me_mac: str, me_id: int, resolve: str, timeout: float) -> str:
    """The echo service's MAC: from ENDPOINT_INFO (retrying, as services start later) or by ARP."""
    if resolve == "lookup":
        try:
            return (await client.lookup(SERVICE, retry_for=timeout, every=0.2)).mac
        except FabricError:
            raise TimeoutError(f"timeout: endpoint \"{SERVICE}\" not found within {timeout:g} s (is switchyard-echo running?)") from None
    await client.subscribe(me_id)
    deadline = time.monotonic() + timeout
    request = packets.ARP.request_frame(me_mac, IP, SERVICE_IP)
    while time.monotonic() < deadline:
        client.send(request, me_id)
        retry = min(deadline, time.monotonic() + 1.0)
        while (left := retry - time.monotonic()) > 0:
            frame = await client.next_frame(left)
            if frame is None:
                break
            try:
                ethernet = packets.Ethernet.parse(frame.data)
                if ethernet.ethertype == packets.ETHERTYPE_ARP:
                    arp = packets.ARP.parse(ethernet.payload)
                    if arp.operation == packets.ARP.REPLY and arp.sender_ip == SERVICE_IP:
                        return arp.sender_mac
            except ValueError:
                continue
    raise TimeoutError(f"timeout: no ARP reply for {SERVICE_IP} within {timeout:g} s")


def main() -> None:
    parser = _tool.parser("switchyard-ping", "UDP ping: endpoint cli1 (10.0.0.1:12345) pings svc_echo (10.0.0.2:7007).")
    parser.add_argument("--message", help="Payload to send (default: $PING_MSG, else \"marco polo\").")
    parser.add_argument("--timeout", type=float, default=3.0, help="Seconds to wait for the service and for each reply. (default: %(default)s)")
    parser.add_argument("-c", "--count", type=int, default=1, help="Number of pings to send. (default: %(default)s)")
    parser.add_argument("--resolve", choices=["lookup", "arp"], default="lookup", help="How to learn the service's MAC. (default: %(default)s)")
    arguments = parser.parse_args()
    _tool.check_port(parser, arguments.port)
    if arguments.count < 1:
        parser.error(f"--count must be at least 1, got {arguments.count}")
    if not 0 < arguments.timeout <= 3600:
        parser.error(f"--timeout must be more than 0 and at most 3600 seconds, got {arguments.timeout:g}")
    text = arguments.message if arguments.message is not None else os.environ.get("PING_MSG", "marco polo")
    payload = text.encode()
    if len(payload) > 65_507:
        parser.error(f"the payload has {len(payload)} bytes; one UDP datagram carries at most 65507")
    target = f"{SERVICE_IP}:{SERVICE_PORT}"
    tally = {"sent": 0, "received": 0, "duplicates": 0}
    round_trips: list[float] = []

    def summary() -> None:
        sent, received = tally["sent"], tally["received"]
        loss = 0 if sent == 0 else (sent - received) * 100 // sent
        duplicates = f"+{tally['duplicates']} duplicates, " if tally["duplicates"] else ""
        _tool.line(f"--- {target} udp ping statistics ---")
        _tool.line(f"{sent} packets transmitted, {received} received, {duplicates}{loss}% packet loss")
        if round_trips:
            ms = [value * 1e3 for value in round_trips]
            _tool.line(f"rtt min/avg/max = {min(ms):.3f}/{sum(ms) / len(ms):.3f}/{max(ms):.3f} ms")

    def is_echo(data: bytes) -> bytes | None:
        frame = packets.parse_udp_frame(data)
        if frame is None or frame.ip.source != SERVICE_IP or frame.udp.source_port != SERVICE_PORT:
            return None
        if frame.ip.destination != IP or frame.udp.destination_port != PORT:
            return None
        return frame.udp.payload

    async def ping() -> int:
        async with await _tool.connect(arguments, "switchyard-ping") as client:
            me = await client.create_endpoint(NAME)
            service_mac = await locate(client, me.mac, me.endpoint_id, arguments.resolve, arguments.timeout)
            if arguments.resolve == "lookup":
                await client.subscribe(me.endpoint_id)
            request = packets.udp_frame((me.mac, IP, PORT), (service_mac, SERVICE_IP, SERVICE_PORT), payload)
            for _ in range(arguments.count):
                # Echoes still waiting answered an earlier ping again (a duplicate rule).
                while (early := await client.next_frame(0)) is not None:
                    if tally["received"] and (copy := is_echo(early.data)) is not None:
                        tally["duplicates"] += 1
                        _tool.line(f"[cli] got reply from {target} {copy!r} (DUP!)")
                start = time.monotonic()
                client.send(request, me.endpoint_id)
                tally["sent"] += 1
                _tool.line(f"[cli] sent {len(payload)} bytes to {target} {payload!r}")
                deadline = start + arguments.timeout
                answered = None
                while answered is None and (left := deadline - time.monotonic()) > 0:
                    frame = await client.next_frame(left)
                    if frame is None:
                        break
                    answered = is_echo(frame.data)
                if answered is None:
                    print(f"[cli] timeout: no reply from {target} within {arguments.timeout:g} s", file=sys.stderr, flush=True)
                    continue
                tally["received"] += 1
                round_trips.append(time.monotonic() - start)
                _tool.line(f"[cli] got reply from {target} {answered!r}")
            while (late := await client.next_frame(0)) is not None:
                if (copy := is_echo(late.data)) is not None:
                    tally["duplicates"] += 1
                    _tool.line(f"[cli] got reply from {target} {copy!r} (DUP!)")
        if arguments.count > 1:
            summary()
        return 0 if tally["received"] == tally["sent"] else _tool.EXIT_NEGATIVE

    def on_signal() -> int:
        summary()
        return _tool.EXIT_NEGATIVE if tally["received"] < tally["sent"] or tally["sent"] == 0 else 0

    _tool.run("switchyard-ping", arguments, ping, on_signal=on_signal)


if __name__ == "__main__":
    main()
