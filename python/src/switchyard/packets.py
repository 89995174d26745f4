"""Ethernet, ARP, IPv4 and UDP: build and parse, with real checksums.

Frames are ``bytes``: ``bytes(scapy_packet)`` can be sent as it is, and a received frame can be
handed to ``scapy.layers.l2.Ether(frame)``. Parsing is strict about lengths: the IPv4 total
length and the UDP length decide what the payload is, never the frame's length (a frame may
carry Ethernet padding).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

__all__ = [
    "BROADCAST",
    "ETHERTYPE_IPV4",
    "ETHERTYPE_ARP",
    "mac_bytes",
    "mac_text",
    "checksum",
    "Ethernet",
    "ARP",
    "IPv4",
    "UDP",
    "UDPFrame",
    "udp_frame",
    "parse_udp_frame",
]

BROADCAST = "ff:ff:ff:ff:ff:ff"
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
IP_PROTOCOL_UDP = 17


def mac_bytes(mac: str | bytes) -> bytes:
    """Six bytes of a MAC given as text (``02:53:59:00:00:01``, either case) or bytes."""
    if isinstance(mac, (bytes, bytearray)):
        if len(mac) != 6:
            raise ValueError(f"a MAC has 6 bytes, not {len(mac)}")
        return bytes(mac)
    parts = mac.split(":")
    if len(parts) != 6 or not all(len(part) == 2 for part in parts):
        raise ValueError(f"invalid MAC {mac!r} (want six hex pairs with colons)")
    return bytes(int(part, 16) for part in parts)


def mac_text(mac: bytes) -> str:
    """Lower-case text of a 6-byte MAC, as the fabric writes MACs."""
    return ":".join(f"{byte:02x}" for byte in mac_bytes(mac))


def _ip_bytes(address: str | bytes) -> bytes:
    if isinstance(address, (bytes, bytearray)):
        return bytes(address)
    return ipaddress.IPv4Address(address).packed


def _ip_text(address: bytes) -> str:
    return str(ipaddress.IPv4Address(address))


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): one's complement of the one's complement sum."""
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass(frozen=True)
class Ethernet:
    destination: str
    source: str
    ethertype: int
    payload: bytes

    HEADER = 14

    def build(self) -> bytes:
        return mac_bytes(self.destination) + mac_bytes(self.source) + struct.pack("!H", self.ethertype) + self.payload

    @classmethod
    def parse(cls, frame: bytes) -> "Ethernet":
        if len(frame) < cls.HEADER:
            raise ValueError(f"{len(frame)} bytes: shorter than an Ethernet header")
        (ethertype,) = struct.unpack_from("!H", frame, 12)
        return cls(mac_text(frame[0:6]), mac_text(frame[6:12]), ethertype, bytes(frame[14:]))


@dataclass(frozen=True)
class ARP:
    """An Ethernet/IPv4 ARP packet (RFC 826): operation 1 request, 2 reply."""

    operation: int
    sender_mac: str
    sender_ip: str
    target_mac: str
    target_ip: str

    REQUEST = 1
    REPLY = 2
    LENGTH = 28

    def build(self) -> bytes:
        return (
            struct.pack("!HHBBH", 1, ETHERTYPE_IPV4, 6, 4, self.operation)
            + mac_bytes(self.sender_mac) + _ip_bytes(self.sender_ip)
            + mac_bytes(self.target_mac) + _ip_bytes(self.target_ip)
        )

    @classmethod
    def parse(cls, data: bytes) -> "ARP":
        if len(data) < cls.LENGTH:
            raise ValueError(f"{len(data)} bytes: shorter than an ARP packet")
        hardware, protocol, hlen, plen, operation = struct.unpack_from("!HHBBH", data)
        if (hardware, protocol, hlen, plen) != (1, ETHERTYPE_IPV4, 6, 4):
            raise ValueError("not Ethernet/IPv4 ARP")
        return cls(operation, mac_text(data[8:14]), _ip_text(data[14:18]), mac_text(data[18:24]), _ip_text(data[24:28]))

    @classmethod
    def request_frame(cls, mac: str, ip: str, asking: str) -> bytes:
        """A broadcast who-has for ``asking`` from ``mac``/``ip``."""
        arp = cls(cls.REQUEST, mac, ip, "00:00:00:00:00:00", asking)
        return Ethernet(BROADCAST, mac, ETHERTYPE_ARP, arp.build()).build()

    def reply_frame(self, mac: str) -> bytes:
        """The answer to this request: ``mac`` has the asked address."""
        arp = ARP(ARP.REPLY, mac, self.target_ip, self.sender_mac, self.sender_ip)
        return Ethernet(self.sender_mac, mac, ETHERTYPE_ARP, arp.build()).build()


