import subprocess
import sys

from conftest import REPO
from specrestore.seeding import rng_for, shard_of, stable_hash


def test_stable_hash_is_fixed_across_processes():
    code = "from specrestore.seeding import stable_hash; print(stable_hash(1234, 'gap', 'utt'))"
    env = {"PYTHONPATH": str(REPO / "workflow"), "PYTHONHASHSEED": "random"}
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env).stdout for _ in range(2)
    }
    assert outputs == {f"{stable_hash(1234, 'gap', 'utt')}\n"}


def test_parts_are_separated():
    assert stable_hash("ab", "c") != stable_hash("a", "bc")


def test_rng_for_depends_on_every_part():
    draw = lambda *parts: rng_for(*parts).integers(1 << 62)
    assert draw(1, "gap", "u1") == draw(1, "gap", "u1")
    assert len({draw(1, "gap", "u1"), draw(2, "gap", "u1"), draw(1, "noise", "u1"), draw(1, "gap", "u2")}) == 4


def test_shards_are_balanced():
    counts = [0] * 8
    for i in range(8000):
        counts[shard_of(f"utt{i}", 8)] += 1
    assert min(counts) > 900 and max(counts) < 1100
