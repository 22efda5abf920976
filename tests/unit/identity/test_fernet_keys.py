"""The Fernet key repository: setup, rotation, retirement, caching and bad key files."""

from __future__ import annotations

import os
import shutil
import stat

import pytest
from cryptography.fernet import Fernet, InvalidToken

from nubes.identity.service.fernet_keys import KeyRepository, KeyRepositoryError


@pytest.fixture
def repo(tmp_path):
    r = KeyRepository(tmp_path / "keys", max_active_keys=3)
    r.initialize()
    return r


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def key_file(r: KeyRepository, index: int) -> bytes:
    return (r.path / str(index)).read_bytes()


# -- setup --------------------------------------------------------------------
def test_initialize_creates_staged_and_primary(tmp_path):
    r = KeyRepository(tmp_path / "a" / "keys")
    r.initialize()
    assert r.indexes() == [0, 1]
    assert mode(r.path) == 0o700
    for i in (0, 1):
        assert mode(r.path / str(i)) == 0o600
        Fernet(key_file(r, i))  # a valid key
    assert key_file(r, 0) != key_file(r, 1)
    assert r.keys() == [key_file(r, 1), key_file(r, 0)]  # primary first, staged last
    assert not [n for n in os.listdir(r.path) if n.startswith(".tmp")]


def test_initialize_is_a_no_op_when_keys_exist(repo):
    before = {i: key_file(repo, i) for i in repo.indexes()}
    repo.initialize()
    assert {i: key_file(repo, i) for i in repo.indexes()} == before


def test_initialize_adds_a_missing_staged_key_without_touching_the_primary(repo):
    repo.rotate()
    primary = key_file(repo, 2)
    (repo.path / "0").unlink()
    repo.initialize()
    assert repo.indexes() == [0, 1, 2]
    assert repo.keys()[0] == primary


def test_max_active_keys_below_two_is_refused(tmp_path):
    with pytest.raises(KeyRepositoryError, match="at least 2"):
        KeyRepository(tmp_path, max_active_keys=1)


def test_non_key_files_are_ignored(repo):
    for name in ("01", "foo", "1.bak", ".lock", "-1"):
        (repo.path / name).write_text("garbage")
    assert repo.indexes() == [0, 1]
    repo.fernet()
    repo.rotate()
    assert repo.indexes() == [0, 1, 2]


# -- rotation -----------------------------------------------------------------
def test_rotate_promotes_the_staged_key(repo):
    staged = key_file(repo, 0)
    assert repo.rotate() == 2
    assert key_file(repo, 2) == staged
    assert key_file(repo, 0) != staged
    assert mode(repo.path / "0") == 0o600
    assert repo.indexes() == [0, 1, 2]
    assert repo.keys() == [key_file(repo, 2), key_file(repo, 1), key_file(repo, 0)]


@pytest.mark.parametrize("max_keys", [2, 3, 4, 6])
def test_rotation_keeps_at_most_max_active_keys(tmp_path, max_keys):
    r = KeyRepository(tmp_path / "keys", max_active_keys=max_keys)
    r.initialize()
    for n in range(1, 10):
        assert r.rotate() == n + 1
        idx = r.indexes()
        assert len(idx) == min(max_keys, n + 2)
        assert idx[0] == 0 and idx[-1] == n + 1
        # the survivors are the newest ones
        assert idx[1:] == list(range(n + 2 - (len(idx) - 1), n + 2))
        assert len(r.keys()) == len(idx)


def test_key_order_is_primary_then_newest_secondary_then_staged(tmp_path):
    r = KeyRepository(tmp_path / "keys", max_active_keys=4)
    r.initialize()
    for _ in range(4):
        r.rotate()
    assert r.indexes() == [0, 3, 4, 5]  # 1 and 2 retired
    assert r.keys() == [key_file(r, i) for i in (5, 4, 3, 0)]


def test_token_valid_while_its_key_is_in_the_repository_and_not_after(repo):
    token = repo.fernet().encrypt(b"made with primary 1")
    repo.rotate()  # 1 is now a secondary
    assert repo.fernet().decrypt(token) == b"made with primary 1"
    repo.rotate()  # 3 keys max: 1 retires
    assert repo.indexes() == [0, 2, 3]
    with pytest.raises(InvalidToken):
        repo.fernet().decrypt(token)


def test_tokens_of_each_generation_fail_exactly_when_their_key_retires(tmp_path):
    r = KeyRepository(tmp_path / "keys", max_active_keys=4)
    r.initialize()
    issued = {}  # primary index -> token
    for _ in range(8):
        issued[max(r.indexes())] = r.fernet().encrypt(b"x")
        r.rotate()
        present = set(r.indexes())
        f = r.fernet()
        for index, token in issued.items():
            if index in present:
                assert f.decrypt(token) == b"x"
            else:
                with pytest.raises(InvalidToken):
                    f.decrypt(token)


def test_new_tokens_use_the_new_primary(repo):
    repo.rotate()
    token = repo.fernet().encrypt(b"x")
    assert Fernet(key_file(repo, 2)).decrypt(token) == b"x"
    with pytest.raises(InvalidToken):
        Fernet(key_file(repo, 1)).decrypt(token)


def test_staged_key_already_decrypts(repo):
    token = Fernet(key_file(repo, 0)).encrypt(b"from the future primary")
    assert repo.fernet().decrypt(token) == b"from the future primary"


