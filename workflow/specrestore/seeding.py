"""Every random choice in the pipeline flows from the config seed and the names of
what is being decided (task, corruption, utterance id), through a stable hash. The
same config therefore gives the same splits, shards, masks and noise on any machine,
in any job order and with any number of cores."""

from __future__ import annotations

import hashlib

import numpy as np


def stable_hash(*parts: object) -> int:
    """A 64-bit integer from the parts' text; unlike ``hash()`` it is the same in
    every process and on every platform."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def unit_interval(*parts: object) -> float:
    """A number in [0, 1) fixed by the parts."""
    return stable_hash(*parts) / 2.0**64


def rng_for(seed: int, *parts: object) -> np.random.Generator:
    """A generator for one decision, e.g. ``rng_for(seed, "gap", task, utt_id)``."""
    return np.random.default_rng(stable_hash(seed, *parts))


def shard_of(utt_id: str, n_shards: int) -> int:
    """The shard an utterance belongs to, from its id alone, so that adding files or
    changing the seed never moves an utterance to another shard."""
    return stable_hash("shard", utt_id) % n_shards


def shard_name(index: int) -> str:
    return f"{index:03d}"
