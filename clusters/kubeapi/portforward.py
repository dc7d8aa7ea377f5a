"""`kubectl port-forward` over WebSocket: SPDY/3.1 tunneled in WebSocket binary messages.

What kubectl 1.31+ sends (client-go tools/portforward/tunneling_dialer.go, PortForwardWebsockets on by
default): after `GET …/pods/P` (kubectl itself refuses a pod that is not Running: `unable to forward port
because pod is not running. Current status=Pending`), a WebSocket upgrade of
`GET /api/v1/namespaces/N/pods/P/portforward` with subprotocol `SPDY/3.1+portforward.k8s.io` and the
bearer token. Accepted with that subprotocol, the WebSocket is a byte pipe: every binary message is a
piece of a SPDY/3.1 session (frames may be split over messages — Go's framer writes a frame in several
writes — or share one), the client side of moby/spdystream over it, pinging every 10 s.

For every connection accepted on the learner's machine kubectl opens two SPDY streams with the same
`requestid` and `port` headers: `streamtype: error` (closed at once from its side) and `streamtype:
data`. The server (the kubelet's streaming server, cri/streaming/portforward/httpstream.go) answers each
SYN_STREAM with an empty SYN_REPLY — or RST_STREAM for a stream without a valid port or stream type — and
once it holds both streams of a request it dials localhost:PORT in the pod: bytes then flow as DATA
frames on the data stream; a FIN from the client is the local connection's end. When the connection ends
the server closes both streams (FIN). A failure is a message on the error stream (`error forwarding port
81 to pod <sandbox id>, uid : failed to execute portforward in network namespace "…": failed to connect
to localhost:81 inside namespace "…", IPv4: dial tcp4 127.0.0.1:81: connect: connection refused …`),
which kubectl prints as `an error occurred forwarding 8080 -> 81: …` before it drops the whole
session (`error: lost connection to pod`).

Header blocks are zlib streams, one per direction for the session, primed with SPDY/3's dictionary;
spdystream implements no flow control (WINDOW_UPDATE and SETTINGS are ignored both ways).

Behind the data stream sits the simulated program listening on that port in the pod, at the cluster's
simulated now (clusters.sim.portforward): an HTTP server gets each request parsed from the bytes (method,
target, Host, Content-Length or chunked bodies, keep-alive, pipelining) and writes its answer with its
server's headers; redis answers PING, ECHO, SELECT, a session's own GET/SET and friends, AUTH and QUIT
as redis-server does; memcached its `version`; other servers (databases) accept and stay silent.

The kubelet's other WebSocket protocol is served too (`v4.channel.k8s.io` with `?ports=80,81`: what the
official Python client's kubernetes.stream.portforward sends): one connection per port, dialled when the
WebSocket opens; every message starts with a channel byte, 2i the data and 2i+1 the error of the i-th port,
and each channel's first message from the server is its port number (two bytes, little-endian). The
WebSocket closes when every connection has ended.

Plain SPDY — kubectl's retry after a refused WebSocket handshake, `POST …/portforward` with `Upgrade:
SPDY/3.1` and `X-Stream-Protocol-Version: portforward.k8s.io`, which is also all kubectl before 1.31 (or
with KUBECTL_PORT_FORWARD_WEBSOCKETS=false) sends — cannot be served: daphne hands a non-WebSocket upgrade
to the application as an ordinary HTTP request, and ASGI's HTTP interface has no way to take over the
socket after `101 Switching Protocols`. The handshake is refused only when the request itself is wrong
(token, pod), so that request gets the API's error (views.py → spdy_fallback_error), or else a 400 saying
that the playground needs the WebSocket: kubectl prints `error: error upgrading connection: …`.
"""
from __future__ import annotations

import asyncio
import logging
import re
import struct
import uuid
import zlib
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from clusters.apiserver import errors
from clusters.apiserver.errors import ApiError
from clusters.sim import portforward as sim
from playground.sockets import DirectDispatch

from .views import authenticate_token

log = logging.getLogger(__name__)

TUNNEL_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
CHANNEL_PROTOCOL = "v4.channel.k8s.io"
STREAM_CREATION_TIMEOUT = 30.0     # the kubelet's streaming server waits this long for a request's other stream
MAX_CHUNK = 32 * 1024              # bytes per DATA frame written
MAX_HEADER_BYTES = 8 * 1024        # an HTTP request head longer than this is refused (nginx: 400)
MAX_BODY_BYTES = 1 << 20           # nginx's client_max_body_size 1m
MAX_BUFFER = 2 << 20               # unparsed bytes kept for a protocol we model

