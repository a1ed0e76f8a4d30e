"""Templates split into statics and dynamics, escape what they interpolate, and re-evaluate only the holes
over changed assigns; the diff between two renders holds only what changed, in LiveView's wire form."""

from __future__ import annotations

import pytest

from sfa.web.live.diff import diff
from sfa.web.live.template import Safe, Template, TemplateError

COUNTER = Template("<p>{count}</p><b>{label}</b>")
LIST = Template("<ul>{% for item in items %}<li class=\"{item['kind']}\">{item['name']}</li>{% end %}</ul>"
                "{% if flag %}<i>{flag}</i>{% else %}none{% end %}")


def test_the_protocol_documents_example():
    first = COUNTER.render({"count": 0, "label": "Add"})
    assert first.to_json() == {"0": "0", "1": "Add", "s": ["<p>", "</p><b>", "</b>"]}
    second = COUNTER.render({"count": 1, "label": "Add"}, changed={"count"}, previous=first)
    assert diff(first, second) == {"0": "1"}
    assert diff(second, COUNTER.render({"count": 1, "label": "Add"}, changed=set(), previous=second)) == {}


def test_values_are_escaped_unless_safe_and_none_is_empty():
    rendered = COUNTER.render({"count": None, "label": "<b>&\"'"})
    assert rendered.to_html() == "<p></p><b>&lt;b&gt;&amp;&quot;&#x27;</b>"
    assert COUNTER.render({"count": Safe("<em>1</em>"), "label": ""}).to_html() == "<p><em>1</em></p><b></b>"


def test_unchanged_holes_are_not_evaluated_again():
    calls = []
    template = Template("{seen(a)}{b}", helpers={"seen": lambda value: calls.append(value) or value})
    first = template.render({"a": 1, "b": 2})
    template.render({"a": 1, "b": 3}, changed={"b"}, previous=first)
    assert calls == [1]


def test_comprehensions_are_keyed_and_diff_by_entry_with_the_count():
    items = [{"kind": "a", "name": "x"}, {"kind": "b", "name": "y"}]
    first = LIST.render({"items": items, "flag": ""})
    assert first.to_json()["0"] == {"s": ['<li class="', '">', "</li>"],
                                    "k": {"0": {"0": "a", "1": "x"}, "1": {"0": "b", "1": "y"}, "kc": 2}}
    grown = LIST.render({"items": [*items[:1], {"kind": "b", "name": "z"}, {"kind": "c", "name": "w"}], "flag": ""})
    assert diff(first, grown) == {"0": {"k": {"1": {"1": "z"}, "2": {"0": "c", "1": "w"}, "kc": 3}}}
    shrunk = LIST.render({"items": items[:1], "flag": ""})
    assert diff(first, shrunk) == {"0": {"k": {"kc": 1}}}


def test_another_branch_is_sent_whole_with_its_statics():
    first = LIST.render({"items": [], "flag": ""})
    second = LIST.render({"items": [], "flag": "on"})
    assert diff(first, second) == {"1": {"0": "on", "s": ["<i>", "</i>"]}}
    assert diff(second, LIST.render({"items": [], "flag": "off"})) == {"1": {"0": "off"}}


@pytest.mark.parametrize("source", ["{% if x %}open", "{% for %}{% end %}", "{1 +}", "{% while x %}{% end %}"])
def test_a_broken_template_is_refused_when_parsed(source):
    with pytest.raises(TemplateError):
        Template(source)


def test_decode_form_nests_like_plug():
    from sfa.web.live.params import decode_form

    assert decode_form("user%5Bemail%5D=a&user%5B_unused_name%5D=&tags%5B%5D=x&tags%5B%5D=y&q=1") == {
        "user": {"email": "a", "_unused_name": ""}, "tags": ["x", "y"], "q": "1"}


def test_trees_inside_a_comprehension_send_their_statics_once():
    rows = Template("{% for n in ns %}<li>{% if n %}<b>{n}</b>{% end %}"
                    "{% for c in 'ab' %}<i>{c}</i>{% end %}</li>{% end %}")
    tree = rows.render({"ns": [1, 2]}).to_json()["0"]
    assert tree["p"] == {"0": ["<b>", "</b>"], "1": ["<i>", "</i>"]}
    assert tree["k"]["0"] == {"0": {"0": "1", "s": 0}, "1": {"s": 1, "k": {"0": {"0": "a"}, "1": {"0": "b"}, "kc": 2}}}
    assert tree["k"]["1"]["0"]["s"] == 0
