#!/usr/bin/env python3
"""Throughput across two fabrics joined by VXLAN, against the same stream through one fabric.

  vxlan.py --fabric PATH/switchyardd [--sizes 64,1500] [--frames 1000000] [--reps 3]

Starts fabric A (`--vxlan b=127.0.0.1:PB`) and fabric B (`--vxlan a=127.0.0.1:PA`, its own MAC
range), both with --vxlan-mtu 9000 (loopback carries 1500-byte frames encapsulated). Each rep
sends FRAMES frames of SIZE bytes from a v1 endpoint on A to a v1 endpoint, first on A itself
("one"), then on B ("vxlan"), and times the receiver. Prints JSON lines, then per size:
`ratio size=N one_fps=... vxlan_fps=... vxlan/one=R` (medians). Standard library only.
"""
import argparse, json, os, socket, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import v1  # noqa: E402



def endpoint(port, name, mac, subscribe):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(v1.control(v1.HELLO, {"client_name": name}))
    v1.reply(sock)
    sock.sendall(v1.control(v1.CREATE, {"name": name, "mac": mac}))
    _, created = v1.reply(sock)
    if subscribe:
        sock.sendall(v1.control(v1.SUBSCRIBE, {"endpoint_id": created["endpoint_id"]}, endpoint=created["endpoint_id"]))
        v1.reply(sock)
    return sock, created["endpoint_id"]



def run(kind, port_a, port_b, size, frames, rep):
    rx_mac, tx_mac = f"02:aa:00:00:{rep % 256:02x}:01", f"02:bb:00:00:{rep % 256:02x}:01"
    rx, rx_id = endpoint(port_a if kind == "one" else port_b, f"rx{kind}{rep}{size}", rx_mac, True)
    tx, tx_id = endpoint(port_a, f"tx{kind}{rep}{size}", tx_mac, False)
    macb = lambda m: bytes(int(x, 16) for x in m.split(":"))
    # The receiver speaks first, so both fabrics learn where its MAC is.
    rx.sendall(v1.message(v1.PACKET_OUT, rx_id, 0, b"\xff" * 6 + macb(rx_mac) + b"\x88\xb5" + b"\x00" * 46))
    time.sleep(0.2)
    fr = macb(rx_mac) + macb(tx_mac) + b"\x08\x00" + bytes((i * 7) & 0xFF for i in range(max(size - 14, 46)))
    unit = v1.message(v1.PACKET_OUT, tx_id, 0, fr)
    per_frame = 16 + len(fr)
    received, seconds = v1.blast(tx, rx, unit, frames, per_frame)
    return {"kind": kind, "size": size, "frames_sent": frames, "frames_received": received,
            "seconds": round(seconds, 4), "fps": round(received / seconds) if seconds > 0 else 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fabric", required=True)
    ap.add_argument("--sizes", default="64,1500")
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    port_a, port_b = v1.free_port(), v1.free_port()
    udp_a, udp_b = v1.free_port(socket.SOCK_DGRAM), v1.free_port(socket.SOCK_DGRAM)
    procs = [
        subprocess.Popen([a.fabric, "--port", str(port_a), "--vxlan", f"b=127.0.0.1:{udp_b}", "--vxlan-listen", f"127.0.0.1:{udp_a}", "--vxlan-mtu", "9000"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([a.fabric, "--port", str(port_b), "--vxlan", f"a=127.0.0.1:{udp_a}", "--vxlan-listen", f"127.0.0.1:{udp_b}", "--vxlan-mtu", "9000",
                          "--mac-start", "02:53:59:00:10:01"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        for port in (port_a, port_b):
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
        rep_id = 0
        for size in [int(s) for s in a.sizes.split(",")]:
            fps = {"one": [], "vxlan": []}
            for _ in range(a.reps):
                for kind in ("one", "vxlan"):
                    rep_id += 1
                    result = run(kind, port_a, port_b, size, a.frames, rep_id)
                    print(json.dumps(result), flush=True)
                    fps[kind].append(result["fps"])
            one, vx = statistics.median(fps["one"]), statistics.median(fps["vxlan"])
            print(f"ratio size={size} one_fps={one:.0f} vxlan_fps={vx:.0f} vxlan/one={vx / one:.3f}", flush=True)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
