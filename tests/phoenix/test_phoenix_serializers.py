"""V1 and V2 frames, byte for byte, both ways; bad frames are InvalidMessage, never a crash."""

from __future__ import annotations

import pytest

from sfa.pubsub import Broadcast
from sfa.web.phoenix.message import InvalidMessage, Message, Reply
from sfa.web.phoenix.serializers import serializer_for
from sfa.web.phoenix.serializers.v1 import V1JSONSerializer
from sfa.web.phoenix.serializers.v2 import V2JSONSerializer

V1 = V1JSONSerializer()
V2 = V2JSONSerializer()


@pytest.mark.parametrize(("vsn", "expected"), [
    (None, V1JSONSerializer), ("1.0.0", V1JSONSerializer), ("1.0.7", V1JSONSerializer),
    ("2.0.0", V2JSONSerializer), ("2.0.3", V2JSONSerializer),
    ("1.1.0", None), ("2.1.0", None), ("3.0.0", None), ("0.9.0", None), ("two", None), ("2.0", None),
])
def test_the_vsn_picks_the_serializer_as_phoenix_requirements_do(vsn, expected):
    serializer = serializer_for(vsn)
    assert serializer is None if expected is None else isinstance(serializer, expected)


def test_v2_decodes_an_array_and_ignores_trailing_elements():
    assert V2.decode('["1","2","room:1","new_msg",{"body":"hi"},"extra"]') == \
        Message("room:1", "new_msg", {"body": "hi"}, "2", "1")
    assert V2.decode('[null,"3","phoenix","heartbeat",{}]') == Message("phoenix", "heartbeat", {}, "3", None)


def test_v2_encodes_replies_pushes_and_broadcasts():
    assert V2.encode(Reply("room:1", "ok", {"a": 1}, "2", "1")) == \
        '["1","2","room:1","phx_reply",{"status":"ok","response":{"a":1}}]'
    assert V2.encode(Message("room:1", "phx_error", {"reason": "channel_crash"}, "1", "1")) == \
        '["1","1","room:1","phx_error",{"reason":"channel_crash"}]'
    assert V2.encode(Broadcast("room:1", "new_msg", {"body": "é"})) == '[null,null,"room:1","new_msg",{"body":"é"}]'


def test_v2_binary_frames_follow_the_phoenix_layouts():
    push = bytes([0, 1, 1, 6, 4]) + b"12room:1echo" + b"\x00\xff"
    assert V2.decode(push) == Message("room:1", "echo", b"\x00\xff", "2", "1")
    assert V2.encode(Reply("room:1", "ok", b"\x00\xff", "2", "1")) == bytes([1, 1, 1, 6, 2]) + b"12room:1ok\x00\xff"
    assert V2.encode(Message("room:1", "blob", b"\x01", None, "1")) == bytes([0, 1, 6, 4]) + b"1room:1blob\x01"
    assert V2.encode(Broadcast("room:1", "blob", b"\x01")) == bytes([2, 6, 4]) + b"room:1blob\x01"


def test_v2_binary_fields_longer_than_255_bytes_cannot_be_encoded():
    with pytest.raises(ValueError, match="255"):
        V2.encode(Broadcast("t" * 256, "blob", b""))


def test_v1_decodes_an_object_with_optional_join_ref_and_never_sends_join_ref():
    assert V1.decode('{"topic":"room:1","event":"e","payload":{},"ref":"2"}') == Message("room:1", "e", {}, "2")
    assert V1.decode('{"topic":"room:1","event":"e","payload":{},"ref":"2","join_ref":"1"}').join_ref == "1"
    assert V1.encode(Reply("room:1", "error", {"reason": "x"}, "2", "1")) == \
        '{"topic":"room:1","event":"phx_reply","ref":"2","payload":{"status":"error","response":{"reason":"x"}}}'
    assert V1.encode(Message("room:1", "phx_close", {}, "1", "1")) == \
        '{"topic":"room:1","event":"phx_close","payload":{},"ref":"1"}'
    assert V1.encode(Broadcast("room:1", "e", {"n": 1})) == \
        '{"topic":"room:1","event":"e","payload":{"n":1},"ref":null}'


