"""No credential reaches a log: a real `run.py` server at debug level used with every kind of credential, then
its whole output searched for each secret. The filter itself is checked on the formats it must catch."""

import asyncio
import io
import logging
import re
import signal
import socket
import sys

import aiohttp
import pytest

from sfa.log import FORMAT, SecretFilteringFormatter, TurnHandler, filter_secrets
from tests.conftest import free_port
from tests.pages import meta
from tests.processes import launch, read_until

ADMIN_PASSWORD = "admin password that must stay secret"
SECRET_KEY = "server-secret-key-that-must-never-be-logged-0123456789"


async def use_every_credential(base: str) -> dict[str, str]:
    """Register, log in, make an API key, and use each credential on each surface; the secrets used."""
    used = {"password": "a long password for the log test", "wrong password": "a wrong password for the log"}
    async with aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        used["csrf"] = meta(await (await browser.get("/users/register")).text(), "csrf-token")
        await browser.post("/users/register", data={"_csrf_token": used["csrf"], "user[email]": "logs@example.com",
                                                    "user[password]": used["password"]})
        used["cookie"] = next(c.value for c in browser.cookie_jar if c.key == "_sfa_session")
        home = await (await browser.get("/")).text()
        used["socket token"] = meta(home, "socket-token")
        used["csrf"] = meta(home, "csrf-token")
        settings = await browser.post("/users/settings/api-keys", headers={"X-CSRF-Token": used["csrf"]},
                                      data={"_csrf_token": used["csrf"], "name": "logs"})
        used["api token"] = re.search(r'<code id="new-api-key">([^<]+)</code>', await settings.text())[1]
        await browser.post("/users/log_in", data={"_csrf_token": used["csrf"], "user[email]": "logs@example.com",
                                                  "user[password]": used["wrong password"]})

    bearer = {"Authorization": f"Bearer {used['api token']}"}
    used["revoked-looking token"] = "sfa_" + "x" * 40
    async with aiohttp.ClientSession(base) as client:
        await client.get("/api/tracks", headers=bearer)
        await client.get(f"/api/tracks?token={used['api token']}&password={used['password']}")
        await client.get("/api/tracks", headers={"Authorization": f"Bearer {used['revoked-looking token']}"})
        for token in (used["api token"], used["socket token"]):
            async with client.ws_connect(f"/socket/websocket?token={token}&vsn=2.0.0") as ws:
                await ws.send_str('[null,"1","phoenix","heartbeat",{}]')
                await ws.receive(timeout=5)
        async with client.get(f"/socket/longpoll?token={used['socket token']}&vsn=2.0.0") as response:
            used["long-poll connection"] = (await response.json())["token"]
        async with client.get(f"/socket/longpoll?token={used['long-poll connection']}&vsn=2.0.0") as response:
            await response.read()
        await client.get("/auth/spotify/callback?code=oauth-code-0123456789&state=oauth-state-0123456789")
        used["oauth code"], used["oauth state"] = "oauth-code-0123456789", "oauth-state-0123456789"
    return used


