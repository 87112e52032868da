"""A minimal AMQP 0-9-1 client in the standard library, for bench/chaos.py: publish with publisher confirms (and any
property, including values other clients refuse to send, such as a header with an empty name) and read a queue's
depth with a passive declare. Plain amqp:// only; one channel; no consuming."""
import socket
import struct
import urllib.parse

FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT = 1, 2, 3, 8
FRAME_END = b"\xce"


class AMQPError(Exception):
    pass


def shortstr(text):
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("B", len(data)) + data


def longstr(data):
    data = data.encode() if isinstance(data, str) else data
    return struct.pack(">I", len(data)) + data


def table(fields):
    """fields: (name, value) pairs; str values become long strings, ints signed 64-bit, dicts nested tables."""
    encoded = b""
    for name, value in fields:
        encoded += shortstr(name)
        if isinstance(value, bool):
            encoded += b"t" + struct.pack("B", value)
        elif isinstance(value, int):
            encoded += b"l" + struct.pack(">q", value)
        elif isinstance(value, dict):
            encoded += b"F" + table(value.items())
        else:
            encoded += b"S" + longstr(value)
    return struct.pack(">I", len(encoded)) + encoded


class Connection:
    def __init__(self, url, timeout=10):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "amqp":
            raise AMQPError(f"only amqp:// URLs are supported here (got {parts.scheme}://)")
        self.sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), timeout=timeout)
        self.buffer = b""
        self.next_tag = 1
        self.returned = 0
        user = urllib.parse.unquote(parts.username or "guest")
        password = urllib.parse.unquote(parts.password or "guest")
        vhost = urllib.parse.unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        self.sock.sendall(b"AMQP\x00\x00\x09\x01")
        self.expect(10, 10)  # connection.start
        self.method(0, 10, 11, table([("product", "miner-index chaos")]) + shortstr("PLAIN")
                    + longstr(b"\x00" + user.encode() + b"\x00" + password.encode()) + shortstr("en_US"))
        tune = self.expect(10, 30)
        channel_max, frame_max, _ = struct.unpack(">HIH", tune[:8])
        self.frame_max = frame_max or 131072
        self.method(0, 10, 31, struct.pack(">HIH", channel_max, self.frame_max, 0))  # no heartbeats: short-lived
        self.method(0, 10, 40, shortstr(vhost) + shortstr("") + b"\x00")
        self.expect(10, 41)
        self.method(1, 20, 10, shortstr(""))
        self.expect(20, 11)
        self.confirming = False

    def close(self):
        try:
            self.method(0, 10, 50, struct.pack(">H", 200) + shortstr("bye") + struct.pack(">HH", 0, 0))
            self.expect(10, 51)
        except (OSError, AMQPError):
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def frame(self, kind, channel, payload):
        self.sock.sendall(struct.pack(">BHI", kind, channel, len(payload)) + payload + FRAME_END)

    def method(self, channel, class_id, method_id, arguments=b""):
        self.frame(FRAME_METHOD, channel, struct.pack(">HH", class_id, method_id) + arguments)

    def read_frame(self):
        while True:
            while len(self.buffer) < 7 or len(self.buffer) < 8 + struct.unpack(">I", self.buffer[3:7])[0]:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise AMQPError("the broker closed the connection")
                self.buffer += chunk
            kind, channel, size = struct.unpack(">BHI", self.buffer[:7])
            payload, self.buffer = self.buffer[7:7 + size], self.buffer[8 + size:]
            if kind != FRAME_HEARTBEAT:
                return kind, channel, payload

    def expect(self, class_id, method_id):
        """The next method frame, which must be class_id.method_id; a close from the broker is raised."""
        while True:
            kind, _, payload = self.read_frame()
            if kind != FRAME_METHOD:
                continue
            got = struct.unpack(">HH", payload[:4])
            if got in ((10, 50), (20, 40)):
                code = struct.unpack(">H", payload[4:6])[0]
                text = payload[7:7 + payload[6]].decode(errors="replace")
                raise AMQPError(f"broker closed the {'connection' if got[0] == 10 else 'channel'}: {code} {text}")
            if got == (class_id, method_id):
                return payload[4:]
            if got == (60, 50):  # basic.return of a mandatory publish: its ack follows
                self.returned += 1
                continue
            raise AMQPError(f"expected method {class_id}.{method_id}, got {got[0]}.{got[1]}")

    def queue_depth(self, queue):
        """Ready messages and consumers of an existing queue (passive declare)."""
        self.method(1, 50, 10, struct.pack(">H", 0) + shortstr(queue) + b"\x01" + table([]))
        reply = self.expect(50, 11)
        name_length = reply[0]
        return struct.unpack(">II", reply[1 + name_length:9 + name_length])

    def delete_queue(self, queue):
        self.method(1, 50, 40, struct.pack(">H", 0) + shortstr(queue) + b"\x00")
        return struct.unpack(">I", self.expect(50, 41)[:4])[0]

    def delete_exchange(self, exchange):
        self.method(1, 40, 20, struct.pack(">H", 0) + shortstr(exchange) + b"\x00")
        self.expect(40, 21)

    def publish_confirmed(self, exchange, routing_key, body, timestamp=None, headers=None, persistent=True,
                          message_id=None, content_type="application/json"):
        """Publishes one message (mandatory) and waits for its confirm. Returns False if no queue took it."""
        if not self.confirming:
            self.method(1, 85, 10, b"\x00")
            self.expect(85, 11)
            self.confirming = True
        self.returned = 0
        body = body.encode() if isinstance(body, str) else body
        self.method(1, 60, 40, struct.pack(">H", 0) + shortstr(exchange) + shortstr(routing_key) + b"\x01")
        flags, properties = 0, b""
        # Property flags, high bit first: content-type, content-encoding, headers, delivery-mode, priority,
        # correlation-id, reply-to, expiration, message-id, timestamp, ...
        if content_type is not None:
            flags |= 1 << 15
            properties += shortstr(content_type)
        if headers is not None:
            flags |= 1 << 13
            properties += table(headers)
        flags |= 1 << 12
        properties += struct.pack("B", 2 if persistent else 1)
        if message_id is not None:
            flags |= 1 << 7
            properties += shortstr(message_id)
        if timestamp is not None:
            flags |= 1 << 6
            properties += struct.pack(">Q", timestamp)
        self.frame(FRAME_HEADER, 1, struct.pack(">HHQH", 60, 0, len(body), flags) + properties)
        for start in range(0, len(body), self.frame_max - 8):
            self.frame(FRAME_BODY, 1, body[start:start + self.frame_max - 8])
        tag = self.next_tag
        self.next_tag += 1
        while True:
            kind, _, payload = self.read_frame()
            if kind != FRAME_METHOD:
                continue
            got = struct.unpack(">HH", payload[:4])
            if got == (60, 50):
                self.returned += 1
            elif got == (60, 80):
                acked = struct.unpack(">Q", payload[4:12])[0]
                if acked >= tag:
                    return self.returned == 0
            elif got == (60, 120):
                raise AMQPError("the broker nacked the message")
            elif got in ((10, 50), (20, 40)):
                code = struct.unpack(">H", payload[4:6])[0]
                raise AMQPError(f"broker closed: {code} {payload[7:7 + payload[6]].decode(errors='replace')}")
