"""Tokens, assertions and chat proofs: each valid only for its purpose, its key and its conversation."""

import base64
import hashlib
import hmac
import json

import jwt
import pytest

from common import identity_token as it

KEY = "k" * 48
OLD_KEY = "o" * 48


def test_a_token_verifies_only_when_signed_fresh_and_for_its_purpose():
    token = it.issue(42, KEY, it.CHAT_IDENTITY, ttl_s=60, now=1000)
    assert it.verify(token, KEY, it.CHAT_IDENTITY, now=1030) == 42
    assert it.verify(token, "x" * 48, it.CHAT_IDENTITY, now=1030) is None
    assert it.verify(token, KEY, it.CHAT_IDENTITY, now=1100) is None
    assert it.verify(token, KEY, it.LOGIN, now=1030) is None


def test_a_login_cookie_is_no_chat_identity():
    cookie = it.issue(7, KEY, it.LOGIN)
    assert it.verify(cookie, KEY, it.LOGIN) == 7
    assert it.verify(cookie, KEY, it.CHAT_IDENTITY) is None


def test_a_rotated_key_still_verifies_old_tokens_and_signs_new_ones():
    old = it.issue(5, OLD_KEY, it.CHAT_IDENTITY)
    assert it.verify(old, (KEY, OLD_KEY), it.CHAT_IDENTITY) == 5
    assert it.verify(old, KEY, it.CHAT_IDENTITY) is None  # once the old key is dropped
    new = it.issue(5, (KEY, OLD_KEY), it.CHAT_IDENTITY)
    assert it.verify(new, KEY, it.CHAT_IDENTITY) == 5


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the published key is short
def test_a_token_signed_with_the_once_published_development_secret_is_worthless():
    published = "dev-only-insecure-secret"
    payload = base64.urlsafe_b64encode(json.dumps({"cid": 7, "exp": 4102444800}).encode()).rstrip(b"=").decode()
    old_format = payload + "." + base64.urlsafe_b64encode(
        hmac.new(published.encode(), payload.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    plain_jwt = jwt.encode({"sub": "7", "aud": it.CHAT_IDENTITY, "exp": 4102444800}, published, algorithm="HS256")
    for token in (old_format, plain_jwt, it.issue(7, published, it.CHAT_IDENTITY)):
        assert it.verify(token, KEY, it.CHAT_IDENTITY) is None


@pytest.mark.parametrize("junk", [None, "", 42, "a.b.c", "é.é.é", "x" * 5000, "eyJ\u00e9.\u00e9", {"cid": 1}])
def test_junk_verifies_as_nobody_without_raising(junk):
    assert it.verify(junk, KEY, it.CHAT_IDENTITY) is None
    assert it.proven_customer(junk, "web:1", KEY) is None
    assert it.asserted_customer(junk, "web:1", KEY) is None


def test_an_unsigned_or_other_algorithm_token_is_refused():
    none_alg = jwt.encode({"sub": "1", "aud": it.CHAT_IDENTITY, "exp": 4102444800}, None, algorithm="none")
    assert it.verify(none_alg, KEY, it.CHAT_IDENTITY) is None


def test_an_assertion_proves_nothing_in_another_conversation():
    assertion = it.assert_identity("tg:1001", 3, KEY)
    assert it.asserted_customer(assertion, "tg:1001", KEY) == 3
    assert it.asserted_customer(assertion, "rest:1001", KEY) is None
    assert it.asserted_customer({**assertion, "cid": 4}, "tg:1001", KEY) is None


def test_a_chat_proof_is_bound_to_its_conversation_and_expires():
    proof = it.chat_proof("web:abc", 9, KEY, ttl_s=60, now=1000)
    assert it.proven_customer(proof, "web:abc", KEY, now=1030) == 9
    assert it.proven_customer(proof, "web:abd", KEY, now=1030) is None
    assert it.proven_customer(proof, "web:abc", KEY, now=1061) is None
    forged = "8" + proof[1:]
    assert it.proven_customer(forged, "web:abc", KEY, now=1030) is None