# SPDY/3 frame types and flags (moby/spdystream spdy/types.go).
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
RST_PROTOCOL_ERROR, RST_CANCEL = 1, 5

# The SPDY/3 header compression dictionary (draft-mbelshe-httpbis-spdy-00 §2.6.10.1): length-prefixed
# words, then raw text.
_DICTIONARY_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges "
    "age allow authorization cache-control connection content-base content-encoding content-language "
    "content-length content-location content-md5 content-range content-type date etag expect expires from "
    "host if-match if-modified-since if-none-match if-range if-unmodified-since last-modified location "
    "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after server te trailer "
    "transfer-encoding upgrade user-agent vary via warning www-authenticate method get status"
).split() + ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
_DICTIONARY_TEXT = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _DICTIONARY_WORDS) + \
    _DICTIONARY_TEXT.encode()


def spdy_fallback_error(cluster, namespace: str, pod: str) -> ApiError:
    """The answer to `POST …/portforward` with `Upgrade: SPDY/3.1` (kubectl before 1.31, or its retry after a
    refused WebSocket): the API's error for the pod (raised), else why this server cannot take the upgrade."""
    sim.forward_target(cluster=cluster, namespace=namespace, pod=pod)
    return errors.bad_request("the playground serves port-forward over WebSocket only "
                              f"({TUNNEL_PROTOCOL}: kubectl 1.31 or newer)")


# ---------------------------------------------------------------------------------------------- SPDY/3.1

class SpdyError(Exception):
    """A session that cannot go on (a frame that does not parse)."""


@dataclass
class Frame:
    control: bool
    type: int = 0                 # control frames: SYN_STREAM, …; data frames: 0
    flags: int = 0
    stream_id: int = 0
    data: bytes = b""             # data frames: the payload
    headers: dict[str, str] = field(default_factory=dict)
    value: int = 0                # RST_STREAM status, PING id, GOAWAY status


