from switchyard.fabric import ReplayResult


def test_the_summary_line_is_read_with_and_without_tcp() -> None:
    udp = ReplayResult.parse(0, "played cli1: ...\nreplayed 3 frames, expected 3 replies: 3 matched, 0 differed, 0 missing; 0 unexpected\n", "", "s.pcap")
    assert (udp.played, udp.expected, udp.matched, udp.connections, udp.background) == (3, 3, 3, 0, 0)
    tcp = ReplayResult.parse(
        1,
        "replayed 12 frames and 2 TCP connections, expected 2 replies: 2 matched, 0 differed, 0 missing; "
        "streams: 1 matched, 1 differed, 0 missing, 1 skipped; 0 unexpected; 4 background frames, not compared\n",
        "",
        "s.pcap",
    )
    assert (tcp.played, tcp.connections, tcp.streams_matched, tcp.streams_differed, tcp.streams_skipped, tcp.background) == (12, 2, 1, 1, 1, 4)
    assert not tcp.passed


def test_the_masks_and_what_they_hid_are_read() -> None:
    result = ReplayResult.parse(
        0,
        "replayed 3 frames, expected 3 replies: 3 matched, 0 differed, 0 missing; 0 unexpected; "
        "masked: dns.id 0 (--ignore, stale), http.header.date 2 (noise file), ipv4.ttl 3 (--ignore)\n",
        "",
        "s.pcap",
    )
    assert result.matched == 3
    assert result.masks == {"dns.id": 0, "http.header.date": 2, "ipv4.ttl": 3}
    assert result.stale_masks == ["dns.id"]
    plain = ReplayResult.parse(0, "replayed 1 frame, expected 1 reply: 1 matched, 0 differed, 0 missing; 0 unexpected\n", "", "s.pcap")
    assert plain.masks == {} and plain.stale_masks == []
