"""The registry's fastlane, on its own: frames made once per encoder per dispatch, intercepted events and
frames an encoder cannot make handed to the subscriber itself."""

from __future__ import annotations

from sfa.pubsub import Broadcast, Fastlane
from sfa.pubsub.registry import Registry


class Upper:
    def __init__(self) -> None:
        self.calls = 0

    def encode(self, message: Broadcast) -> str:
        self.calls += 1
        if isinstance(message.payload, bytes):
            raise TypeError("no binary here")
        return f"{message.event}:{message.payload}".upper()


def test_one_frame_per_encoder_for_every_fastlane_subscriber():
    registry, upper, other = Registry(), Upper(), Upper()
    written: list[tuple[str, str]] = []
    heard: list[Broadcast] = []
    for name, encoder in (("a", upper), ("b", upper), ("c", other)):
        registry.subscribe("t", heard.append, Fastlane(encoder, lambda frame, name=name: written.append((name, frame))))
    registry.subscribe("t", heard.append)

    registry.dispatch(Broadcast("t", "e", "x"))

    assert written == [("a", "E:X"), ("b", "E:X"), ("c", "E:X")]
    assert written[0][1] is written[1][1]
    assert (upper.calls, other.calls) == (1, 1)
    assert heard == [Broadcast("t", "e", "x")]


def test_intercepted_and_unencodable_broadcasts_go_to_the_subscriber():
    registry, upper = Registry(), Upper()
    written: list[str] = []
    heard: list[Broadcast] = []
    registry.subscribe("t", heard.append, Fastlane(upper, written.append, frozenset({"mine"})))
    registry.subscribe("t", heard.append, Fastlane(upper, written.append, frozenset({"mine"})))

    registry.dispatch(Broadcast("t", "mine", "x"))
    registry.dispatch(Broadcast("t", "blob", b"\x00"))

    assert written == []
    assert heard == [Broadcast("t", "mine", "x")] * 2 + [Broadcast("t", "blob", b"\x00")] * 2
    assert upper.calls == 1