class SpdyCodec:
    """Both directions of one SPDY/3.1 session: frames out of a byte stream, frames into bytes."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.inflate = zlib.decompressobj(zdict=DICTIONARY)
        self.deflate = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)

    # -------------------------------------------------------------------- reading
    def feed(self, data: bytes) -> list[Frame]:
        self.buffer += data
        frames = []
        while len(self.buffer) >= 8:
            length = int.from_bytes(self.buffer[5:8], "big")
            if len(self.buffer) < 8 + length:
                break
            head, body = bytes(self.buffer[:8]), bytes(self.buffer[8:8 + length])
            del self.buffer[:8 + length]
            frames.append(self._parse(head, body))
        return frames

    def _parse(self, head: bytes, body: bytes) -> Frame:
        first, flags = int.from_bytes(head[:4], "big"), head[4]
        if not first & 0x80000000:
            return Frame(False, 0, flags, first & 0x7FFFFFFF, data=body)
        version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != 3:
            raise SpdyError(f"unsupported SPDY version {version}")
        frame = Frame(True, kind, flags)
        if kind in (SYN_STREAM, SYN_REPLY, HEADERS, RST_STREAM, WINDOW_UPDATE):
            if len(body) < 4:
                raise SpdyError("short control frame")
            frame.stream_id = int.from_bytes(body[:4], "big") & 0x7FFFFFFF
        if kind == SYN_STREAM:
            if len(body) < 10:
                raise SpdyError("short SYN_STREAM")
            frame.headers = self._headers(body[10:])
        elif kind in (SYN_REPLY, HEADERS):
            frame.headers = self._headers(body[4:])
        elif kind == RST_STREAM and len(body) >= 8:
            frame.value = int.from_bytes(body[4:8], "big")
        elif kind == PING and len(body) >= 4:
            frame.value = int.from_bytes(body[:4], "big")
        elif kind == GOAWAY and len(body) >= 8:
            frame.stream_id = int.from_bytes(body[:4], "big") & 0x7FFFFFFF
            frame.value = int.from_bytes(body[4:8], "big")
        return frame

    def _headers(self, block: bytes) -> dict[str, str]:
        try:
            raw = self.inflate.decompress(block)
        except zlib.error as error:
            raise SpdyError(f"header block: {error}") from None
        headers: dict[str, str] = {}
        try:
            count, at = struct.unpack_from(">I", raw)[0], 4
            for _ in range(count):
                size = struct.unpack_from(">I", raw, at)[0]
                name = raw[at + 4:at + 4 + size].decode("latin-1").lower()
                at += 4 + size
                size = struct.unpack_from(">I", raw, at)[0]
                value = raw[at + 4:at + 4 + size].decode("latin-1")
                at += 4 + size
                headers[name] = value.split("\x00")[0]
        except struct.error:
            raise SpdyError("malformed header block") from None
        return headers

    # -------------------------------------------------------------------- writing
    @staticmethod
    def _control(kind: int, flags: int, body: bytes) -> bytes:
        return struct.pack(">HHI", 0x8003, kind, (flags << 24) | len(body)) + body

    def syn_reply(self, stream_id: int, headers: dict[str, str] | None = None) -> bytes:
        block = struct.pack(">I", len(headers or {})) + b"".join(
            struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v)) + v.encode()
            for k, v in (headers or {}).items())
        compressed = self.deflate.compress(block) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        return self._control(SYN_REPLY, 0, struct.pack(">I", stream_id) + compressed)

    @classmethod
    def rst_stream(cls, stream_id: int, status: int) -> bytes:
        return cls._control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    @classmethod
    def ping(cls, ping_id: int) -> bytes:
        return cls._control(PING, 0, struct.pack(">I", ping_id))

    @classmethod
    def goaway(cls, last_stream: int) -> bytes:
        return cls._control(GOAWAY, 0, struct.pack(">II", last_stream, 0))

    @staticmethod
    def data(stream_id: int, payload: bytes, fin: bool = False) -> bytes:
        return struct.pack(">II", stream_id, ((FLAG_FIN if fin else 0) << 24) | len(payload)) + payload


# ------------------------------------------------------------------------------------- HTTP/1.x requests

class BadRequest(Exception):
    pass


_REQUEST_LINE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) (HTTP/1\.[01])")


class HttpRequestReader:
    """HTTP/1.x requests out of the bytes a client sends: heads, Content-Length or chunked bodies."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[sim.HttpRequest]:
        self.buffer += data
        found = []
        while True:
            request = self._next()
            if request is None:
                return found
            found.append(request)

    def _next(self) -> sim.HttpRequest | None:
        while self.buffer[:2] == b"\r\n":     # stray line ends between requests are skipped (RFC 9112 §2.2)
            del self.buffer[:2]
        end = self.buffer.find(b"\r\n\r\n")
        line_end = 4
        if end < 0:
            end, line_end = self.buffer.find(b"\n\n"), 2
        if end < 0:
            first = self.buffer.split(b"\n", 1)[0]
            if len(self.buffer) > MAX_HEADER_BYTES or (b"\n" in self.buffer and not self._looks_like_request(first)):
                raise BadRequest("bad request line")
            if self.buffer[:1] and not self.buffer[:1].isalpha():
                raise BadRequest("not HTTP")     # a TLS ClientHello, a binary protocol
            return None
        head = bytes(self.buffer[:end]).decode("latin-1")
        lines = [line.rstrip("\r") for line in head.split("\n")]
        matched = _REQUEST_LINE.fullmatch(lines[0])
        if matched is None:
            raise BadRequest("bad request line")
        headers = []
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                raise BadRequest("bad header")
            headers.append((name, value.strip()))
        request = sim.HttpRequest(matched[1], matched[2], matched[3], headers)
        body_start = end + line_end
        if "chunked" in request.header("transfer-encoding").lower():
            size = self._chunked_size(body_start)
            if size is None:
                return None
            del self.buffer[:size]
            return request
        length_text = request.header("content-length") or "0"
        if not length_text.isdigit():
            raise BadRequest("bad Content-Length")
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            raise BadRequest("body too large")
        if len(self.buffer) < body_start + length:
            return None
        del self.buffer[:body_start + length]
        return request

    @staticmethod
    def _looks_like_request(line: bytes) -> bool:
        return _REQUEST_LINE.fullmatch(line.decode("latin-1").rstrip("\r")) is not None

    def _chunked_size(self, at: int) -> int | None:
        """Where a chunked body starting at `at` ends (after its trailer), or None while incomplete."""
        while True:
            line_end = self.buffer.find(b"\r\n", at)
            if line_end < 0:
                return None
            size_text = bytes(self.buffer[at:line_end]).split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadRequest("bad chunk size") from None
            if size > MAX_BODY_BYTES:
                raise BadRequest("body too large")
            at = line_end + 2
            if size == 0:
                trailer_end = self.buffer.find(b"\r\n\r\n", at - 2)
                return None if trailer_end < 0 else trailer_end + 4
            if len(self.buffer) < at + size + 2:
                return None
            at += size + 2


