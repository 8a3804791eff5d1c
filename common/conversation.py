"""What the Rasa server and the action server agree on about a conversation's history.

A custom action reads the whole conversation through a digest kept in a slot (``actions/digest.py``)
and the last customer messages whole; the Rasa server (``bot/rasa_patches.py``) therefore sends the
action server only the events the digest does not cover and at least :data:`RECENT_MESSAGES`
customer messages, instead of every event of the session on every call."""

DIGEST_SLOT = "conversation_digest"
RECENT_MESSAGES = 10
