"""The engine's uids are the version-4 UUIDs the standard library would make of the same random bits."""
from __future__ import annotations

import random
import uuid

from clusters.engine.state import random_uid, uid_from_bits


def test_uid_from_bits_is_str_of_a_version_4_uuid():
    rng = random.Random(4)
    for bits in [0, (1 << 128) - 1, *(rng.getrandbits(128) for _ in range(2000))]:
        assert uid_from_bits(bits) == str(uuid.UUID(int=bits, version=4))


def test_random_uid_draws_128_bits():
    rng, same = random.Random(9), random.Random(9)
    assert random_uid(rng) == str(uuid.UUID(int=same.getrandbits(128), version=4))
    assert rng.getrandbits(32) == same.getrandbits(32)
