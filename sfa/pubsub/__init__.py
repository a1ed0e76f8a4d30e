"""Topic-based publish/subscribe across every server process sharing the database (Phoenix.PubSub).

Subscribers in this process are called directly; other processes hear a PostgreSQL NOTIFY. Any process that
holds a database connection (a job worker included) can publish with :func:`notify`, in its transaction.
"""

from sfa.pubsub.broadcast import Broadcast
from sfa.pubsub.jobs import job_completed, job_failed, job_progress, job_topic
from sfa.pubsub.postgres import notify, notify_many
from sfa.pubsub.pubsub import PubSub
from sfa.pubsub.registry import Encoder, Fastlane, Subscriber, Subscription

__all__ = [
    "Broadcast", "Encoder", "Fastlane", "PubSub", "Subscriber", "Subscription", "job_completed", "job_failed",
    "job_progress", "job_topic", "notify", "notify_many",
]
