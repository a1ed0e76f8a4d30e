"""What the server announces when an admin changes a user: ``user:updated`` on ``user:<id>`` (open pages
re-read the user, so a new role shows at once), and for a suspension the broadcast that closes the user's
sockets on every node (their live pages included)."""

from __future__ import annotations

from sfa.accounts.users import User
from sfa.pubsub import Broadcast, PubSub
from sfa.web.phoenix.endpoint import disconnect_user

USER_UPDATED = "user:updated"


def user_topic(user_id: int) -> str:
    return f"user:{user_id}"


async def announce_user_change(pubsub: PubSub, user: User) -> None:
    await pubsub.publish(Broadcast(user_topic(user.id), USER_UPDATED, {"id": user.id, "role": user.role,
                                                                      "status": user.status}))
    if not user.active:
        await pubsub.publish(disconnect_user(user.id))
