import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import REPO

# Trains a small model on fixed data. argv: folder, epochs, model, learning rate, and the
# epoch after which the process kills itself (-1: never), as a crash or `kill -9` would.
TRAIN = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import logging
import keras
import numpy as np
from specrestore.datasets import Pair
from specrestore.training import configure_backend, train_spectrogram_model
configure_backend(1)
logging.basicConfig(level=logging.INFO)
folder, epochs, name, learning_rate, kill_after = sys.argv[1:6]


class Crash(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == int(kill_after):
            os._exit(9)


rng = np.random.default_rng(0)
pairs = []
for i in range(4):
    clean = np.abs(rng.standard_normal((33, 120))).astype(np.float32) + 0.1
    missing = np.zeros_like(clean, dtype=bool)
    missing[:, 50:56] = True
    pairs.append(Pair(f"u{i}", np.where(missing, 0, clean), clean, missing))
training = {"patch_frames": 16, "batch_size": 4, "epochs": int(epochs), "steps_per_epoch": 4,
            "validation_batches": 1, "learning_rate": float(learning_rate),
            "early_stopping": {"patience": 1000, "min_delta": 0.0},
            # A schedule that acts within a few epochs, so its state matters on resume.
            "reduce_lr": {"factor": 0.5, "patience": 1, "min_lr": 1e-5}}
options = {"depth": 2, "filters": 4, "dropout": 0.3, "normalization": "logmag_standard", "target": "clean",
           "discriminator_filters": 4, "l1_weight": 100, "learning_rate": float(learning_rate), "beta_1": 0.5,
           "kernel_size": [3, 3]}
if name == "cnn8":
    options["filters"] = 4
print(train_spectrogram_model(name, options, training, ["gap"], pairs, pairs[:1], folder, 3,
                              extra_callbacks=[Crash()]))
"""


def train(out_dir, epochs, model="unet", learning_rate=1e-3, kill_after=-1):
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    env.pop("KERAS_MAX_EPOCHS", None)
    command = [sys.executable, "-c", TRAIN, str(out_dir), str(epochs), model, str(learning_rate), str(kill_after)]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def weights(path):
    import keras

    import specrestore.models  # noqa: F401  (registers the custom layers)

    return [np.asarray(w) for w in keras.models.load_model(path, compile=False).get_weights()]


def assert_same_weights(first, second):
    a, b = weights(first), weights(second)
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("model", ["unet", "pix2pix"])
def test_a_killed_training_resumes_into_the_same_run(tmp_path, model):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    # A rate high enough for the validation loss to rise, so the schedule acts mid-run.
    rate = 0.03 if model == "unet" else 2e-4
    assert train(whole, 4, model, rate).returncode == 0
    crashed = train(killed, 4, model, rate, kill_after=1)
    assert crashed.returncode == 9, crashed.stderr[-3000:]
    assert (killed / "backup").is_dir() and not (killed / "model.keras").exists()
    # Snakemake deletes a job's outputs before it runs it again.
    for output in ("best.keras", "history.csv", "model.keras", "setup.json"):
        (killed / output).unlink(missing_ok=True)

    resumed = train(killed, 4, model, rate)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in resumed.stderr and "2 epochs done" in resumed.stderr
    history = pd.read_csv(killed / "history.csv")
    assert history["epoch"].tolist() == [0, 1, 2, 3]
    assert (killed / "history.csv").read_bytes() == (whole / "history.csv").read_bytes()
    if model == "unet":  # the schedule halved the rate after the restart, as it did without one
        assert history["learning_rate"].iloc[-1] < history["learning_rate"].iloc[2] < rate
    assert_same_weights(whole / "model.keras", killed / "model.keras")
    assert_same_weights(whole / "best.keras", killed / "best.keras")
    assert json.loads((whole / "best.json").read_text()) == json.loads((killed / "best.json").read_text())
    assert not (killed / "backup").exists()  # removed once training finished


def test_a_backup_made_with_other_settings_is_not_used(tmp_path):
    assert train(tmp_path, 4, kill_after=1).returncode == 9
    (tmp_path / "history.csv").unlink()
    changed = train(tmp_path, 2, learning_rate=0.5)
    assert changed.returncode == 0, changed.stderr[-3000:]
    # The test's options carry a learning rate too (Pix2Pix's); both changed keys are named.
    assert "made with other settings (options, training); starting over" in changed.stderr
    history = pd.read_csv(tmp_path / "history.csv")
    assert history["epoch"].tolist() == [0, 1]
    assert history["learning_rate"].iloc[0] == 0.5
    fresh = tmp_path.parent / "fresh"
    assert train(fresh, 2, learning_rate=0.5).returncode == 0
    assert (fresh / "history.csv").read_bytes() == (tmp_path / "history.csv").read_bytes()
    assert_same_weights(fresh / "model.keras", tmp_path / "model.keras")


def test_max_epochs_variable_caps_training(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow"), "KERAS_MAX_EPOCHS": "2"}
    command = [sys.executable, "-c", TRAIN, str(tmp_path), "50", "unet", "0.001", "-1"]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert pd.read_csv(tmp_path / "history.csv")["epoch"].tolist() == [0, 1]
