import os
import signal
import subprocess
import sys
import time

import pandas as pd

from conftest import REPO

TRAIN = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
from specrestore.datasets import Pair
from specrestore.training import configure_backend, train_spectrogram_model
configure_backend(1)
rng = np.random.default_rng(0)
pairs = []
for i in range(4):
    clean = np.abs(rng.standard_normal((33, 120))).astype(np.float32) + 0.1
    missing = np.zeros_like(clean, dtype=bool)
    missing[:, 50:56] = True
    pairs.append(Pair(f"u{i}", np.where(missing, 0, clean), clean, missing))
training = {"patch_frames": 16, "batch_size": 4, "epochs": int(sys.argv[2]), "steps_per_epoch": 4,
            "validation_batches": 1, "learning_rate": 1e-3, "early_stopping": {"patience": 1000, "min_delta": 0.0},
            "reduce_lr": {"factor": 0.5, "patience": 1000, "min_lr": 1e-5}}
options = {"depth": 2, "filters": 4, "dropout": 0.0, "normalization": "logmag_standard", "target": "clean"}
print(train_spectrogram_model("unet", options, training, ["gap"], pairs, pairs[:1], sys.argv[1], 3))
"""


def _command(out_dir, epochs):
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    env.pop("KERAS_MAX_EPOCHS", None)
    return [sys.executable, "-c", TRAIN, str(out_dir), str(epochs)], env


def test_a_killed_training_resumes_where_it_stopped(tmp_path):
    history = tmp_path / "history.csv"
    command, env = _command(tmp_path, 60)
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and first.poll() is None:
        if history.exists() and len(history.read_text().splitlines()) > 3:  # header and 3 epochs
            break
        time.sleep(0.02)
    assert first.poll() is None, "training finished before it could be killed"
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    done_before = pd.read_csv(history)["epoch"].max() + 1
    assert (tmp_path / "backup").exists() and not (tmp_path / "model.keras").exists()

    command, env = _command(tmp_path, 6)
    second = subprocess.run(command, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-3000:]
    epochs = pd.read_csv(history)["epoch"].tolist()
    assert epochs[:done_before] == list(range(done_before))
    resumed = epochs[done_before:]
    # The restart continues after the last epoch saved before the kill, it does not start over.
    assert resumed and resumed[0] >= done_before - 1 and resumed[-1] == 5
    assert sorted(set(epochs)) == list(range(6))
    assert (tmp_path / "model.keras").exists() and (tmp_path / "best.keras").exists()
    assert not (tmp_path / "backup").exists()  # removed once training finished


def test_max_epochs_variable_caps_training(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow"), "KERAS_MAX_EPOCHS": "2"}
    result = subprocess.run([sys.executable, "-c", TRAIN, str(tmp_path), "50"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert pd.read_csv(tmp_path / "history.csv")["epoch"].tolist() == [0, 1]
