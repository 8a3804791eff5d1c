"""Support-desk users: hashed passwords, personal API tokens kept only as hashes, disabling."""

import hashlib

import pytest
from sqlalchemy import select

from crm_store import errors, models
from crm_store.services import users


def _row(uow_factory, username: str):
    """(token_hash, password_hash) as stored."""
    with uow_factory() as uow:
        return uow.session.execute(select(models.User.token_hash, models.User.password_hash).where(
            models.User.username == username)).one()


def test_a_new_user_gets_a_token_that_resolves_to_them_and_nothing_secret_is_stored(uow_factory):
    made = users.add_user("Sam", "agent", uow_factory(), password="correct horse battery")
    assert made.user.username == "sam" and made.user.role == "agent" and not made.user.disabled
    assert users.user_for_token(made.token, uow_factory()).username == "sam"
    row = _row(uow_factory, "sam")
    assert made.token not in (row.token_hash, row.password_hash)
    assert "correct horse battery" not in row.password_hash
    assert row.token_hash == hashlib.sha256(made.token.encode()).hexdigest()
    assert row.password_hash.startswith("scrypt$131072$8$1$")


def test_a_password_is_checked_against_its_salted_hash(uow_factory):
    users.add_user("ana", "admin", uow_factory(), password="correct horse battery")
    assert users.authenticate("ana", "correct horse battery", uow_factory()).role == "admin"
    assert users.authenticate("ana", "correct horse batterY", uow_factory()) is None
    assert users.authenticate("nobody", "correct horse battery", uow_factory()) is None
    # Two users with one password still have different hashes (random salt).
    users.add_user("bob", "agent", uow_factory(), password="correct horse battery")
    assert _row(uow_factory, "ana").password_hash != _row(uow_factory, "bob").password_hash


def test_a_generated_password_is_long_and_returned_once(uow_factory):
    made = users.add_user("gen", "agent", uow_factory())
    assert len(made.password) >= 20
    assert users.authenticate("gen", made.password, uow_factory()) is not None


def test_a_new_token_ends_the_old_one(uow_factory):
    made = users.add_user("sam", "agent", uow_factory())
    newer = users.issue_token("sam", uow_factory())
    assert newer != made.token
    assert users.user_for_token(made.token, uow_factory()) is None
    assert users.user_for_token(newer, uow_factory()).username == "sam"


def test_a_disabled_user_has_no_working_token_nor_password(uow_factory):
    made = users.add_user("eve", "agent", uow_factory(), password="a long enough password")
    assert users.disable_user("eve", uow_factory()).disabled is True
    assert users.user_for_token(made.token, uow_factory()) is None
    assert users.authenticate("eve", "a long enough password", uow_factory()) is None
    with pytest.raises(errors.InvalidInput, match="disabled"):
        users.issue_token("eve", uow_factory())


@pytest.mark.parametrize("token", ["", None, 42, "cdu_", "cdu_" + "x" * 43, "not-a-token", "cdu_" + "a" * 500])
def test_anything_but_a_live_token_resolves_to_nobody(uow_factory, token):
    users.add_user("sam", "agent", uow_factory())
    assert users.user_for_token(token, uow_factory()) is None


def test_names_roles_and_passwords_are_validated(uow_factory):
    with pytest.raises(errors.InvalidInput, match="role"):
        users.add_user("sam", "root", uow_factory())
    with pytest.raises(errors.InvalidInput, match="user name"):
        users.add_user("sam smith", "agent", uow_factory())
    with pytest.raises(errors.InvalidInput, match="password"):
        users.add_user("sam", "agent", uow_factory(), password="short")
    users.add_user("sam", "agent", uow_factory())
    with pytest.raises(errors.InvalidInput, match="exists"):
        users.add_user("SAM", "admin", uow_factory())
    with pytest.raises(users.UserNotFound):
        users.disable_user("nobody", uow_factory())
    assert [u.username for u in users.list_users(uow_factory())] == ["sam"]


def test_adding_disabling_and_new_tokens_are_audited(uow_factory):
    made = users.add_user("sam", "agent", uow_factory(), actor="cli:root")
    users.issue_token("sam", uow_factory(), actor="cli:root")
    users.disable_user("sam", uow_factory(), actor="cli:root")
    with uow_factory() as uow:
        rows = uow.session.execute(select(models.AuditLog).where(
            models.AuditLog.entity == "user", models.AuditLog.entity_id == made.user.id)
            .order_by(models.AuditLog.id)).scalars().all()
        assert [(r.actor, r.action) for r in rows] == [("cli:root", "add"), ("cli:root", "new_token"),
                                                       ("cli:root", "disable")]
        assert made.token not in str([r.detail for r in rows])