def send_a_broken_request(port: int, token: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET /health?token={token} HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n".encode())
        sock.recv(4096)


def test_a_debug_log_of_every_credential_kind_holds_none_of_them(tmp_path):
    port = free_port()
    proc = launch(tmp_path, SFA_PORT=str(port), SFA_LOG_LEVEL="debug",
                  SFA_ADMIN_PASSWORD=ADMIN_PASSWORD, SFA_SECRET_KEY=SECRET_KEY)
    try:
        read_until(proc, "login: ")
        used = asyncio.run(use_every_credential(f"http://127.0.0.1:{port}"))
        send_a_broken_request(port, used["api token"])
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()

    assert 'GET /socket/websocket?token=[FILTERED]&vsn=2.0.0 HTTP/1.1" 101' in output
    assert "GET /api/tracks?token=[FILTERED]&password=[FILTERED] HTTP/1.1" in output
    assert "GET /auth/spotify/callback?code=[FILTERED]&state=[FILTERED]" in output
    [sent] = re.findall(r'"GET /api/tracks HTTP/1.1" 200 (\d+) ', output)
    assert int(sent) > 0
    leaked = {kind: secret for kind, secret in {**used, "admin password": ADMIN_PASSWORD,
                                                "secret key": SECRET_KEY}.items() if secret in output}
    assert leaked == {}


@pytest.mark.parametrize(("line", "filtered"), [
    ('"GET /socket/websocket?vsn=2.0.0&token=sfa_AbCdEfGhIjKlMnOpQrStUvWxYz012345 HTTP/1.1"',
     '"GET /socket/websocket?vsn=2.0.0&token=[FILTERED] HTTP/1.1"'),
    ("user[email]=a@example.com&user[password]=hunter2 hunter2",
     "user[email]=a@example.com&user[password]=[FILTERED] hunter2"),
    ("headers: {'Authorization': 'Bearer abc.def', 'Cookie': '_sfa_session=Zm9v'}",
     "headers: {'Authorization': '[FILTERED] [FILTERED]', 'Cookie': '[FILTERED]'}"),
    ('{"password": "s3cret", "name": "x"}', '{"password": "[FILTERED]", "name": "x"}'),
    ("connect to postgresql://sfa:pa55word@db.internal:5432/sfa", "connect to postgresql://sfa:[FILTERED]@db.internal:5432/sfa"),
    ("socket token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl refused", "socket token [FILTERED] refused"),
    ("stray sfa_AbCdEfGhIjKlMnOpQrStUvWxYz012345 in a message", "stray sfa_[FILTERED] in a message"),
    ("X-CSRF-Token: Zm9vYmFy", "X-CSRF-Token: [FILTERED]"),
    ("llm said: invalid key sk-ant-api03-AbCdEfGhIjKlMnOp_qr-st", "llm said: invalid key sk-[FILTERED]"),
    ("/auth/spotify/callback?state=s&code=c", "/auth/spotify/callback?state=[FILTERED]&code=[FILTERED]"),
    ("key=A minor, connection 12 closed, code 1007", "key=A minor, connection 12 closed, code 1007"),
])
def test_the_filter_replaces_each_credential_format(line, filtered):
    assert filter_secrets(line) == filtered


@pytest.mark.parametrize("line", [
    "TOKEN=abc BEARER xyz SFA_AbCdEfGhIjKlMnOpQrStUvWxYz012345 Sk-AbCdEfGhIjKlMnOpQr EYJa.b.c",
    "\u017fession=abc and \u212aey=1 passwörd=x token=y",
    "sess\u0130on=abc Bearer\u00a0xyz",
    '127.0.0.1 "GET /api/tracks?page=2 HTTP/1.1" 200 5123 0.001234s',
])
def test_skipping_patterns_a_line_cannot_match_filters_as_running_them_all(line):
    from sfa.log import _CREDENTIALS, _NAMED_VALUE, FILTERED

    expected = line
    for _, pattern, replacement in _CREDENTIALS:
        expected = pattern.sub(replacement, expected)
    assert filter_secrets(line) == _NAMED_VALUE.sub(rf"\1{FILTERED}", expected)


@pytest.mark.parametrize("message, args", [
    ('%s "%s %s HTTP/%d.%d" %d %d %.6fs', ("127.0.0.1", "GET", "/api/tracks?token=sfa_abcdefghijklmnopqrst", 1, 1,
                                           200, 7000, 0.0012)),
    ("plain words, no arguments", ()),
    ("ünïcödé %s", ("Authorization: Bearer abc.def",)),
    ("a mapping %(x)s", ({"x": "secret=hunter2"},)),
])
def test_the_usual_record_is_written_as_format_and_the_filter_would_write_it(message, args):
    """The formatter's quick path for records without traceback: the same line as logging's own formatting
    of FORMAT, filtered, for records in one second and the next."""
    quick, plain = SecretFilteringFormatter(FORMAT), logging.Formatter(FORMAT)
    for created in (1_700_000_000.0015, 1_700_000_000.9999, 1_700_000_001.25):
        record = logging.getLogRecordFactory()("aiohttp.access", logging.INFO, __file__, 1, message, args, None)
        record.created, record.msecs = created, (created - int(created)) * 1000
        assert quick.format(record) == filter_secrets(plain.format(record))


def test_a_record_with_a_traceback_goes_the_long_way():
    formatter = SecretFilteringFormatter(FORMAT)
    try:
        raise ValueError("password=hunter2")
    except ValueError:
        record = logging.getLogRecordFactory()("sfa", logging.ERROR, __file__, 1, "failed %s", ("token=abc",),
                                               sys.exc_info())
    line = formatter.format(record)
    assert "Traceback" in line and "hunter2" not in line and "abc" not in line


class CountedWrites(io.StringIO):
    """A text stream that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def turn_logger(stream: io.StringIO) -> tuple[logging.Logger, TurnHandler]:
    handler = TurnHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.Logger("turns")
    logger.addHandler(handler)
    return logger, handler


async def test_the_lines_of_one_turn_of_the_loop_are_written_in_one_write_when_it_ends():
    stream = CountedWrites()
    logger, _ = turn_logger(stream)
    for n in range(5):
        logger.warning("line %d", n)
    assert stream.getvalue() == ""
    await asyncio.sleep(0)
    assert (stream.getvalue(), stream.writes) == ("line 0\nline 1\nline 2\nline 3\nline 4\n", 1)

    logger.warning("waiting")
    await asyncio.to_thread(logger.warning, "from a thread")
    assert stream.getvalue().endswith("line 4\nwaiting\nfrom a thread\n")


def test_lines_outlive_a_loop_that_closed_before_writing_them_and_flush_writes_what_waits():
    stream = CountedWrites()
    logger, handler = turn_logger(stream)

    async def log(message: str) -> None:
        logger.warning(message)

    first = asyncio.new_event_loop()
    first.run_until_complete(log("first"))
    first.close()
    assert stream.getvalue() == "first\n"  # the loop ran its last callbacks before it stopped

    async def log_and_stop(message: str) -> None:
        logger.warning(message)
        raise SystemExit

    second = asyncio.new_event_loop()
    with pytest.raises(SystemExit):
        second.run_until_complete(log_and_stop("second"))
    second.close()
    asyncio.run(log("third"))
    assert stream.getvalue() == "first\nsecond\nthird\n"

    logger.warning("no loop")
    assert stream.getvalue().endswith("third\nno loop\n")

    async def log_and_flush() -> str:
        logger.warning("flushed")
        handler.flush()
        return stream.getvalue()

    assert asyncio.run(log_and_flush()).endswith("no loop\nflushed\n")