@dataclass(frozen=True)
class IPv4:
    """An IPv4 packet without options (RFC 791); ``build`` computes the header checksum."""

    source: str
    destination: str
    protocol: int
    payload: bytes
    ttl: int = 64
    identification: int = 0
    tos: int = 0
    flags_fragment: int = 0

    HEADER = 20

    def build(self) -> bytes:
        total = self.HEADER + len(self.payload)
        if total > 65_535:
            raise ValueError(f"an IPv4 packet has at most 65535 bytes, this one {total}")
        header = struct.pack(
            "!BBHHHBBH4s4s", 0x45, self.tos, total, self.identification, self.flags_fragment,
            self.ttl, self.protocol, 0, _ip_bytes(self.source), _ip_bytes(self.destination),
        )
        return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + self.payload

    @classmethod
    def parse(cls, data: bytes) -> "IPv4":
        if len(data) < cls.HEADER:
            raise ValueError(f"{len(data)} bytes: shorter than an IPv4 header")
        version_ihl, tos, total, identification, flags_fragment, ttl, protocol, _ = struct.unpack_from("!BBHHHBBH", data)
        header_length = (version_ihl & 0x0F) * 4
        if version_ihl >> 4 != 4 or header_length < cls.HEADER:
            raise ValueError("not an IPv4 header")
        if total < header_length or total > len(data):
            raise ValueError(f"total length {total} does not fit the {len(data)} bytes there")
        if checksum(bytes(data[:header_length])) != 0:
            raise ValueError("bad IPv4 header checksum")
        return cls(_ip_text(data[12:16]), _ip_text(data[16:20]), protocol, bytes(data[header_length:total]), ttl, identification, tos, flags_fragment)


@dataclass(frozen=True)
class UDP:
    """A UDP datagram (RFC 768); ``build`` computes the checksum over the IPv4 pseudo-header."""

    source_port: int
    destination_port: int
    payload: bytes

    HEADER = 8

    def build(self, source_ip: str, destination_ip: str) -> bytes:
        length = self.HEADER + len(self.payload)
        header = struct.pack("!HHHH", self.source_port, self.destination_port, length, 0)
        pseudo = _ip_bytes(source_ip) + _ip_bytes(destination_ip) + struct.pack("!BBH", 0, IP_PROTOCOL_UDP, length)
        value = checksum(pseudo + header + self.payload) or 0xFFFF
        return header[:6] + struct.pack("!H", value) + self.payload

    @classmethod
    def parse(cls, data: bytes, source_ip: str | None = None, destination_ip: str | None = None) -> "UDP":
        """Parses a datagram; with both addresses, a non-zero checksum is verified."""
        if len(data) < cls.HEADER:
            raise ValueError(f"{len(data)} bytes: shorter than a UDP header")
        source, destination, length, value = struct.unpack_from("!HHHH", data)
        if length < cls.HEADER or length > len(data):
            raise ValueError(f"UDP length {length} does not fit the {len(data)} bytes there")
        if value and source_ip is not None and destination_ip is not None:
            pseudo = _ip_bytes(source_ip) + _ip_bytes(destination_ip) + struct.pack("!BBH", 0, IP_PROTOCOL_UDP, length)
            if checksum(pseudo + bytes(data[:length])) != 0:
                raise ValueError("bad UDP checksum")
        return cls(source, destination, bytes(data[cls.HEADER:length]))


@dataclass(frozen=True)
class UDPFrame:
    """A parsed Ethernet/IPv4/UDP frame."""

    ethernet: Ethernet
    ip: IPv4
    udp: UDP


def udp_frame(
    source: tuple[str, str, int],
    destination: tuple[str, str, int],
    payload: bytes,
    ttl: int = 64,
    identification: int = 0,
) -> bytes:
    """An Ethernet/IPv4/UDP frame from ``(mac, ip, port)`` to ``(mac, ip, port)``, no padding."""
    (source_mac, source_ip, source_port), (destination_mac, destination_ip, destination_port) = source, destination
    datagram = UDP(source_port, destination_port, payload).build(source_ip, destination_ip)
    packet = IPv4(source_ip, destination_ip, IP_PROTOCOL_UDP, datagram, ttl=ttl, identification=identification).build()
    return Ethernet(destination_mac, source_mac, ETHERTYPE_IPV4, packet).build()


def parse_udp_frame(frame: bytes) -> UDPFrame | None:
    """The frame's Ethernet, IPv4 and UDP layers, or None when it is not a valid UDP frame."""
    try:
        ethernet = Ethernet.parse(frame)
        if ethernet.ethertype != ETHERTYPE_IPV4:
            return None
        ip = IPv4.parse(ethernet.payload)
        if ip.protocol != IP_PROTOCOL_UDP or ip.flags_fragment & 0x3FFF:
            return None
        return UDPFrame(ethernet, ip, UDP.parse(ip.payload, ip.source, ip.destination))
    except ValueError:
        return None
