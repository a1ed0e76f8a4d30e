"""What the server announces on ``user:<id>``: ``user:updated`` when an admin changes the user (open pages
re-read the user, so a new role shows at once; a suspension also closes the user's sockets on every node,
their live pages included), and ``user:library`` when a track or job of theirs is created, however it was
(a page, the API, an agent), so an open dashboard shows it."""

from __future__ import annotations

from sfa.accounts.users import User
from sfa.pubsub import Broadcast, PubSub
from sfa.web.phoenix.endpoint import disconnect_user

USER_UPDATED = "user:updated"
LIBRARY_CHANGED = "user:library"


def user_topic(user_id: int) -> str:
    return f"user:{user_id}"


async def announce_user_change(pubsub: PubSub, user: User) -> None:
    await pubsub.publish(Broadcast(user_topic(user.id), USER_UPDATED, {"id": user.id, "role": user.role,
                                                                      "status": user.status}))
    if not user.active:
        await pubsub.publish(disconnect_user(user.id))


async def announce_library_change(pubsub: PubSub, user_id: int, *, track_id: int | None,
                                  job_id: int | None = None) -> None:
    await pubsub.publish(Broadcast(user_topic(user_id), LIBRARY_CHANGED, {"track_id": track_id, "job_id": job_id}))
