"""Training on fresh corruptions: every batch corrupts clean training speech anew with
the task's own settings, seeded by (seed, epoch, batch)."""

import itertools
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO
from specrestore import baselines, dsp
from specrestore.config import task_corruptions
from specrestore.corruption import NoiseBank, Task
from specrestore.datasets import CleanUtterance, FreshCorruption, FreshPatchDataset, excerpt_samples
from specrestore.noise import build_bank
from specrestore.normalization import fit_normalization
from specrestore.training import spectrogram_data

SR = 16000
STFT = dsp.StftParams(512, 128)
PATCH = 32
SEED = 1234
TRAINING = {"patch_frames": PATCH, "batch_size": 8, "steps_per_epoch": 4, "validation_batches": 1}


def voiced(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Speech-like test signal: harmonics of a gliding pitch under a syllable envelope."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = rng.uniform(100, 220) * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 12)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    return (0.05 * x + 0.002 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def utterances():
    rng = np.random.default_rng(3)
    return [CleanUtterance(f"spk{i % 3}_{i:03d}", voiced(rng.uniform(1.0, 7.0), rng)) for i in range(12)]


@pytest.fixture(scope="module")
def bank():
    recordings = build_bank(["train", "valid"], ["white", "pink", "hum", "bursts"], 2, 3.0, SR, 5, {})
    table = pd.DataFrame([{"id": r.id, "kind": r.kind, "split": r.split} for r in recordings])
    return NoiseBank({r.id: r.audio for r in recordings}, table)


def config_task(name: str) -> Task:
    """A task of the default run, with its own settings."""
    with open(REPO / "config.yaml") as handle:
        return Task.from_config(name, task_corruptions(yaml.safe_load(handle))[name])


def dataset(utterances, task, bank=None, seed=SEED, steps=4, batch_size=8):
    source = FreshCorruption(utterances, task, SR, STFT, bank if task.noise else None)
    normalization = fit_normalization("logmag_standard", source.clean_magnitudes())
    with_mask = task.noise is None
    return FreshPatchDataset(source, normalization, "clean", PATCH, batch_size, steps, seed, with_mask)


def assert_same_batch(a, b):
    (inputs_a, target_a), (inputs_b, target_b) = a, b
    assert len(inputs_a) == len(inputs_b)
    for x, y in zip((*inputs_a, target_a), (*inputs_b, target_b)):
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes()


@pytest.mark.parametrize("name", ["gap", "packetloss", "bandhole", "noise"])
def test_a_batch_depends_on_seed_epoch_and_step_only(utterances, bank, name):
    task = config_task(name)
    first, second = dataset(utterances, task, bank), dataset(utterances, task, bank)
    assert_same_batch(first[6], second.make_batch(1, 2))
    resumed = dataset(utterances, task, bank)
    resumed.start_at_epoch(1)
    assert_same_batch(resumed[2], first[6])  # batch 2 of epoch 1, however the run got there
    (x, *_), y = first[0]
    assert x.shape == y.shape == (8, STFT.n_freq, PATCH, 1) and x.dtype == np.float32
    others = [first.make_batch(0, 1), first.make_batch(1, 0), dataset(utterances, task, bank, seed=SEED + 1)[0]]
    for other in others:
        assert not np.array_equal(other[0][0], x)


def test_every_row_of_every_batch_is_corrupted_anew(utterances):
    data = dataset(utterances, config_task("gap"), batch_size=16)
    rows = [row for epoch, step in itertools.product(range(2), range(3)) for row in data.rows(epoch, step)]
    assert len({row.corruption_id for row in rows}) == len(rows)
    assert rows[0].corruption_id == f"{rows[0].utterance}@0.0.0"
    # The same utterance and excerpt seen twice gets two different dropouts.
    masks = {}
    for row in rows:
        masks.setdefault((row.utterance, row.offset, len(row.clean)), []).append(row.corrupted.sample_mask.tobytes())
    repeated = [m for m in masks.values() if len(m) > 1]
    assert repeated and all(len(set(m)) == len(m) for m in repeated)


def test_gaps_follow_the_task_settings(utterances):
    task = config_task("gap")
    settings, ms = task.gap, SR / 1000
    data = dataset(utterances, task, batch_size=16)
    lengths, lost, total = [], 0, 0
    for step in range(8):
        (_, missing), _ = data.make_batch(0, step)
        for index, row in enumerate(data.rows(0, step)):
            mask = row.corrupted.sample_mask
            spans = dsp.true_runs(mask)
            assert spans, "at least one gap per excerpt"
            assert spans[0][0] >= settings.margin_ms * ms and spans[-1][1] <= len(mask) - settings.margin_ms * ms
            assert all(b[0] - a[1] >= settings.min_spacing_ms * ms for a, b in itertools.pairwise(spans))
            assert np.all(row.corrupted.audio[mask] == 0)
            assert np.array_equal(row.corrupted.audio[~mask], row.clean[~mask])
            lengths += [end - start for start, end in spans]
            lost, total = lost + mask.sum(), total + len(mask)
            # The mask input is the frames the dropouts touch, at the patch's place.
            touched = baselines.frames_touching(mask, STFT)
            window = np.zeros(PATCH, bool)
            inside = touched[row.first_frame : row.first_frame + PATCH]
            window[: len(inside)] = inside
            assert np.array_equal(missing[index, :, :, 0], np.broadcast_to(window, (STFT.n_freq, PATCH)))
    assert min(lengths) >= round(settings.length_ms[0] * ms) and max(lengths) <= round(settings.length_ms[1] * ms)
    # per_second gaps of the mean length, as in the corrupt stage.
    assert lost / total == pytest.approx(settings.per_second * np.mean(settings.length_ms) / 1000, rel=0.3)


def test_patches_mostly_hold_a_dropout_and_are_the_utterances_own_frames(utterances):
    data = dataset(utterances, config_task("gap"), batch_size=32)
    (_, missing), _ = data.make_batch(2, 0)
    assert (missing.reshape(32, -1).max(axis=1) > 0).mean() > 0.6
    for row in data.rows(2, 0):
        # An excerpt starts on a frame boundary: its frames are the whole utterance's.
        assert row.offset % STFT.hop == 0
        audio = next(u.audio for u in utterances if u.id == row.utterance)
        assert np.array_equal(row.clean, audio[row.offset : row.offset + len(row.clean)])
        whole = dsp.stft_frames(audio, STFT, row.offset // STFT.hop + row.first_frame, PATCH)
        assert np.array_equal(dsp.stft_frames(row.clean, STFT, row.first_frame, PATCH), whole)


def test_packet_loss_follows_the_task_settings(utterances):
    task = config_task("packetloss")
    packet = round(task.packetloss.packet_ms * SR / 1000)
    data = dataset(utterances, task, batch_size=16)
    lost = total = 0
    for step in range(12):
        for row in data.rows(0, step):
            mask = row.corrupted.sample_mask
            for start, end in dsp.true_runs(mask):
                assert start % packet == 0 and (end % packet == 0 or end == len(mask))
            lost, total = lost + mask.sum(), total + len(mask)
    assert lost / total == pytest.approx(task.packetloss.loss_rate, abs=0.04)


def test_band_holes_cover_the_configured_fraction(utterances):
    task = config_task("bandhole")
    data = dataset(utterances, task)
    expected = round(task.bandhole.fraction * STFT.n_freq)
    for step in range(3):
        (_, missing), _ = data.make_batch(0, step)
        for index, row in enumerate(data.rows(0, step)):
            holes = row.corrupted.tf_mask.any(axis=1)
            assert holes.sum() == expected and row.corrupted.info["band_fraction"] == expected / STFT.n_freq
            assert task.bandhole.holes[0] <= len(dsp.true_runs(holes)) <= task.bandhole.holes[1]
            # Whole-utterance holes: every frame of the patch misses the same bins.
            rows_missing = missing[index, :, :, 0].astype(bool)
            assert np.array_equal(rows_missing[:, 0], holes) and rows_missing.all(axis=1).sum() == expected


def test_noise_is_mixed_at_the_configured_snrs_from_the_training_bank(utterances, bank):
    task = config_task("noise")
    data = dataset(utterances, task, bank)
    snrs = set()
    for step in range(3):
        inputs, _ = data.make_batch(0, step)
        assert len(inputs) == 1  # no mask input: noise destroys no bin
        for row in data.rows(0, step):
            info = row.corrupted.info
            assert info["snr_db"] in task.noise.snr_db and info["noise_id"].startswith("train-")
            noise = row.corrupted.audio.astype(np.float64) - row.clean
            measured = 10 * np.log10(np.sum(row.clean.astype(np.float64) ** 2) / np.sum(noise**2))
            assert measured == pytest.approx(info["snr_db"], abs=0.1)
            snrs.add(info["snr_db"])
    assert len(snrs) > 1


def test_rules_counted_per_utterance_corrupt_whole_utterances(utterances):
    task = Task.from_config("gap", {"gap": {"count": 1, "length_ms": [32, 128], "margin_ms": 300}})
    assert excerpt_samples(task, SR, STFT, PATCH) is None
    data = dataset(utterances, task)
    for row in data.rows(0, 0):
        assert row.offset == 0 and len(row.clean) == len(next(u for u in utterances if u.id == row.utterance).audio)
        assert len(dsp.true_runs(row.corrupted.sample_mask)) == 1
    # A rate of gaps is kept in excerpts long enough that at-least-one-gap does not raise it.
    sparse = Task.from_config("gap", {"gap": {"per_second": 0.25}})
    assert excerpt_samples(sparse, SR, STFT, PATCH) >= 4 * SR


def test_a_resumed_run_finds_the_corruption_settings_and_data_it_was_made_with(utterances, bank):
    options = {"normalization": "logmag_standard"}

    def settings(task, clean=utterances, noise=bank):
        source = FreshCorruption(clean, task, SR, STFT, noise)
        return spectrogram_data(source, [], options, TRAINING, "clean", False, SEED)[3]

    task = config_task("noise")
    base = settings(task)
    assert base == settings(task)
    louder = Task.from_config("noise", {"noise": {"snr_db": [20, 30]}})
    assert settings(louder)["corruption"] != base["corruption"] and settings(louder)["data"] == base["data"]
    other_bank = NoiseBank({k: v[::-1].copy() for k, v in bank.recordings.items()}, bank.table)
    assert settings(task, noise=other_bank)["data"] != base["data"]
    assert settings(task, clean=utterances[:-1])["data"] != base["data"]


# Trains a tiny U-Net on fresh gap corruptions. argv: folder, epochs, and the epoch after
# which the process kills itself (-1: never), as a crash or `kill -9` would.
TRAIN = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import logging
import keras
import numpy as np
from specrestore import baselines, dsp
from specrestore.corruption import Task, corrupt
from specrestore.datasets import CleanUtterance, FreshCorruption, Pair
from specrestore.training import configure_backend, train_spectrogram_model
configure_backend(1)
logging.basicConfig(level=logging.INFO)
folder, epochs, kill_after = sys.argv[1:4]


class Crash(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == int(kill_after):
            os._exit(9)


rng = np.random.default_rng(0)
params = dsp.StftParams(128, 32)
t = np.arange(32000) / 16000
clean = [CleanUtterance(f"u{i}", (0.1 * np.sin(2 * np.pi * (150 + 40 * i) * t) * (1 + np.sin(3 * t))
                                  + 0.003 * rng.standard_normal(len(t))).astype(np.float32)) for i in range(4)]
task = Task.from_config("gap", {"gap": {"per_second": 2.0, "length_ms": [10, 40], "margin_ms": 50}})
held_out = corrupt(clean[0].audio, 16000, task, params, 7, "valid", "valid")
missing = baselines.missing_bins(params.n_frames(32000), params, held_out.sample_mask, None)
valid = [Pair("valid", np.abs(dsp.stft(held_out.audio, params)), np.abs(dsp.stft(clean[0].audio, params)), missing)]
training = {"patch_frames": 16, "batch_size": 4, "epochs": int(epochs), "steps_per_epoch": 4,
            "validation_batches": 1, "learning_rate": 0.01,
            "early_stopping": {"patience": 1000, "min_delta": 0.0},
            "reduce_lr": {"factor": 0.5, "patience": 1, "min_lr": 1e-5}}
options = {"depth": 2, "filters": 4, "dropout": 0.0, "normalization": "logmag_standard", "target": "clean"}
source = FreshCorruption(clean, task, 16000, params)
print(train_spectrogram_model("unet", options, training, ["gap"], source, valid, folder, 3, extra_callbacks=[Crash()]))
"""


def train(out_dir, epochs, kill_after=-1):
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    env.pop("KERAS_MAX_EPOCHS", None)
    command = [sys.executable, "-c", TRAIN, str(out_dir), str(epochs), str(kill_after)]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def test_training_on_fresh_corruptions_learns_and_resumes_exactly(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    finished = train(whole, 4)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "on fresh corruptions of 4 utterances" in finished.stderr
    history = pd.read_csv(whole / "history.csv")
    assert history["epoch"].tolist() == [0, 1, 2, 3]
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]

    assert train(killed, 4, kill_after=1).returncode == 9
    for output in ("best.keras", "history.csv", "model.keras", "setup.json"):
        (killed / output).unlink(missing_ok=True)
    resumed = train(killed, 4)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in resumed.stderr and "2 epochs done" in resumed.stderr
    assert (killed / "history.csv").read_bytes() == (whole / "history.csv").read_bytes()
