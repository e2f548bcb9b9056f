"""A small threaded HTTPS/1.1 server shared by the ARM and Kubernetes emulators.

Each server is one callable `handler(Request) -> Response`; this module only speaks HTTP:
keep-alive, request bodies (Content-Length or chunked), chunked streaming responses (watches)
and the "connection reset" fault.
"""

import json
import socket
import ssl
import struct
import sys
import threading
import traceback
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Iterable, List, Union
from urllib.parse import parse_qs, unquote, urlsplit

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# bodies above this are not kept (Request.oversized); each server answers with its own 413
MAX_BODY = 16 * 1024 * 1024
MAX_DRAIN = 256 * 1024 * 1024  # read and dropped up to this, so the client gets to read the 413


@dataclass
class Request:
    method: str
    path: str
    query: Dict[str, List[str]]
    headers: Message
    body: bytes
    client: str
    oversized: bool = False

    def arg(self, name, default=None):
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self):
        """The body parsed as JSON (None when empty); ValueError when it is not JSON."""
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    headers: Dict[str, str] = field(default_factory=dict)
    body: Union[bytes, Iterable[bytes]] = b""
    reset: bool = False


def json_response(status, obj, headers=None):
    merged = {"Content-Type": "application/json; charset=utf-8"}
    merged.update(headers or {})
    return Response(status, merged, json.dumps(obj).encode("utf-8"))


def _read_chunked(rfile):
    """The body, or None when it grows past MAX_BODY (the connection is then dropped after the answer)."""
    chunks, total = [], 0
    while True:
        try:
            size = int(rfile.readline(64).split(b";")[0].strip() or b"0", 16)
        except ValueError:
            return None
        total += size
        if total > MAX_BODY:
            return None
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        chunks.append(rfile.read(size))
        rfile.readline()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "azcni-emulator"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are dropped after this
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: the emulators keep their own request log."""

    def _request(self):
        split = urlsplit(self.path)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = _read_chunked(self.rfile)
        else:
            try:
                length = max(0, int(self.headers.get("Content-Length") or 0))
            except ValueError:
                length = MAX_BODY + 1
            body = self.rfile.read(length) if length <= MAX_BODY else self._drain(length)
        if body is None:
            self.close_connection = True  # the unread rest of the body must not be taken for the next request
        return Request(
            method=self.command,
            path=unquote(split.path),
            query=parse_qs(split.query, keep_blank_values=True),
            headers=self.headers,
            body=body or b"",
            client="%s:%s" % self.client_address[:2],
            oversized=body is None,
        )

    def _drain(self, length):
        while 0 < length <= MAX_DRAIN:
            chunk = self.rfile.read(min(length, 1024 * 1024))
            if not chunk:
                break
            length -= len(chunk)
        return None

    def _dispatch(self):
        request = self._request()
        try:
            response = self.server.app(request)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # a bug in an emulator must show up as a 500 plus a traceback, not a hung client
            traceback.print_exc(file=sys.stderr)
            response = json_response(500, {"error": {"code": "InternalServerError", "message": repr(exc)}})
        if response.reset:
            self._reset()
        elif isinstance(response.body, (bytes, bytearray)):
            self._send_bytes(response)
        else:
            self._send_stream(response)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def _start(self, response):
        self.send_response(response.status)  # reason phrase from http.server's table
        if self.close_connection:
            self.send_header("Connection", "close")  # so the client does not reuse a connection about to close
        for name, value in response.headers.items():
            self.send_header(name, str(value))

    def _send_bytes(self, response):
        self._start(response)
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.status not in (204, 304):
            self.wfile.write(response.body)
        self.wfile.flush()

    def _send_stream(self, response):
        self._start(response)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        chunks = iter(response.body)
        try:
            for chunk in chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (OSError, ValueError):
            self.close_connection = True  # client went away (or the server stopped)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()

    def _reset(self):
        # SO_LINGER 0 makes close() send a TCP RST: the client sees "connection reset by peer"
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address, app, ssl_context):
        self.app = app
        self.ssl_context = ssl_context
        self.connections = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address):
        # TLS handshake in the connection's own thread, so one slow client never blocks accept()
        request.settimeout(10)
        try:
            conn = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        with self.connections_lock:
            self.connections.add(conn)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except (OSError, ValueError):
            pass  # peer hung up mid-request
        finally:
            with self.connections_lock:
                self.connections.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        """Connection-level errors are the client's business; stay quiet."""

    def drop_connections(self):
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class HTTPSServer:
    """`handler(Request) -> Response` served over HTTPS on host:port (0 = any free port)."""

    def __init__(self, handler, ssl_context, host="127.0.0.1", port=0):
        self._server = _Server((host, port), handler, ssl_context)
        self._thread = None
        self.host = host
        self.port = self._server.server_address[1]
        self.url = "https://%s:%d" % (host, self.port)
        self.closed = threading.Event()  # set by stop(): long streams should end when they see it

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="emulator-%d" % self.port, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self.closed.is_set():
            return
        self.closed.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()
        self._server.drop_connections()
