#!/usr/bin/env python3
"""Throughput through a QEMU stream port against the same load over protocol v1, in one run.

  qemu_stream.py --fabric PATH/switchyardd [--sizes 64,1500] [--frames 1000000] [--reps 3]

Starts one fabric with `--qemu bench=tcp:127.0.0.1:PORT`. Each rep sends FRAMES frames of SIZE
bytes from one sender to one receiver, first as two v1 endpoints (PACKET_OUT → PACKET_IN), then
as two "VMs" speaking QEMU's stream framing (4-byte length + frame) on the QEMU port, and times
the receiver. Prints one JSON line per run and a last line per size:
`ratio size=N v1_fps=... qemu_fps=... qemu/v1=R` (medians). Standard library only.
"""
import argparse, json, os, socket, statistics, struct, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import v1  # noqa: E402



def frame(dst, src, size):
    body = bytes((i * 7) & 0xFF for i in range(max(size - 14, 46)))
    return dst + src + b"\x08\x00" + body


def qemu(frame_bytes):
    return struct.pack("!I", len(frame_bytes)) + frame_bytes



def run(kind, fabric_port, qemu_port, size, frames):
    rx_mac, tx_mac = bytes.fromhex("025359f0aa01"), bytes.fromhex("025359e0aa01")
    fr = frame(rx_mac, tx_mac, size)
    if kind == "v1":
        rx = socket.create_connection(("127.0.0.1", fabric_port))
        rx.sendall(v1.control(v1.HELLO, {"client_name": "rx"}))
        v1.reply(rx)
        rx.sendall(v1.control(v1.CREATE, {"name": f"rx{time.monotonic_ns()}", "mac": ":".join(f"{b:02x}" for b in rx_mac)}))
        _, created = v1.reply(rx)
        rx.sendall(v1.control(v1.SUBSCRIBE, {"endpoint_id": created["endpoint_id"]}, endpoint=created["endpoint_id"]))
        v1.reply(rx)
        tx = socket.create_connection(("127.0.0.1", fabric_port))
        tx.sendall(v1.control(v1.HELLO, {"client_name": "tx"}))
        v1.reply(tx)
        tx.sendall(v1.control(v1.CREATE, {"name": f"tx{time.monotonic_ns()}", "mac": ":".join(f"{b:02x}" for b in tx_mac)}))
        _, sender = v1.reply(tx)
        unit = v1.message(v1.PACKET_OUT, sender["endpoint_id"], 0, fr)
        per_frame_in = 16 + len(fr)
    else:
        rx = socket.create_connection(("127.0.0.1", qemu_port))
        tx = socket.create_connection(("127.0.0.1", qemu_port))
        # Each "VM" announces itself (its endpoint is made by its first frame), like a NIC at boot.
        hello = lambda mac: qemu(b"\xff" * 6 + mac + b"\x88\xb5" + b"\x00" * 46)
        rx.sendall(hello(rx_mac))
        time.sleep(0.1)
        tx.sendall(hello(tx_mac))
        time.sleep(0.1)
        rx.setblocking(False)
        try:
            while rx.recv(1 << 16):
                pass
        except BlockingIOError:
            pass
        rx.setblocking(True)
        unit = qemu(fr)
        per_frame_in = 4 + len(fr)
    received, seconds = v1.blast(tx, rx, unit, frames, per_frame_in)
    return {"kind": kind, "size": size, "frames_sent": frames, "frames_received": received,
            "seconds": round(seconds, 4), "fps": round(received / seconds) if seconds > 0 else 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fabric", required=True, help="path to switchyardd")
    ap.add_argument("--sizes", default="64,1500")
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--kinds", default="v1,qemu", help="which loads to run (for profiling one)")
    a = ap.parse_args()
    fabric_port, qemu_port = v1.free_port(), v1.free_port()
    proc = subprocess.Popen([a.fabric, "--port", str(fabric_port), "--qemu", f"bench=tcp:127.0.0.1:{qemu_port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", fabric_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        complete = True
        for size in [int(s) for s in a.sizes.split(",")]:
            fps = {"v1": [], "qemu": []}
            for _ in range(a.reps):
                for kind in a.kinds.split(","):
                    result = run(kind, fabric_port, qemu_port, size, a.frames)
                    print(json.dumps(result), flush=True)
                    fps[kind].append(result["fps"])
                    complete &= result["frames_received"] == a.frames
            if fps["v1"] and fps["qemu"]:
                v1_fps, qemu_fps = statistics.median(fps["v1"]), statistics.median(fps["qemu"])
                print(f"ratio size={size} v1_fps={v1_fps:.0f} qemu_fps={qemu_fps:.0f} qemu/v1={qemu_fps / v1_fps:.3f}", flush=True)
        sys.exit(0 if complete else 1)
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
