"""V2 (``vsn=2.0.0``): text frames are ``[join_ref, ref, topic, event, payload]``; binary payloads travel in
binary frames whose header gives each field's length in one byte (so each field is at most 255 bytes).

Binary layouts (sizes are ``uint8``; the payload is the rest of the frame):

- push, client to server, kind 0: ``[0][jr][ref][topic][event] join_ref ref topic event data``
- push, server to client, kind 0: ``[0][jr][topic][event] join_ref topic event data`` (no ref)
- reply, kind 1: ``[1][jr][ref][topic][status] join_ref ref topic status data``
- broadcast, kind 2: ``[2][topic][event] topic event data``
"""

from __future__ import annotations

from sfa.pubsub import Broadcast
from sfa.web.phoenix.message import MAX_FIELD_BYTES, InvalidMessage, Message, Outgoing, Reply
from sfa.web.phoenix.serializers.json import client_message, dumps, loads

PUSH, REPLY, BROADCAST = 0, 1, 2


class V2JSONSerializer:
    vsn = "2.0.0"

    def decode(self, frame: str | bytes) -> Message:
        if isinstance(frame, bytes):
            return _decode_binary(frame)
        fields = loads(frame)
        # Phoenix reads the first five elements and ignores any that follow.
        if not isinstance(fields, list) or len(fields) < 5:
            raise InvalidMessage("a V2 frame is a JSON array [join_ref, ref, topic, event, payload]")
        join_ref, ref, topic, event, payload = fields[:5]
        return client_message(topic, event, payload, ref, join_ref)

    def encode(self, message: Outgoing) -> str | bytes:
        match message:
            case Reply(topic=topic, status=status, response=bytes() as data, ref=ref, join_ref=join_ref):
                return _binary(REPLY, (join_ref, ref, topic, status), data)
            case Reply(topic=topic, status=status, response=response, ref=ref, join_ref=join_ref):
                return dumps([join_ref, ref, topic, "phx_reply", {"status": status, "response": response}])
            case Message(topic=topic, event=event, payload=bytes() as data, join_ref=join_ref):
                return _binary(PUSH, (join_ref, topic, event), data)
            case Message(topic=topic, event=event, payload=payload, ref=ref, join_ref=join_ref):
                return dumps([join_ref, ref, topic, event, payload])
            case Broadcast(topic=topic, event=event, payload=bytes() as data):
                return _binary(BROADCAST, (topic, event), data)
            case Broadcast(topic=topic, event=event, payload=payload):
                return dumps([None, None, topic, event, payload])
        raise TypeError(f"cannot encode {message!r}: expected a Message, Reply or Broadcast")


def _binary(kind: int, fields: tuple[str | None, ...], data: bytes) -> bytes:
    encoded = [("" if value is None else str(value)).encode() for value in fields]
    for value, name in zip(encoded, fields, strict=True):
        if len(value) > MAX_FIELD_BYTES:
            raise ValueError(f"unable to encode {name!r} in a binary frame: longer than {MAX_FIELD_BYTES} bytes")
    return bytes([kind, *map(len, encoded)]) + b"".join(encoded) + data


def _decode_binary(frame: bytes) -> Message:
    if len(frame) < 5 or frame[0] != PUSH:
        raise InvalidMessage("a binary frame from a client is a push: kind 0 and four field sizes")
    sizes = frame[1:5]
    offset = 5
    fields = []
    for size in sizes:
        chunk = frame[offset:offset + size]
        if len(chunk) != size:
            raise InvalidMessage("the binary frame is shorter than its header says")
        try:
            fields.append(chunk.decode())
        except UnicodeDecodeError:
            raise InvalidMessage("a binary frame's fields must be UTF-8") from None
        offset += size
    join_ref, ref, topic, event = fields
    return Message(topic, event, frame[offset:], ref or None, join_ref or None)