def test_token_from_a_node_that_rotated_first_is_accepted(tmp_path, repo):
    # Two nodes with the same keys; node A rotates before the keys are redistributed.
    shutil.copytree(repo.path, tmp_path / "node-b")
    node_b = KeyRepository(tmp_path / "node-b")
    repo.rotate()
    token = repo.fernet().encrypt(b"from A")
    assert node_b.fernet().decrypt(token) == b"from A"
    # and A still accepts B's tokens (B's primary is A's secondary now)
    assert repo.fernet().decrypt(node_b.fernet().encrypt(b"from B")) == b"from B"


def test_rotate_without_staged_key_or_repository_fails_clearly(tmp_path, repo):
    with pytest.raises(KeyRepositoryError, match="does not exist"):
        KeyRepository(tmp_path / "nowhere").rotate()
    (repo.path / "0").unlink()
    with pytest.raises(KeyRepositoryError, match="no staged key 0"):
        repo.rotate()


def test_rotate_refuses_to_promote_a_bad_staged_key(repo):
    (repo.path / "0").write_bytes(b"not a key")
    with pytest.raises(KeyRepositoryError, match="0 does not hold a Fernet key"):
        repo.rotate()
    assert repo.indexes() == [0, 1]


def test_stale_temp_files_are_cleaned_up(repo):
    (repo.path / ".tmp-leftover").write_bytes(b"half a key")
    repo.rotate()
    assert not [n for n in os.listdir(repo.path) if n.startswith(".tmp")]


# -- the cached MultiFernet ---------------------------------------------------
def test_fernet_is_cached_and_rotate_invalidates_it(repo):
    f = repo.fernet()
    assert repo.fernet() is f
    repo.rotate()
    f2 = repo.fernet()
    assert f2 is not f
    assert Fernet(key_file(repo, 2)).decrypt(f2.encrypt(b"x")) == b"x"


def test_changes_by_another_process_are_picked_up_after_the_check_interval(repo, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("nubes.identity.service.fernet_keys.time.monotonic", lambda: clock[0])
    f = repo.fernet()
    KeyRepository(repo.path).rotate()  # e.g. `nubes rotate-keys` in another process
    clock[0] += 0.5
    assert repo.fernet() is f  # not looked at yet
    clock[0] += 0.6
    f2 = repo.fernet()
    assert f2 is not f
    assert Fernet(key_file(repo, 2)).decrypt(f2.encrypt(b"x")) == b"x"
    clock[0] += 5
    assert repo.fernet() is f2  # nothing changed since


def test_a_key_replaced_in_place_is_noticed(repo, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("nubes.identity.service.fernet_keys.time.monotonic", lambda: clock[0])
    f = repo.fernet()
    mtime = os.stat(repo.path).st_mtime_ns
    new_primary = Fernet.generate_key()
    tmp = repo.path / "incoming"
    tmp.write_bytes(new_primary)
    os.replace(tmp, repo.path / "1")  # as a key distribution tool would
    os.utime(repo.path, ns=(mtime, mtime))  # even if the directory mtime did not move
    clock[0] += 2
    assert Fernet(new_primary).decrypt(repo.fernet().encrypt(b"x")) == b"x"
    assert repo.fernet() is not f


# -- bad repositories ---------------------------------------------------------
def test_missing_or_empty_repository(tmp_path):
    missing = KeyRepository(tmp_path / "nowhere")
    with pytest.raises(KeyRepositoryError, match="does not exist"):
        missing.keys()
    with pytest.raises(KeyRepositoryError, match="does not exist"):
        missing.fernet()
    (tmp_path / "empty").mkdir()
    with pytest.raises(KeyRepositoryError, match="no Fernet keys"):
        KeyRepository(tmp_path / "empty").fernet()


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"\n  \n", "is empty"),
    (b"this is not a fernet key", "does not hold a Fernet key"),
    (b"c2hvcnQ=", "does not hold a Fernet key"),  # valid base64, wrong length
    (b"\xff\xfe\x00garbage", "does not hold a Fernet key"),
])
def test_bad_key_files_are_reported_with_their_name(repo, content, message):
    repo.rotate()
    (repo.path / "1").write_bytes(content)
    with pytest.raises(KeyRepositoryError, match=message) as e:
        repo.keys()
    assert str(repo.path / "1") in str(e.value)
    with pytest.raises(KeyRepositoryError, match=message):
        KeyRepository(repo.path).fernet()


def test_a_key_file_gone_bad_fails_closed_and_recovers(repo, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("nubes.identity.service.fernet_keys.time.monotonic", lambda: clock[0])
    good = key_file(repo, 1)
    repo.fernet()
    (repo.path / "1").write_bytes(b"garbage")
    clock[0] += 2
    with pytest.raises(KeyRepositoryError):
        repo.fernet()
    with pytest.raises(KeyRepositoryError):  # still, not the old keys
        repo.fernet()
    (repo.path / "1").write_bytes(good)
    assert Fernet(good).decrypt(repo.fernet().encrypt(b"x")) == b"x"


def test_trailing_newline_in_a_key_file_is_accepted(repo):
    key = Fernet.generate_key()
    (repo.path / "1").write_bytes(key + b"\n")
    assert repo.keys()[0] == key
