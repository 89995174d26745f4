#!/usr/bin/python3
"""Hostile and honest IPv4 fragments for a service, made by scapy, run in a test's namespace.

    fragments.py IFACE SRC_IP DST_IP DST_MAC PORT

Each case sends one UDP datagram to DST_IP:PORT (an echo service) as fragments in some
order, through IFACE at layer 2, and waits up to 2 s for the echo on a kernel UDP socket
(the kernel reassembles the echo's own fragments). Prints one line per case:
"CASE echoed|silent". The cases: in order, reversed, shuffled (seeded), every fragment
twice, an overlapping second fragment, no last fragment, a bad header checksum, then a
storm of 10,000 first fragments with fresh ids followed by an honest datagram.
Needs Debian's python3-scapy (hence /usr/bin/python3).
"""
import random, socket, sys
from scapy.all import Ether, IP, UDP, Raw, conf, fragment, sendp  # noqa: E402

conf.verb = 0
iface, source, destination, mac, port = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
rng = random.Random(30)
listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
listener.bind((source, 0))
listener.settimeout(2)
own_port = listener.getsockname()[1]
link = conf.L2socket(iface=iface)
case_id = 100


def datagram(size):
    global case_id
    case_id += 1
    body = bytes(rng.randrange(256) for _ in range(size))
    packet = IP(src=source, dst=destination, id=case_id) / UDP(sport=own_port, dport=port) / Raw(body)
    return IP(bytes(packet)), body  # checksums computed once, over the whole datagram


def send(fragments):
    for piece in fragments:
        link.send(Ether(dst=mac) / piece)


def echoed(body):
    try:
        while True:
            data, _ = listener.recvfrom(65535)
            if data == body:
                return True
    except socket.timeout:
        return False


def case(name, shape, size=3000):
    packet, body = datagram(size)
    send(shape(fragment(packet, fragsize=1480)))
    print(f"{name} {'echoed' if echoed(body) else 'silent'}", flush=True)


def overlapping(pieces):
    # The second fragment again, starting 8 bytes early with other bytes: an overlap.
    twin = pieces[1].copy()
    twin.frag -= 1
    twin[Raw].load = bytes(8) + bytes(twin[Raw].load)[:-8]
    del twin.chksum, twin.len
    return [pieces[0], IP(bytes(twin))] + pieces[1:]


def bad_checksum(pieces):
    damaged = IP(bytes(pieces[1]))
    damaged.chksum ^= 0x5555
    return [pieces[0], damaged] + pieces[2:]


case("in-order", lambda p: p)
case("reversed", lambda p: list(reversed(p)))
case("shuffled", lambda p: rng.sample(p, len(p)))
case("duplicated", lambda p: [x for x in p for _ in (0, 1)])
case("large-shuffled", lambda p: rng.sample(p, len(p)), size=60000)
case("overlapping", overlapping)
case("missing-last", lambda p: p[:-1])
case("bad-header-checksum", bad_checksum)

storm_packet, _ = datagram(3000)
first = fragment(storm_packet, fragsize=1480)[0]
storm = []
for ident in range(10000):
    piece = first.copy()
    piece.id = 20000 + ident
    del piece.chksum
    storm.append(Ether(dst=mac) / piece)
for frame in storm:
    link.send(frame)
case("after-storm", lambda p: p)
