#!/usr/bin/env python3
"""Load benchmark: 1,000 connections, each with an endpoint and a subscription, and a broadcast
storm from one more. Some readers are stalled (a tiny receive buffer, never read). Reports
whether every reading subscriber got every frame, the drops per stalled connection, and the
fabric's RSS before and after.

    python3 scripts/bench/load.py [--fabric .build/release/switchyardd] [--connections 1000]
                                  [--stalled 200] [--frames 2000] [--size 512]
"""
import argparse
import json
import os
import resource
import selectors
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import v1  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--fabric", default=".build/release/switchyardd")
ap.add_argument("--connections", type=int, default=1000)
ap.add_argument("--stalled", type=int, default=200)
ap.add_argument("--frames", type=int, default=2000)
ap.add_argument("--size", type=int, default=512)
ap.add_argument("--timeout", type=float, default=120)
args = ap.parse_args()
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))

fabric, port = v1.start_fabric(args.fabric)
try:
    rss_start = v1.rss_mib(fabric.pid)
    readers, stalled = [], []
    for i in range(args.connections):
        if i < args.stalled:
            sock, _, _ = v1.attach(port, f"stalled-{i}", rcvbuf=4096)
            stalled.append(sock)
        else:
            sock, _, _ = v1.attach(port, f"reader-{i}")
            sock.setblocking(False)
            readers.append(sock)
    sender, sender_id, sender_mac = v1.attach(port, "storm", subscribe=False)
    rss_attached = v1.rss_mib(fabric.pid)

    frame = b"\xff" * 6 + sender_mac + b"\x88\xb5" + bytes(args.size - 14)
    wire = v1.message(v1.PACKET_OUT, sender_id, 0, frame)
    expected_bytes = args.frames * (16 + len(frame))
    received = {sock.fileno(): 0 for sock in readers}
    selector = selectors.DefaultSelector()
    for sock in readers:
        selector.register(sock, selectors.EVENT_READ)
    sender.setblocking(False)
    pending = wire * args.frames
    start = time.monotonic()
    peak_rss = rss_attached
    done = 0
    while done < len(readers) and time.monotonic() - start < args.timeout:
        if pending:
            try:
                sent = sender.send(pending[:1 << 20])
                pending = pending[sent:]
            except BlockingIOError:
                pass
        for key, _ in selector.select(timeout=0.01):
            try:
                data = key.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            fd = key.fileobj.fileno()
            received[fd] += len(data)
            if received[fd] >= expected_bytes:
                selector.unregister(key.fileobj)
                done += 1
        peak_rss = max(peak_rss, v1.rss_mib(fabric.pid))
    elapsed = time.monotonic() - start
    time.sleep(0.5)
    statistics = v1.stats(port)
    rss_end = v1.rss_mib(fabric.pid)
    complete = sum(1 for n in received.values() if n == expected_bytes)
    drops = sorted(c["dropped"] for c in statistics["connections"] if c["dropped"])
    print(json.dumps({
        "connections": args.connections, "stalled": args.stalled, "frames": args.frames, "size": args.size,
        "readers_with_every_frame": complete, "readers": len(readers), "seconds": round(elapsed, 2),
        "frames_switched": statistics["frames_switched"], "frames_delivered": statistics["frames_delivered"],
        "frames_dropped": statistics["frames_dropped"], "connections_with_drops": len(drops),
        "drops_per_stalled_connection": [drops[0], drops[-1]] if drops else [0, 0],
        "rss_mib": {"start": round(rss_start, 1), "attached": round(rss_attached, 1), "peak": round(peak_rss, 1), "end": round(rss_end, 1)},
        "rss_growth_mib": round(peak_rss - rss_attached, 1),
        "fabric_alive": fabric.poll() is None,
    }))
finally:
    fabric.terminate()
    fabric.wait(10)
