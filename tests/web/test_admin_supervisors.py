"""``GET /api/admin/supervisors`` over a real tree: what an admin sees (the 401/403/503 rows live in
test_authorization_matrix.py)."""

import pytest

from sfa.web.keys import ACTOR_TREE


@pytest.fixture
def app(app, tree):
    app[ACTOR_TREE] = tree
    return app


async def test_an_admin_reads_the_live_tree(client, make_account, tree):
    admin = await make_account("admin")

    response = await client.get("/api/admin/supervisors", headers=admin.headers)
    body = (await response.json())["data"]

    assert response.status == 200
    assert body["actor_base"] == "multiprocQueueBase"
    assert body["actor_processes"] == 3 + 4
    root = body["tree"]
    assert (root["name"], root["type"], root["strategy"], root["state"]) == ("root", "supervisor", "one_for_one",
                                                                             "running")
    assert [child["name"] for child in root["children"]] == ["download", "processing", "analysis", "gpu", "presences"]
    [download_1] = root["children"][0]["children"]
    assert download_1 | {"pid": 0, "uptime_s": 0} == {
        "name": "download-1", "type": "job_worker", "pid": 0, "state": "idle", "device": "cpu",
        "mailbox_depth": 0, "current_job": None, "current_jobs": [], "uptime_s": 0, "restart": "permanent",
        "restarts": 0, "last_exit": None}
    assert download_1["pid"] in {process.pid for process in tree.bridge.processes()}


async def test_a_pro_user_is_refused(client, make_account):
    pro = await make_account("pro")

    response = await client.get("/api/admin/supervisors", headers=pro.headers)

    assert response.status == 403
    assert await response.json() == {"error": "requires the admin role or higher", "code": "FORBIDDEN"}
