#!/usr/bin/env python3
"""Gated replay exchanges per second, with 1 and with 50 independent flows, in one run.

Writes two recordings of UDP echo exchanges with the echo service (the frames exactly as
switchyard-echo answers them), one with all exchanges in one flow and one with them spread
over FLOWS clients whose flows overlap, then replays each against a live switchyard-echo and
prints exchanges per second and their ratio.

    scripts/bench/replay_rate.py [--exchanges N] [--flows F] [--bin DIR]
"""
import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, payload, ttl=64):
    length = 8 + len(payload)
    pseudo = socket.inet_aton(src_ip) + socket.inet_aton(dst_ip) + struct.pack("!BBH", 0, 17, length)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    udp_sum = checksum(pseudo + header + payload) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, length, udp_sum) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, ttl, 17, 0, socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp


def mac(text):
    return bytes(int(part, 16) for part in text.split(":"))


def write_recording(path, flows, exchanges):
    """Exchanges spread round-robin over `flows` clients, each its own 5-tuple."""
    service = "02:53:59:00:00:01"
    clients = ["02:53:59:01:%02x:%02x" % (index >> 8, index & 0xFF) for index in range(flows)]
    start = 1_800_000_000 * 10**9
    records = []
    for number in range(exchanges):
        flow = number % flows
        client_ip = "10.0.%d.%d" % (1 + flow // 200, 10 + flow % 200)
        payload = b"exchange %06d" % number
        request = udp_frame(mac(clients[flow]), mac(service), client_ip, "10.0.0.2", 40000, 7007, payload)
        reply = udp_frame(mac(service), mac(clients[flow]), "10.0.0.2", client_ip, 7007, 40000, payload)
        records.append(request)
        records.append(reply)
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1))
        for index, frame in enumerate(records):
            stamp = start + index * 10_000
            out.write(struct.pack("<IIII", stamp // 10**9, stamp % 10**9, len(frame), len(frame)))
            out.write(frame)
    endpoints = [{"id": 1, "name": "svc_echo", "mac": service, "created_ns": start - 10**6}]
    endpoints += [{"id": index + 2, "name": "cli%d" % (index + 1), "mac": client, "created_ns": start - 10**6} for index, client in enumerate(clients)]
    manifest = {"format": "switchyard-manifest", "version": 1, "capture": os.path.basename(path), "endpoints": endpoints}
    with open(path[: -len(".pcap")] + ".manifest.json", "w") as out:
        json.dump(manifest, out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exchanges", type=int, default=5000)
    parser.add_argument("--flows", type=int, default=50)
    parser.add_argument("--bin", help="directory with the tools (default: the release build)")
    arguments = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    binary = arguments.bin
    if binary is None:
        subprocess.run(["swift", "build", "-c", "release"], cwd=root, check=True, stdout=subprocess.DEVNULL)
        binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=root, check=True, capture_output=True, text=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="switchyard-bench-")
    fabric = subprocess.Popen([os.path.join(binary, "switchyardd"), "--port", "0", "--log-level", "warning"], stdout=subprocess.PIPE, text=True)
    try:
        line = fabric.stdout.readline()
        port = line.rsplit(":", 1)[1].split()[0] if ":" in line else None
        if port is None or not port.isdigit():
            sys.exit("replay_rate.py: unexpected first line from switchyardd: %r" % line)
        echo = subprocess.Popen([os.path.join(binary, "switchyard-echo"), "--port", port, "--log-level", "warning"], stdout=subprocess.PIPE, text=True)
        echo.stdout.readline()
        rates = {}
        for flows in (1, arguments.flows):
            path = os.path.join(work, "flows-%d.pcap" % flows)
            write_recording(path, flows, arguments.exchanges)
            began = time.monotonic()
            result = subprocess.run([os.path.join(binary, "switchyard-replay"), path, "--port", port, "-q"], capture_output=True, text=True)
            elapsed = time.monotonic() - began
            if result.returncode != 0:
                sys.exit("replay_rate.py: replay of %d flows failed: %s %s" % (flows, result.stdout, result.stderr))
            rates[flows] = arguments.exchanges / elapsed
            print("%3d flows: %6d exchanges in %.2f s = %8.0f exchanges/s  (%s)" % (flows, arguments.exchanges, elapsed, rates[flows], result.stdout.strip()))
        print("ratio %d flows / 1 flow: %.2f" % (arguments.flows, rates[arguments.flows] / rates[1]))
        echo.terminate()
        echo.wait()
    finally:
        fabric.terminate()
        fabric.wait()


if __name__ == "__main__":
    main()
