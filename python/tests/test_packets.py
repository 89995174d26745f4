"""The primitives against frames scapy builds and parses."""

from __future__ import annotations

import pytest

from switchyard import packets

scapy_all = pytest.importorskip("scapy.all")
Ether, IP, UDP, ARP, Raw = scapy_all.Ether, scapy_all.IP, scapy_all.UDP, scapy_all.ARP, scapy_all.Raw

CLIENT = ("02:53:59:00:00:01", "10.0.0.1", 12345)
ECHO = ("02:53:59:00:00:02", "10.0.0.2", 7007)


@pytest.mark.parametrize("payload", [b"marco polo", b"", b"x" * 1473, bytes(range(256)) * 20])
def test_a_udp_frame_is_byte_for_byte_scapys(payload: bytes) -> None:
    ours = packets.udp_frame(CLIENT, ECHO, payload)
    theirs = bytes(
        Ether(src=CLIENT[0], dst=ECHO[0]) / IP(src=CLIENT[1], dst=ECHO[1], ttl=64, id=0, flags=0) / UDP(sport=CLIENT[2], dport=ECHO[2]) / Raw(payload)
    )
    assert ours == theirs


def test_an_arp_request_and_its_reply_are_scapys() -> None:
    request = packets.ARP.request_frame(CLIENT[0], CLIENT[1], ECHO[1])
    assert request == bytes(Ether(src=CLIENT[0], dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=CLIENT[0], psrc=CLIENT[1], hwdst="00:00:00:00:00:00", pdst=ECHO[1]))
    reply = packets.ARP.parse(packets.Ethernet.parse(request).payload).reply_frame(ECHO[0])
    parsed = Ether(reply)
    assert parsed[ARP].op == 2 and parsed[ARP].hwsrc == ECHO[0] and parsed[ARP].psrc == ECHO[1]
    assert parsed[ARP].hwdst == CLIENT[0] and parsed[ARP].pdst == CLIENT[1] and parsed.dst == CLIENT[0]


def test_scapys_frames_parse_and_padding_is_not_payload() -> None:
    frame = bytes(Ether(src=ECHO[0], dst=CLIENT[0]) / IP(src=ECHO[1], dst=CLIENT[1]) / UDP(sport=7007, dport=12345) / Raw(b"hi"))
    padded = frame + b"\x00" * (60 - len(frame))
    parsed = packets.parse_udp_frame(padded)
    assert parsed is not None
    assert parsed.udp.payload == b"hi" and parsed.ip.source == ECHO[1] and parsed.udp.source_port == 7007
    assert parsed.ethernet.source == ECHO[0]


def test_bad_checksums_and_non_udp_frames_are_refused() -> None:
    good = bytearray(packets.udp_frame(CLIENT, ECHO, b"data"))
    bad_ip = bytearray(good)
    bad_ip[14 + 8] ^= 1  # TTL: the header checksum no longer holds
    assert packets.parse_udp_frame(bytes(bad_ip)) is None
    bad_udp = bytearray(good)
    bad_udp[-1] ^= 1
    assert packets.parse_udp_frame(bytes(bad_udp)) is None
    assert packets.parse_udp_frame(packets.ARP.request_frame(CLIENT[0], CLIENT[1], ECHO[1])) is None
    assert packets.parse_udp_frame(b"\x00" * 13) is None


def test_scapy_computes_the_same_checksums() -> None:
    frame = packets.udp_frame(CLIENT, ECHO, b"checksums")
    parsed = Ether(frame)
    ip_sum, udp_sum = parsed[IP].chksum, parsed[UDP].chksum
    del parsed[IP].chksum
    del parsed[UDP].chksum
    rebuilt = Ether(bytes(parsed))
    assert (rebuilt[IP].chksum, rebuilt[UDP].chksum) == (ip_sum, udp_sum)


def test_mac_text_is_lower_case_and_checked() -> None:
    assert packets.mac_text(packets.mac_bytes("02:AB:cd:00:00:01")) == "02:ab:cd:00:00:01"
    with pytest.raises(ValueError):
        packets.mac_bytes("02:53:59:00:00")
