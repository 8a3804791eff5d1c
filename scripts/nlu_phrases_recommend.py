"""Phrase lists for asking for recommendations in chat (issue 15): "what would you recommend",
"something for my kitchen under 30", gifts for someone who likes something, "similar to what I
bought last time", "more like this". ``merged`` adds them to the generator's lists (as
scripts/nlu_phrases_requests.py does). Written for CareDesk.
"""

from __future__ import annotations

_PLACES = ["my kitchen", "the garden", "my balcony", "the living room", "my home office", "the bathroom"]
_LIMITS = ["under 30", "below 50 euros", "under €20", "less than 40", "max 25 euros", "up to 60"]
_PEOPLE = ["my mum", "my dad", "my sister", "my grandma", "my boyfriend", "a colleague", "my son", "my best friend"]
_LIKES = ["gardening", "cooking", "running", "reading", "gaming", "yoga", "make-up", "tech"]

EXTEND = {
    "vp": ["get something similar to what i bought last time", "see more like this", "see similar products",
           "get recommendations based on my orders", "find something like my last order",
           "get a personal recommendation", "find something that suits me", "get picks for me",
           "find a birthday present", "find a christmas gift", "find something for my kitchen",
           *(f"find something for {place} {limit}" for place, limit in zip(_PLACES, _LIMITS, strict=True)),
           *(f"find a gift for {who} who likes {like}" for who, like in zip(_PEOPLE, _LIKES, strict=True))],
    "np": ["more like this", "similar ones", "something similar", "something like my last order",
           "recommendations for me", "personal recommendations", "a birthday present", "an anniversary gift",
           "a gift for someone who loves cooking", "kitchen stuff under 30"],
    "messy": ["what would you recommend", "what would u recommend for me", "more like this", "more like that pls",
              "show me similar ones", "anything similar?", "similar to what i bought last time",
              "something like what i ordered before", "same kind of thing as my last order",
              "got anything like the last thing i bought", "recommend me something based on my orders",
              "what else would i like", "something for my kitchen under 30", "garden stuff below 20 euros",
              "cheap gift under 15", "any gift ideas under 40 euros", "a gift for my mum who likes gardening",
              "present for my dad he loves cooking", "birthday gift for my sister who is into yoga",
              "xmas present for a colleague", "anniversary gift for my wife", "gift for a 12 year old who likes lego",
              "what should i get my grandma", "something nice for my boyfriend who runs",
              "any picks for me?", "suggest something i might like", "what do other people buy",
              "whats popular right now", "bestsellers in electronics", "top picks in beauty under 25"],
}


def merged(intents: dict[str, dict[str, list[str]]], messy: dict[str, list[str]]
           ) -> tuple[dict[str, dict[str, list[str]]], dict[str, list[str]], set[str]]:
    """Copies of the generator's lists with these wordings added to ``recommend_products``, and the
    intent this changes."""
    intents = {name: {kind: list(phrases) for kind, phrases in lists.items()} for name, lists in intents.items()}
    messy = {name: list(messages) for name, messages in messy.items()}
    intents["recommend_products"]["vp"] += EXTEND["vp"]
    intents["recommend_products"]["np"] += EXTEND["np"]
    messy["recommend_products"] = messy.get("recommend_products", []) + EXTEND["messy"]
    return intents, messy, {"recommend_products"}
