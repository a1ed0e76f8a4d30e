"""A suspension takes effect at once: the API answers 403 and the user's open sockets are closed."""

import aiohttp
import pytest

GOING_AWAY = 1001


async def test_suspending_a_user_closes_their_sockets_and_refuses_new_ones(client, make_account):
    admin, user, bystander = await make_account("admin"), await make_account(), await make_account()
    user_ws = await client.ws_connect(f"/socket/websocket?vsn=2.0.0&token={user.token}")
    other_ws = await client.ws_connect(f"/socket/websocket?vsn=2.0.0&token={bystander.token}")

    response = await client.patch(f"/api/admin/users/{user.user.id}", json={"status": "suspended"},
                                  headers=admin.headers)
    assert response.status == 200

    closing = await user_ws.receive(timeout=5)
    assert closing.type == aiohttp.WSMsgType.CLOSE
    assert closing.data == GOING_AWAY
    await other_ws.send_str('[null,"1","phoenix","heartbeat",{}]')
    assert (await other_ws.receive_json(timeout=5))[4] == {"status": "ok", "response": {}}
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(f"/socket/websocket?vsn=2.0.0&token={user.token}")
    assert refused.value.status == 403
    assert (await client.get("/api/admin/users", headers=user.headers)).status == 403
    await other_ws.close()
