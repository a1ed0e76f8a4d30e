"""Operators without a browser: the first super_admin, `create-user` and `create-token`, beside a running server."""

import asyncio
import re

import aiohttp
import pytest

from tests.conftest import free_port
from tests.pages import meta
from tests.processes import launch, read_until, run_command


async def get_status(url: str, token: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(
            url, headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status


async def log_in_status(base: str, email: str, password: str) -> int:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        page = await (await session.get(f"{base}/users/log_in")).text()
        csrf = meta(page, "csrf-token")
        form = {"_csrf_token": csrf, "user[email]": email, "user[password]": password}
        async with session.post(f"{base}/users/log_in", data=form, allow_redirects=False) as response:
            return response.status


@pytest.fixture
def running_server(tmp_path):
    port = free_port()
    proc = launch(tmp_path, SFA_PORT=str(port))
    lines = read_until(proc, "login: ")
    yield f"http://127.0.0.1:{port}", lines
    proc.terminate()
    assert proc.wait(timeout=30) == 0, proc.stdout.read()


def test_first_start_creates_a_super_admin_once_and_says_how_to_log_in(tmp_path, running_server):
    base, lines = running_server
    [admin_line] = [line for line in lines if line.startswith("admin: ")]
    password = re.fullmatch(r"admin: created super_admin admin@localhost with password (\S+) .*", admin_line)[1]

    assert lines[-1].startswith(f"login: {base}/users/log_in; API keys: {base}/users/settings or ")
    assert "python3 run.py create-token EMAIL" in lines[-1]
    assert asyncio.run(log_in_status(base, "admin@localhost", password)) == 302
    assert asyncio.run(log_in_status(base, "admin@localhost", "wrong password!")) == 401


def test_users_and_tokens_from_the_shell_work_against_the_running_server(tmp_path, running_server):
    base, _ = running_server

    pro = run_command(tmp_path, "create-user", "pro@example.com", "--role", "pro")
    admin = run_command(tmp_path, "create-user", "ops@example.com", "--role", "platform_admin")
    assert pro.returncode == 0, pro.stderr
    assert "user: created pro@example.com" in pro.stdout and "role pro)" in pro.stdout
    assert re.search(r"^password: \S{12,} \(shown once\)$", pro.stdout, re.MULTILINE)
    assert "role admin)" in admin.stdout

    pro_token = run_command(tmp_path, "create-token", "pro@example.com", "--name", "ci").stdout.splitlines()[-1]
    admin_token = run_command(tmp_path, "create-token", "ops@example.com").stdout.splitlines()[-1]

    assert asyncio.run(get_status(f"{base}/api/admin/users", pro_token)) == 403
    assert asyncio.run(get_status(f"{base}/api/admin/users", admin_token)) == 200
    assert asyncio.run(get_status(f"{base}/health", admin_token)) == 200


@pytest.mark.parametrize(("args", "message"), [
    (("create-user", "x@example.com", "--role", "emperor"),
     "error: --role must be one of user, pro, enterprise, admin, super_admin"),
    (("create-token", "nobody@example.com"), "error: no user has the email nobody@example.com"),
])
def test_shell_commands_refuse_bad_input_with_a_clear_line(tmp_path, args, message):
    result = run_command(tmp_path, *args)

    assert result.returncode == 1
    assert message in result.stderr


def test_a_configured_admin_password_is_used_and_not_printed(tmp_path):
    port = free_port()
    proc = launch(tmp_path, SFA_PORT=str(port), SFA_ADMIN_EMAIL="root@example.com",
                  SFA_ADMIN_PASSWORD="configured password")
    try:
        lines = read_until(proc, "login: ")
        assert "admin: created super_admin root@example.com with the password in SFA_ADMIN_PASSWORD" in lines
        assert not any("configured password" in line for line in lines)
        status = asyncio.run(log_in_status(f"http://127.0.0.1:{port}", "root@example.com", "configured password"))
        assert status == 302
    finally:
        proc.terminate()
        proc.wait(timeout=30)
