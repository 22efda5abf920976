import pytest

from nubes.object.hashing import HashSecret, hash_path, partition_of


def test_the_secret_moves_names_and_paths_are_distinct():
    plain, salted = HashSecret(), HashSecret(b"pre", b"suf")
    assert hash_path(plain, "AUTH_a", "c", "o") != hash_path(salted, "AUTH_a", "c", "o")
    assert hash_path(plain, "AUTH_a", "c") != hash_path(plain, "AUTH_a", "c", "")
    assert len(hash_path(plain, "AUTH_a")) == 16
    with pytest.raises(ValueError):
        hash_path(plain, "AUTH_a", None, "o")


def test_partition_is_the_top_bits():
    digest = bytes([0b10110000, 0, 0, 0]) + bytes(12)
    assert partition_of(digest, 0) == 0
    assert partition_of(digest, 1) == 1
    assert partition_of(digest, 4) == 0b1011
    assert partition_of(bytes([255] * 16), 10) == 1023
    with pytest.raises(ValueError):
        partition_of(digest, 33)
