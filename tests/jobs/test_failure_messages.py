"""A job's error history is shown to its owner: an unexpected exception reads there without server paths."""

import pytest

from sfa.actors.performers import failure_message


@pytest.mark.parametrize(("exc", "message"), [
    (FileNotFoundError(2, "No such file or directory", "/srv/sfa/var/data/tracks/3/original.wav"),
     "FileNotFoundError: [Errno 2] No such file or directory: 'original.wav'"),
    (RuntimeError("Error opening '/srv/sfa/var/data/tmp/ab12.part': Format not recognised."),
     "RuntimeError: Error opening 'ab12.part': Format not recognised."),
    (ValueError("fetching http://example.com/a/b.wav into /tmp/x/y.part failed"),
     "ValueError: fetching http://example.com/a/b.wav into y.part failed"),
    (KeyError("model"), "KeyError: 'model'"),
    (ZeroDivisionError("1/2 of a ratio"), "ZeroDivisionError: 1/2 of a ratio"),
])
def test_paths_are_cut_to_their_last_part(exc, message):
    assert failure_message(exc) == message
