"""UDP echo service: endpoint svc_echo, 10.0.0.2, UDP port 7007; answers ARP.

``python -m switchyard.examples.echo [--host H] [--port P | --unix PATH]``, as
``switchyard-echo``: the same ready line, the same echoes (swapped addresses and ports, the
same payload, TTL 64, IPv4 id 0), and the same exits (0 on SIGINT/SIGTERM, 2 without a fabric).
"""

from __future__ import annotations

import logging

from .. import packets
from . import _tool

NAME = "svc_echo"
IP = "10.0.0.2"
PORT = 7007

log = logging.getLogger("switchyard.examples.echo")


def answer(frame: bytes, mac: str, ip: str = IP, port: int = PORT, ttl: int = 64) -> bytes | None:
    """The echo service's answer to one frame: an ARP reply, an echoed datagram, or None."""
    try:
        ethernet = packets.Ethernet.parse(frame)
    except ValueError:
        return None
    if ethernet.ethertype == packets.ETHERTYPE_ARP:
        try:
            arp = packets.ARP.parse(ethernet.payload)
        except ValueError:
            return None
        if arp.operation == packets.ARP.REQUEST and arp.target_ip == ip:
            return arp.reply_frame(mac)
        return None
    request = packets.parse_udp_frame(frame)
    if request is None or request.ip.destination != ip or request.udp.destination_port != port:
        return None
    log.info("echo %d bytes to %s:%d", len(request.udp.payload), request.ip.source, request.udp.source_port)
    return packets.udp_frame(
        (mac, ip, port), (request.ethernet.source, request.ip.source, request.udp.source_port), request.udp.payload, ttl=ttl,
    )


def main() -> None:
    parser = _tool.parser("switchyard-echo", "UDP echo service: endpoint svc_echo, 10.0.0.2, UDP port 7007; answers ARP.")
    arguments = parser.parse_args()
    _tool.check_port(parser, arguments.port)

    async def serve() -> int:
        async with await _tool.connect(arguments, "switchyard-echo") as client:
            me = await client.create_endpoint(NAME)
            await client.subscribe(me.endpoint_id)
            _tool.line(f"[{NAME}] ready: endpoint {me.endpoint_id} mac {me.mac} ip {IP} udp {PORT}")
            async for frame in client.frames():
                reply = answer(frame.data, me.mac)
                if reply is not None:
                    client.send(reply, me.endpoint_id)
        return 0

    _tool.run("switchyard-echo", arguments, serve, on_signal=0)


if __name__ == "__main__":
    main()
