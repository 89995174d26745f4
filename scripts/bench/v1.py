"""Minimal protocol v1 helpers for the load and soak benchmarks (standard library only)."""
import json
import multiprocessing as mp
import os
import re
import socket
import struct
import subprocess
import time

HEADER = struct.Struct("!IHHII")
HELLO, CREATE, SUBSCRIBE, PACKET_OUT, PACKET_IN, STATS_REQUEST, STATS, ERROR = 1, 10, 20, 30, 31, 40, 41, 100


def message(mtype, endpoint=0, flags=0, payload=b""):
    return HEADER.pack(12 + len(payload), 1, mtype, endpoint, flags) + payload


def control(mtype, body, endpoint=0, flags=0):
    return message(mtype, endpoint, flags, json.dumps(body).encode())


def read_message(sock):
    head = recv_exactly(sock, 16)
    length, _, mtype, endpoint, flags = HEADER.unpack(head)
    return mtype, endpoint, flags, recv_exactly(sock, length - 12)


def recv_exactly(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("fabric closed the connection")
        data += chunk
    return bytes(data)


def reply(sock):
    """The next control reply, skipping PACKET_IN."""
    while True:
        mtype, endpoint, flags, payload = read_message(sock)
        if mtype != PACKET_IN:
            return mtype, json.loads(payload) if payload else {}


def attach(port, name, subscribe=True, rcvbuf=None):
    """A connection with one endpoint (subscribed unless told not to): (socket, id, mac)."""
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(control(HELLO, {"client_name": name}))
    assert reply(sock)[0] == 2
    sock.sendall(control(CREATE, {"name": name}))
    mtype, body = reply(sock)
    assert mtype == 11, body
    if subscribe:
        sock.sendall(control(SUBSCRIBE, {"endpoint_id": body["endpoint_id"]}, body["endpoint_id"]))
        assert reply(sock)[0] == 21
    return sock, body["endpoint_id"], bytes.fromhex(body["mac"].replace(":", ""))


def stats(port):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(control(HELLO, {"client_name": "bench-stats"}))
    reply(sock)
    sock.sendall(control(STATS_REQUEST, {}))
    mtype, body = reply(sock)
    sock.close()
    assert mtype == STATS, body
    return body


def start_fabric(binary, *arguments):
    """Starts switchyardd on a free port with a raised file limit: (process, port)."""
    def raise_limit():
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
    process = subprocess.Popen([binary, "--port", "0", "--log-level", "warning", *arguments],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=raise_limit)
    line = process.stdout.readline()
    match = re.match(r"\[fabric\] listening on .*:(\d+)$", line.strip())
    if not match:
        raise RuntimeError(f"no ready line: {line!r} {process.stderr.read()}")
    return process, int(match.group(1))


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def free_port(kind=socket.SOCK_STREAM):
    """A loopback port nothing listens on now."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def receive_bytes(sock, total_bytes, ready, out):
    """A receiver process: reads until total_bytes or 5 s of silence; puts (bytes, last time)."""
    sock.settimeout(5.0)
    ready.set()
    buf = bytearray(1 << 20)
    got, last = 0, None
    try:
        while got < total_bytes:
            n = sock.recv_into(buf)
            if not n:
                break
            got += n
            last = time.perf_counter()
    except socket.timeout:
        pass
    out.put((got, last))


def blast(tx, rx, unit, frames, bytes_per_frame):
    """Sends `frames` copies of `unit` on tx in batches of 256 while a receiver process reads
    rx; closes both. Returns (frames received, seconds from the first send to the last read)."""
    q, ready = mp.Queue(), mp.Event()
    proc = mp.Process(target=receive_bytes, args=(rx, frames * bytes_per_frame, ready, q))
    proc.start()
    ready.wait(10)
    batch = unit * 256
    t0 = time.perf_counter()
    left = frames
    while left > 0:
        n = min(256, left)
        tx.sendall(batch if n == 256 else unit * n)
        left -= n
    got, last = q.get()
    proc.join()
    tx.close()
    rx.close()
    return got // bytes_per_frame, (last or time.perf_counter()) - t0
