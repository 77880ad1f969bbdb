"""The inbox: conversations that need the brand's answer, their status, and how well it answers.

``Inbox`` is the service the CLI and the web application call; it imports the store, never a
floor above it.
"""

from goodwill.inbox.metrics import InboxMetrics, Spread
from goodwill.inbox.priority import Priority, priority_of
from goodwill.inbox.service import STATUSES, ConversationView, Inbox, InboxError

__all__ = [
    "STATUSES",
    "ConversationView",
    "Inbox",
    "InboxError",
    "InboxMetrics",
    "Priority",
    "Spread",
    "priority_of",
]
