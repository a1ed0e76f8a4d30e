"""V1 (``vsn=1.0.0``): each frame a JSON object ``{"topic", "event", "payload", "ref"}``; text only."""

from __future__ import annotations

from sfa.pubsub import Broadcast
from sfa.web.phoenix.message import InvalidMessage, Message, Outgoing, Reply
from sfa.web.phoenix.serializers.json import client_message, dumps, loads

REQUIRED_KEYS = ("topic", "event", "payload", "ref")


class V1JSONSerializer:
    vsn = "1.0.0"

    def decode(self, frame: str | bytes) -> Message:
        if isinstance(frame, bytes):
            raise InvalidMessage("V1 has no binary frames")
        fields = loads(frame)
        if not isinstance(fields, dict):
            raise InvalidMessage("a V1 frame is a JSON object")
        missing = [key for key in REQUIRED_KEYS if key not in fields]
        if missing:
            raise InvalidMessage(f"missing key {', '.join(missing)}")
        return client_message(fields["topic"], fields["event"], fields["payload"], fields["ref"],
                              fields.get("join_ref"))

    def encode(self, message: Outgoing) -> str:
        """The object; ``join_ref`` is never sent, as V1 clients do not know it."""
        match message:
            case Reply(topic=topic, status=status, response=response, ref=ref):
                fields = {"topic": topic, "event": "phx_reply", "ref": ref,
                          "payload": {"status": status, "response": _json(response)}}
            case Message(topic=topic, event=event, payload=payload, ref=ref):
                fields = {"topic": topic, "event": event, "payload": _json(payload), "ref": ref}
            case Broadcast(topic=topic, event=event, payload=payload):
                fields = {"topic": topic, "event": event, "payload": _json(payload), "ref": None}
            case _:
                raise TypeError(f"cannot encode {message!r}: expected a Message, Reply or Broadcast")
        return dumps(fields)


def _json(payload: object) -> object:
    if isinstance(payload, bytes):
        raise TypeError("V1 cannot carry a binary payload; the client must connect with vsn=2.0.0")
    return payload