def test_v1_cannot_carry_binary_payloads():
    with pytest.raises(TypeError, match=r"vsn=2\.0\.0"):
        V1.encode(Reply("room:1", "ok", b"\x00", "2"))


@pytest.mark.parametrize(("serializer", "frame", "problem"), [
    (V1, '{"topic":"t","event":"e","payload":{}}', "missing key ref"),
    (V1, '["1","2","t","e",{}]', "JSON object"),
    (V1, b"\x00", "no binary"),
    (V1, '{"topic":"t","event":"e","payload":[],"ref":"1"}', "payload must be a JSON object"),
    (V2, "not json", "malformed JSON"),
    (V2, '["1","2","t","e"]', "JSON array"),
    (V2, '["1","2","t","e",[1]]', "payload must be a JSON object"),
    (V2, '["1","2",7,"e",{}]', "topic must be a string"),
    (V2, bytes([2, 1, 1]) + b"te", "kind 0"),
    (V2, bytes([0, 9, 1, 1, 1]) + b"12", "shorter than its header"),
    (V2, bytes([0, 0, 0, 1, 1]) + b"\xff\xfe", "UTF-8"),
    (V2, "[" * 3000, "nested deeper than 64"),
    (V2, '["1","2","t","e",' + '{"a":' * 70 + "1" + "}" * 70 + "]", "nested deeper than 64"),
    (V1, '{"topic":"t","event":"e","ref":"1","payload":' + "[" * 70 + "]" * 70 + "}", "nested deeper than 64"),
    (V2, '[1,2,{},"x",[]]', "topic must be a string, not dict"),
    (V2, '["1",2,"t","e",{}]', "ref must be a string, not int"),
    (V2, '[["1"],"2","t","e",{}]', "join_ref must be a string, not list"),
    (V2, '["1","2","t",false,{}]', "event must be a string, not bool"),
    (V1, '{"topic":"t","event":"e","payload":{},"ref":{"r":1}}', "ref must be a string, not dict"),
    (V1, '{"topic":"t","event":"e","payload":{},"ref":"1","join_ref":3.5}', "join_ref must be a string"),
    (V2, '["1","2","' + "t" * 256 + '","e",{}]', "topic is longer than 255 bytes"),
    (V2, '["1","2","t","' + "é" * 128 + '",{}]', "event is longer than 255 bytes"),
    (V2, '["1","2","t","e",{"n":NaN}]', "NaN is not JSON"),
    (V2, '["1","2","t","e",{"n":-Infinity}]', "-Infinity is not JSON"),
    (V2, '["1","2","t","e",{"n":1e400}]', "too large for a JSON number"),
    (V2, '["1","2","t","e",{"n":' + "9" * 5000 + "}]", "malformed JSON"),
    (V2, '["1","2","t","e",{"s":"\\ud800"}]', "lone UTF-16 surrogate"),
    (V1, '{"topic":"t","event":"e","payload":{"\\uDFFF":1},"ref":"1"}', "lone UTF-16 surrogate"),
])
def test_bad_frames_are_invalid_messages(serializer, frame, problem):
    with pytest.raises(InvalidMessage, match=problem):
        serializer.decode(frame)


def test_what_is_legal_stays_legal_at_the_limits():
    payload = '{"a":' * 62 + "[]" + "}" * 62  # with the frame's array: 64 levels
    assert V2.decode(f'["1","2","t","e",{payload}]').topic == "t"
    brackets_in_a_string = "[" * 100
    assert V2.decode(f'["1","2","{"t" * 255}","e",{{"s":"\\ud83d\\ude00{brackets_in_a_string}"}}]').payload == \
        {"s": "😀" + brackets_in_a_string}
    assert V1.decode('{"topic":"t","event":"e","payload":{"n":1.5e300},"ref":null}').ref is None
