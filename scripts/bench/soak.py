#!/usr/bin/env python3
"""Soak benchmark: a steady stream through a fabric that records with rotation, for minutes.
Reports the fabric's RSS after the first minute and at the end, and checks that the capture
files hold exactly the frames the fabric switched.

    python3 scripts/bench/soak.py [--fabric .build/release/switchyardd] [--minutes 10]
                                  [--rate 100000] [--size 64] [--dir /tmp/soak]
"""
import argparse
import glob
import json
import os
import shutil
import signal
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import v1  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--fabric", default=".build/release/switchyardd")
ap.add_argument("--minutes", type=float, default=10)
ap.add_argument("--rate", type=int, default=100_000, help="frames per second")
ap.add_argument("--size", type=int, default=64)
ap.add_argument("--dir", default="/tmp/switchyard-soak")
args = ap.parse_args()

shutil.rmtree(args.dir, ignore_errors=True)
os.makedirs(args.dir)
fabric, port = v1.start_fabric(args.fabric, "--capture", f"{args.dir}/soak.pcap", "--capture-file-size", "200")
received = [0]
stop = threading.Event()


def reader(sock, message_size):
    sock.settimeout(1.0)
    while not stop.is_set():
        try:
            data = sock.recv(1 << 20)
        except TimeoutError:
            continue
        if not data:
            break
        received[0] += len(data)


try:
    rx, rx_id, rx_mac = v1.attach(port, "soak-rx")
    tx, tx_id, tx_mac = v1.attach(port, "soak-tx", subscribe=False)
    frame = rx_mac + tx_mac + b"\x88\xb5" + bytes(args.size - 14)
    wire = v1.message(v1.PACKET_OUT, tx_id, 0, frame)
    thread = threading.Thread(target=reader, args=(rx, len(wire)), daemon=True)
    thread.start()
    burst = 1000
    chunk = wire * burst
    start = time.monotonic()
    sent = 0
    samples = []
    next_sample = start + 10
    rss_first_minute = None
    while time.monotonic() - start < args.minutes * 60:
        due = int((time.monotonic() - start) * args.rate)
        while sent + burst <= due:
            tx.sendall(chunk)
            sent += burst
        now = time.monotonic()
        if now >= next_sample:
            rss = v1.rss_mib(fabric.pid)
            samples.append(round(rss, 1))
            if rss_first_minute is None and now - start >= 60:
                rss_first_minute = rss
            next_sample += 10
        time.sleep(0.005)
    time.sleep(1)
    rss_end = v1.rss_mib(fabric.pid)
    statistics = v1.stats(port)
    stop.set()
    fabric.send_signal(signal.SIGTERM)
    _, stderr = fabric.communicate(timeout=60)
    records = 0
    files = sorted(glob.glob(f"{args.dir}/soak_*.pcap"))
    for path in files:
        with open(path, "rb") as capture:
            capture.seek(24)
            while header := capture.read(16):
                caplen = struct.unpack("<I", header[8:12])[0]
                capture.seek(caplen, 1)
                records += 1
    print(json.dumps({
        "minutes": args.minutes, "rate": args.rate, "size": args.size, "frames_sent": sent,
        "frames_switched": statistics["frames_switched"], "frames_received": received[0] // len(wire),
        "capture_frames_written": statistics["capture"]["frames_written"], "records_in_files": records, "files": len(files),
        "files_hold_every_switched_frame": records == statistics["frames_switched"],
        "rss_mib_first_minute": round(rss_first_minute or 0, 1), "rss_mib_end": round(rss_end, 1),
        "rss_change_percent": round((rss_end - rss_first_minute) / rss_first_minute * 100, 2) if rss_first_minute else None,
        "rss_samples_every_10s": samples, "exit_summary": stderr.strip().splitlines()[-1:],
    }))
finally:
    if fabric.poll() is None:
        fabric.kill()
    shutil.rmtree(args.dir, ignore_errors=True)