# ----------------------------------------------------------------------------------------- redis-server

def _bulk(value: bytes | None) -> bytes:
    return b"$-1\r\n" if value is None else b"$%d\r\n%s\r\n" % (len(value), value)


def _redis_commands(buffer: bytearray) -> list[list[bytes]]:
    """Complete commands in `buffer` (RESP arrays of bulk strings, or inline lines), consumed from it."""
    commands = []
    while buffer:
        if buffer[:1] == b"*":
            parsed = _resp_array(buffer)
            if parsed is None:
                break
            command, used = parsed
            del buffer[:used]
            commands.append(command)
            continue
        end = buffer.find(b"\n")
        if end < 0:
            break
        line = bytes(buffer[:end]).rstrip(b"\r")
        del buffer[:end + 1]
        if line.strip():
            commands.append(line.split())
    return commands


def _resp_array(buffer: bytearray) -> tuple[list[bytes], int] | None:
    end = buffer.find(b"\r\n")
    if end < 0:
        return None
    try:
        count = int(buffer[1:end])
    except ValueError:
        return [[b"\x00protocol"]], len(buffer)
    at, items = end + 2, []
    for _ in range(max(count, 0)):
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        if buffer[at:at + 1] != b"$":
            return [[b"\x00protocol"]], len(buffer)
        try:
            size = int(buffer[at + 1:line_end])
        except ValueError:
            return [[b"\x00protocol"]], len(buffer)
        start = line_end + 2
        if len(buffer) < start + size + 2:
            return None
        items.append(bytes(buffer[start:start + size]))
        at = start + size + 2
    return items, at


class RedisModel:
    """What redis-server answers a client (RESP2), with the keys this port-forward session set."""

    def __init__(self, version: str) -> None:
        self.version = version or "7.4.6"
        self.keys: dict[bytes, bytes] = {}

    def answer(self, command: list[bytes]) -> tuple[bytes, bool]:
        """(reply, close after it)."""
        if command == [b"\x00protocol"]:
            return b"-ERR Protocol error: invalid multibulk length\r\n", True
        name, args = command[0].decode("latin-1"), command[1:]
        verb = name.upper()
        arity = {"PING": (0, 1), "ECHO": (1, 1), "QUIT": (0, 0), "SELECT": (1, 1), "GET": (1, 1), "SET": (2, 99),
                 "DEL": (1, 999), "EXISTS": (1, 999), "KEYS": (1, 1), "DBSIZE": (0, 0), "INCR": (1, 1),
                 "FLUSHALL": (0, 1), "FLUSHDB": (0, 1), "AUTH": (1, 2), "INFO": (0, 9), "COMMAND": (0, 99),
                 "CLIENT": (1, 99)}.get(verb)
        if arity is None:
            shown = " ".join(f"'{a.decode('latin-1')}'" for a in args[:20])
            return (f"-ERR unknown command '{name}', with args beginning with: {shown}"
                    f"{' ' if shown else ''}\r\n").encode(), False
        if not arity[0] <= len(args) <= arity[1]:
            return f"-ERR wrong number of arguments for '{name.lower()}' command\r\n".encode(), False
        if verb == "PING":
            return (_bulk(args[0]) if args else b"+PONG\r\n"), False
        if verb == "ECHO":
            return _bulk(args[0]), False
        if verb == "QUIT":
            return b"+OK\r\n", True
        if verb == "SELECT":
            index = args[0].decode("latin-1")
            if not index.lstrip("-").isdigit():
                return b"-ERR value is not an integer or out of range\r\n", False
            return (b"+OK\r\n" if 0 <= int(index) < 16 else b"-ERR DB index is out of range\r\n"), False
        if verb == "GET":
            return _bulk(self.keys.get(args[0])), False
        if verb == "SET":
            self.keys[args[0]] = args[1]
            return b"+OK\r\n", False
        if verb in ("DEL", "EXISTS"):
            count = sum(1 for key in args if key in self.keys)
            if verb == "DEL":
                for key in args:
                    self.keys.pop(key, None)
            return b":%d\r\n" % count, False
        if verb == "KEYS":
            import fnmatch
            pattern = args[0].decode("latin-1")
            found = [k for k in self.keys if fnmatch.fnmatchcase(k.decode("latin-1"), pattern)]
            return b"*%d\r\n" % len(found) + b"".join(_bulk(k) for k in found), False
        if verb == "DBSIZE":
            return b":%d\r\n" % len(self.keys), False
        if verb == "INCR":
            value = self.keys.get(args[0], b"0")
            if not value.lstrip(b"-").isdigit():
                return b"-ERR value is not an integer or out of range\r\n", False
            self.keys[args[0]] = str(int(value) + 1).encode()
            return b":" + self.keys[args[0]] + b"\r\n", False
        if verb in ("FLUSHALL", "FLUSHDB"):
            self.keys.clear()
            return b"+OK\r\n", False
        if verb == "AUTH":
            return (b"-ERR AUTH <password> called without any password configured for the default user. "
                    b"Are you sure your configuration is correct?\r\n"), False
        if verb == "INFO":
            text = (f"# Server\r\nredis_version:{self.version}\r\nredis_mode:standalone\r\nos:Linux 6.8.0-45-generic "
                    f"x86_64\r\narch_bits:64\r\ntcp_port:6379\r\n\r\n# Keyspace\r\n"
                    + (f"db0:keys={len(self.keys)},expires=0,avg_ttl=0\r\n" if self.keys else ""))
            return _bulk(text.encode()), False
        if verb == "COMMAND":
            return b"*0\r\n", False      # redis-cli asks for its hints; none
        return b"+OK\r\n", False         # CLIENT SETNAME / SETINFO …


