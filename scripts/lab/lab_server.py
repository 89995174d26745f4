#!/usr/bin/env python3
"""The servers replay's namespace tests and scripts/make-tcp-capture.sh run in a namespace.

    lab_server.py PORT MODE

MODE echo: a TCP echo; upper: the same, upper-casing (a changed server); http: an HTTP
server (Python's http.server) whose Date header is fixed, so a recording replays identically,
serving "page PATH" 40 times for any path and /big/N as N bytes; http-changed: the same with
the first "page" of every body upper-cased. Prints "ready" once it listens.
"""
import http.server, signal, socket, socketserver, sys, threading
port, mode = int(sys.argv[1]), sys.argv[2]
# SIGTERM is the normal end: exit 0, as the project's own tools do.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
if mode in ("echo", "upper"):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(64)
    def serve(connection):
        while True:
            data = connection.recv(65536)
            if not data:
                break
            connection.sendall(data.upper() if mode == "upper" else data)
        connection.close()
    print("ready", flush=True)
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=serve, args=(connection,), daemon=True).start()
class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "lab/1"
    sys_version = ""
    def date_time_string(self, timestamp=None):
        return "Thu, 01 Jan 2026 00:00:00 GMT"
    def log_message(self, *args):
        pass
    def do_GET(self):
        if self.path.startswith("/big/"):
            size = int(self.path[5:])
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            block = bytes(range(256)) * 256
            while size > 0:
                self.wfile.write(block[:min(size, len(block))])
                size -= len(block)
            return
        body = ("page %s\n" % self.path).encode() * 40
        if mode == "http-changed":
            body = body.replace(b"page", b"PAGE", 1)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
server = Server(("0.0.0.0", port), Handler)
print("ready", flush=True)
server.serve_forever()
