"""Authentication failures cost one bcrypt verification of the configured cost, whether or not
the user (or application credential) exists: no user enumeration by timing.

The tests count the verifications (a counting hasher), they do not time them.
"""

from __future__ import annotations

import pytest

from nubes.identity.db.models import ApplicationCredential, User
from nubes.identity.exceptions import AuthenticationFailed
from nubes.identity.service import passwords
from nubes.identity.service import users as users_svc
from tests.unit.identity.conftest import ROUNDS


@pytest.fixture
def verifications(monkeypatch):
    """Every bcrypt verification made, as the cost of the hash it was checked against."""
    seen: list[int] = []
    real = passwords._verify

    def counting(password: str, hashed: str) -> bool:
        seen.append(int(hashed.split("$")[2]))
        return real(password, hashed)

    monkeypatch.setattr(passwords, "_verify", counting)
    return seen


def _password(user: dict, password: str = "whatever") -> dict:
    return {"identity": {"methods": ["password"], "password": {"user": {**user, "password": password}}}}


async def _fails(identity, auth: dict) -> str:
    with pytest.raises(AuthenticationFailed) as err:
        await identity.authenticator.authenticate(auth)
    return err.value.message


async def _user_id(identity, name: str) -> str:
    from nubes.identity.db.queries import users as user_q

    async with identity.rt.db.reader() as s:
        return (await user_q.user_by_name(s, name, "default")).id


@pytest.mark.parametrize("who", [
    {"name": "admin", "domain": {"id": "default"}},               # a wrong password
    {"name": "nobody", "domain": {"id": "default"}},              # no such user
    {"name": "admin", "domain": {"name": "NoSuchDomain"}},        # no such domain
    {"id": "0123456789abcdef0123456789abcdef"},                   # no such user id
], ids=["wrong-password", "unknown-user", "unknown-domain", "unknown-id"])
async def test_password_failures_cost_one_verification(identity, verifications, who):
    message = await _fails(identity, _password(who))
    assert verifications == [ROUNDS]
    assert message == "The request you have made requires authentication."


async def test_user_without_password_and_disabled_user_cost_the_same(identity, verifications):
    async with identity.rt.db.session() as s:
        s.add(User(id="u-nopw", name="nopw", domain_id="default", enabled=True, extra={}, options={}))
        admin = await s.get(User, await _user_id(identity, "admin"))
        admin.enabled = False
    await _fails(identity, _password({"name": "nopw", "domain": {"id": "default"}}))
    await _fails(identity, _password({"name": "admin", "domain": {"id": "default"}}, "admin-secret"))
    assert verifications == [ROUNDS, ROUNDS]


async def test_the_right_password_still_authenticates(identity, verifications):
    payload = await identity.authenticator.authenticate(
        _password({"name": "admin", "domain": {"id": "default"}}, "admin-secret"))
    assert payload.user_id == await _user_id(identity, "admin")
    assert verifications == [ROUNDS]


async def test_application_credential_failures_cost_one_verification(identity, verifications):
    admin = await _user_id(identity, "admin")
    async with identity.rt.db.session() as s:
        s.add(ApplicationCredential(
            id="ac1", name="ci", user_id=admin, project_id=None, roles=[], unrestricted=False,
            secret_hash=await passwords.hash_password("right", ROUNDS), description=""))

    def by_name(owner: dict, name: str = "ci") -> dict:
        return {"identity": {"methods": ["application_credential"], "application_credential": {
            "name": name, "user": owner, "secret": "wrong"}}}

    await _fails(identity, by_name({"id": admin}))                                   # wrong secret
    await _fails(identity, by_name({"id": admin}, "nope"))                           # unknown name
    await _fails(identity, by_name({"name": "nobody", "domain": {"id": "default"}}))  # unknown user
    await _fails(identity, {"identity": {"methods": ["application_credential"],
                                         "application_credential": {"id": "nope", "secret": "x"}}})
    assert verifications == [ROUNDS] * 4


async def test_change_password_of_an_unknown_user_costs_one_verification(identity, verifications):
    with pytest.raises(AuthenticationFailed):
        await users_svc.change_password(identity.rt, "no-such-user", "old", "new-password")
    with pytest.raises(AuthenticationFailed):
        await users_svc.change_password(identity.rt, await _user_id(identity, "admin"), "old", "new-password")
    assert verifications == [ROUNDS, ROUNDS]


async def test_unknown_ec2_access_key_does_the_work_and_answers_of_a_wrong_signature(identity, monkeypatch):
    """An unknown access key decrypts a blob and checks the signature as a known one does, and
    answers the same message, so neither tells whether the key exists."""
    from nubes.identity.db.models import Credential
    from nubes.identity.service import credentials as cred_svc

    checked: list[str] = []
    real = cred_svc.check_signature

    def counting(secret: str, creds: dict) -> None:
        checked.append(secret)
        real(secret, creds)

    monkeypatch.setattr(cred_svc, "check_signature", counting)
    fernet = identity.credential_keys.fernet()
    admin = await _user_id(identity, "admin")
    known = cred_svc.new_ec2(admin, "p1", None)
    async with identity.rt.db.session() as s:
        s.add(Credential(id=known["id"], user_id=admin, project_id="p1", type="ec2",
                         encrypted_blob=cred_svc.encrypt(fernet, known["blob"]), key_hash="k", extra={}))
    messages = []
    for access in (known["ec2"]["access"], "0123456789abcdef0123456789abcdef"):
        creds = {"access": access, "signature": "not-it", "host": "h", "verb": "GET", "path": "/",
                 "params": {"SignatureVersion": "2", "SignatureMethod": "HmacSHA256",
                            "AWSAccessKeyId": access}}
        with pytest.raises(AuthenticationFailed) as err:
            await cred_svc.ec2_authenticate(identity.rt.db, identity.tokens, fernet, creds)
        messages.append(err.value.message)
    assert len(checked) == 2 and checked[0] == known["ec2"]["secret"] and checked[1] != checked[0]
    assert messages[0] == messages[1] == "Invalid EC2 signature."