# ------------------------------------------------------------------------------------ the session itself

@dataclass
class Stream:
    id: int
    kind: str                     # "data" | "error"
    port: int
    request: str
    inbox: asyncio.Queue = field(default_factory=asyncio.Queue)   # data from the client; None: its FIN
    closed: bool = False          # our FIN sent (or the stream reset)
    reset: bool = False
    channel: int | None = None    # the channel protocol's channel number (None: a SPDY stream)


@dataclass
class Pair:
    request: str
    port: int
    data: Stream | None = None
    error: Stream | None = None
    started: bool = False
    watcher: asyncio.Task | None = None


class PortForwardConsumer(DirectDispatch, AsyncWebsocketConsumer):
    """One `kubectl port-forward` session: SPDY/3.1 over the WebSocket, a stream pair per connection."""

    async def connect(self) -> None:
        route = self.scope["url_route"]["kwargs"]
        self.namespace, self.pod = route["namespace"], route["name"]
        self.codec = SpdyCodec()
        self.streams: dict[int, Stream] = {}
        self.pairs: dict[str, Pair] = {}
        self.tasks: set[asyncio.Task] = set()
        self.redis_keys: RedisModel | None = None
        self.ended = False
        self.channels = False      # the channel protocol rather than the SPDY tunnel
        offered = self.scope.get("subprotocols") or []
        ports = _query_ports(self.scope)
        protocol = TUNNEL_PROTOCOL if TUNNEL_PROTOCOL in offered else \
            CHANNEL_PROTOCOL if CHANNEL_PROTOCOL in offered and ports else None
        if protocol is None:
            await self.close()   # refused handshake: kubectl retries with plain SPDY and gets the API's answer
            return
        scheme, _, token = _header(self.scope, b"authorization").partition(" ")
        try:
            self.cluster = await database_sync_to_async(authenticate_token)(
                token.strip() if scheme.lower() == "bearer" else "", uuid.UUID(route["cluster_id"]))
            self.target = await database_sync_to_async(sim.forward_target)(
                cluster=self.cluster, namespace=self.namespace, pod=self.pod)
        except (ApiError, ValueError):
            await self.close()
            return
        await self.accept(subprotocol=protocol)
        if protocol == CHANNEL_PROTOCOL:
            self.channels = True
            await self.open_channels(ports)

    async def open_channels(self, ports: list[int]) -> None:
        """The channel protocol (kubelet's websocket.go; the Python client's portforward): one connection per
        port, dialled at once, on channels 2i (data) and 2i+1 (error), each first announcing its port."""
        for index, port in enumerate(ports):
            pair = Pair(str(index), port)
            for kind, channel in (("data", 2 * index), ("error", 2 * index + 1)):
                stream = Stream(channel, kind, port, pair.request, channel=channel)
                setattr(pair, kind, stream)
                self.streams[channel] = stream
                await self.write(bytes([channel]) + struct.pack("<H", port))
            self.pairs[pair.request] = pair
            pair.started = True
        for pair in list(self.pairs.values()):
            self.spawn(self.forward(pair))

    async def disconnect(self, code: int) -> None:
        self.ended = True
        for task in list(getattr(self, "tasks", ())):
            task.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is None or self.ended:
            return   # the tunnel carries binary messages only
        if self.channels:
            stream = self.streams.get(bytes_data[0]) if bytes_data else None
            if stream is not None and stream.kind == "data" and len(bytes_data) > 1:
                stream.inbox.put_nowait(bytes_data[1:])
            return
        try:
            frames = self.codec.feed(bytes_data)
        except SpdyError as error:
            log.info("port-forward session ended: %s", error)
            await self.end()
            return
        for frame in frames:
            await self.on_frame(frame)

    async def end(self) -> None:
        if not self.ended:
            self.ended = True
            for task in list(self.tasks):
                if task is not asyncio.current_task():
                    task.cancel()
            await self.close(code=1000)

    async def write(self, raw: bytes) -> None:
        if not self.ended:
            await self.send(bytes_data=raw)

    def spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # --------------------------------------------------------------------------------- frames
    async def on_frame(self, frame: Frame) -> None:
        if not frame.control:
            stream = self.streams.get(frame.stream_id)
            if stream is not None and stream.kind == "data":
                if frame.data:
                    stream.inbox.put_nowait(frame.data)
                if frame.flags & FLAG_FIN:
                    stream.inbox.put_nowait(None)
            return
        if frame.type == SYN_STREAM:
            await self.new_stream(frame)
        elif frame.type == RST_STREAM:
            stream = self.streams.pop(frame.stream_id, None)
            if stream is not None:
                stream.reset = stream.closed = True
                stream.inbox.put_nowait(None)
        elif frame.type == PING:
            await self.write(SpdyCodec.ping(frame.value))   # the client's pings come back as they went
        # GOAWAY: the client is closing the session; it resets its streams and closes the WebSocket itself.
        # SETTINGS, WINDOW_UPDATE, HEADERS: spdystream has no use for them.

    async def new_stream(self, frame: Frame) -> None:
        """httpStreamReceived: a stream needs a port (1-65535) and a stream type; then it joins its pair."""
        headers = frame.headers
        port_text, kind = headers.get("port", ""), headers.get("streamtype", "")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536 or kind not in ("error", "data"):
            await self.write(SpdyCodec.rst_stream(frame.stream_id, RST_CANCEL))
            return
        request = headers.get("requestid") or str(frame.stream_id if kind == "error" else frame.stream_id - 2)
        stream = Stream(frame.stream_id, kind, int(port_text), request)
        self.streams[stream.id] = stream
        await self.write(self.codec.syn_reply(stream.id))
        if frame.flags & FLAG_FIN:
            stream.inbox.put_nowait(None)
        pair = self.pairs.get(request)
        if pair is None:
            pair = self.pairs[request] = Pair(request, stream.port)
            pair.watcher = self.spawn(self.watch_pair(pair))
        if getattr(pair, kind) is not None:
            if pair.error is not None:
                await self.send_data(pair.error, f"error processing stream for request {request}: {kind} stream "
                                                 "already assigned".encode())
            return
        setattr(pair, kind, stream)
        if pair.data is not None and pair.error is not None and not pair.started:
            pair.started = True
            if pair.watcher is not None:
                pair.watcher.cancel()
            self.spawn(self.forward(pair))

    async def watch_pair(self, pair: Pair) -> None:
        """monitorStreamPair: a request whose other stream never comes is given up after a while."""
        await asyncio.sleep(STREAM_CREATION_TIMEOUT)
        if pair.error is not None:
            await self.send_data(pair.error, f"(conn=&{{{id(self):#x}}}, request={pair.request}) timed out "
                                             "waiting for streams".encode())
        if self.pairs.get(pair.request) is pair:
            self.pairs.pop(pair.request, None)

    async def send_data(self, stream: Stream, payload: bytes) -> None:
        for at in range(0, len(payload), MAX_CHUNK):
            if stream.closed:
                return
            chunk = payload[at:at + MAX_CHUNK]
            await self.write(SpdyCodec.data(stream.id, chunk) if stream.channel is None
                             else bytes([stream.channel]) + chunk)

    async def close_stream(self, stream: Stream | None) -> None:
        if stream is not None and not stream.closed:
            stream.closed = True
            if stream.channel is None:
                await self.write(SpdyCodec.data(stream.id, b"", fin=True))

    # ----------------------------------------------------------------------------- a connection
    async def forward(self, pair: Pair) -> None:
        """One connection from the learner's machine into the pod (the kubelet's portForward)."""
        assert pair.data is not None and pair.error is not None
        try:
            dialed = await database_sync_to_async(sim.dial)(cluster=self.cluster, target=self.target, port=pair.port)
            if dialed.error:
                await self.close_stream(pair.data)      # containerd closes the data stream, then the kubelet
                await self.send_data(pair.error, dialed.error.encode())   # writes why and closes the rest
                return
            serve = {"http": self.serve_http, "redis": self.serve_redis,
                     "memcached": self.serve_memcached}.get(dialed.protocol, self.serve_silently)
            await serve(pair, dialed)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("port-forward connection failed")
        finally:
            if not self.ended:
                await self.close_stream(pair.data)
                await self.close_stream(pair.error)
            if not self.channels:
                for stream in (pair.data, pair.error):
                    self.streams.pop(stream.id, None)
            self.pairs.pop(pair.request, None)
            if self.channels and not self.pairs:
                await self.end()     # the channel protocol: the WebSocket closes when every connection has ended

    async def serve_http(self, pair: Pair, dialed: sim.Dialed) -> None:
        reader = HttpRequestReader()
        data = pair.data
        while not data.closed:
            chunk = await data.inbox.get()
            ending = chunk is None
            try:
                requests = reader.feed(chunk or b"")
            except BadRequest:
                answer = await database_sync_to_async(sim.bad_request)(cluster=self.cluster, server=dialed.server)
                await self.send_data(data, answer.encode())
                return
            for request in requests:
                answer = await database_sync_to_async(sim.http_exchange)(
                    cluster=self.cluster, target=self.target, port=pair.port, server=dialed.server, request=request)
                if answer is None:
                    return          # the program no longer listens: the connection drops
                await self.send_data(data, answer.encode())
                if answer.close:
                    return
            if ending:
                return              # the client is done sending: the server closes after its answers

    async def serve_redis(self, pair: Pair, dialed: sim.Dialed) -> None:
        if self.redis_keys is None:
            self.redis_keys = RedisModel(dialed.server.version)
        model, buffer, data = self.redis_keys, bytearray(), pair.data
        while not data.closed:
            chunk = await data.inbox.get()
            if chunk is None:
                return
            buffer += chunk
            for command in _redis_commands(buffer):
                reply, close = model.answer(command)
                await self.send_data(data, reply)
                if close:
                    return
            if len(buffer) > MAX_BUFFER:
                await self.send_data(data, b"-ERR Protocol error: too big inline request\r\n")
                return

    async def serve_memcached(self, pair: Pair, dialed: sim.Dialed) -> None:
        buffer, data = bytearray(), pair.data
        while not data.closed:
            chunk = await data.inbox.get()
            if chunk is None:
                return
            buffer += chunk
            while (end := buffer.find(b"\n")) >= 0:
                line = bytes(buffer[:end]).strip().split()
                del buffer[:end + 1]
                if not line:
                    continue
                verb = line[0].lower()
                if verb == b"quit":
                    return
                reply = f"VERSION {dialed.server.version or '1.6.39'}\r\n".encode() if verb == b"version" \
                    else b"END\r\n" if verb in (b"get", b"gets") else b"ERROR\r\n"
                await self.send_data(data, reply)
            if len(buffer) > MAX_BUFFER:
                return

    async def serve_silently(self, pair: Pair, dialed: sim.Dialed) -> None:
        """A server the playground does not model byte for byte: it reads what comes and says nothing."""
        while not pair.data.closed and await pair.data.inbox.get() is not None:
            pass


def _query_ports(scope: dict) -> list[int]:
    """PodPortForwardOptions' `ports` (repeated or comma-separated); [] when absent or not ports."""
    ports = []
    for value in parse_qs(scope.get("query_string", b"").decode("latin-1")).get("ports", []):
        for text in value.split(","):
            if not text.strip().isdigit() or not 0 < int(text) < 65536:
                return []
            ports.append(int(text))
    return ports


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""
