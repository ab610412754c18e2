"""Training one model on one task.

A run writes, in its folder: ``model.keras`` (the model after the last epoch),
``best.keras`` (the best by validation loss, the one restoration uses),
``history.csv`` (one row per epoch, appended across restarts), ``tensorboard/``,
``setup.json`` (what restoration needs to use the model: target, normalization, patch
size) and ``normalization.json``. A ``backup/`` folder holds the last finished epoch,
weights and optimizer state included: a run killed halfway and started again resumes
from there instead of starting over.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

log = logging.getLogger(__name__)

MAX_EPOCHS_VARIABLE = "KERAS_MAX_EPOCHS"


def configure_backend(threads: int, gpus: int = 0) -> None:
    """Hold TensorFlow's thread pools to the job's threads, and keep a CPU job off any
    GPU. Must run before the backend does any work."""
    if gpus == 0:
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))


def epochs_allowed(configured: int) -> int:
    """The configured epochs, or fewer when ``KERAS_MAX_EPOCHS`` says so (tests)."""
    cap = os.environ.get(MAX_EPOCHS_VARIABLE)
    return min(configured, int(cap)) if cap else configured


def model_kind(corruptions: list[str]) -> dict:
    """How a spectrogram model sees a task: a mask input where bins were removed, and
    known bins kept exactly where those bins are also clean (no noise)."""
    with_mask = bool({"gap", "packetloss", "bandhole"} & set(corruptions))
    return {"with_mask": with_mask, "keep_known": with_mask and "noise" not in corruptions}


class SaveBest(keras.callbacks.Callback):
    """Saves the model (or the part ``extract`` picks) whenever ``monitor`` improves;
    the best value is kept beside the file, so a resumed run knows what to beat."""

    def __init__(self, path: Path, monitor: str, extract=None):
        super().__init__()
        self.path, self.monitor, self.extract = path, monitor, extract
        self.state_path = path.with_suffix(".json")
        self.best = json.loads(self.state_path.read_text())["best"] if self.state_path.exists() else math.inf

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(value) or value >= self.best:
            return
        self.best = float(value)
        (self.extract(self.model) if self.extract else self.model).save(self.path)
        self.state_path.write_text(json.dumps({"best": self.best, "epoch": epoch + 1, "monitor": self.monitor}))
        log.info("epoch %d: %s improved to %.5f, saved %s", epoch + 1, self.monitor, value, self.path)


def callbacks(out_dir: Path, monitor: str, training: dict, extract=None, schedule: bool = True) -> list:
    backup = out_dir / "backup"
    history = out_dir / "history.csv"
    if not backup.exists():
        # A fresh start: no earlier run to continue, so no earlier history or best.
        for stale in (history, out_dir / "best.json"):
            stale.unlink(missing_ok=True)
    else:
        log.info("resuming from the backup in %s", backup)
    chosen = [
        # The history row goes first: a kill between the two repeats an epoch rather than losing its row.
        keras.callbacks.CSVLogger(str(history), append=True),
        # Two states kept: a kill while the newest is being written falls back to the one before.
        keras.callbacks.BackupAndRestore(str(backup), double_checkpoint=True),
        SaveBest(out_dir / "best.keras", monitor, extract),
        keras.callbacks.EarlyStopping(
            monitor=monitor,
            mode="min",
            patience=training["early_stopping"]["patience"],
            min_delta=training["early_stopping"]["min_delta"],
        ),
    ]
    if schedule:
        plateau = training["reduce_lr"]
        chosen.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor,
                mode="min",
                factor=plateau["factor"],
                patience=plateau["patience"],
                min_lr=plateau["min_lr"],
            )
        )
    try:
        chosen.append(keras.callbacks.TensorBoard(str(out_dir / "tensorboard"), write_graph=False))
    except Exception as err:  # TensorBoard needs tensorflow or tensorboardX, which a backend may lack
        log.warning("no TensorBoard logs: %s", err)
    return chosen


def build_spectrogram_model(name: str, options: dict, n_freq: int, patch_frames: int, kind: dict, target: str):
    from . import models

    output = {"mask": "sigmoid", "residual": "tanh"}.get(target)
    if name == "cnn8":
        model = models.build_cnn8(
            n_freq, None, kind["with_mask"], kind["keep_known"], options["filters"], tuple(options["kernel_size"])
        )
    elif name == "unet":
        model = models.build_unet(
            n_freq, patch_frames, kind["with_mask"], kind["keep_known"], options["depth"], options["filters"],
            options["dropout"], output,
        )  # fmt: skip
    elif name == "pix2pix":
        model = models.build_pix2pix(
            n_freq, patch_frames, kind["with_mask"], kind["keep_known"], options["depth"], options["filters"],
            options["discriminator_filters"], options["l1_weight"],
        )  # fmt: skip
    else:
        raise ValueError(f"{name} is not a spectrogram model")
    return model


def train_spectrogram_model(
    name: str,
    options: dict,
    training: dict,
    corruptions: list[str],
    train_pairs,
    valid_pairs,
    out_dir: str | Path,
    seed: int,
    workers: int = 1,
    about: dict | None = None,
) -> dict:
    """Train cnn8, unet or pix2pix on (corrupted, clean) magnitude pairs. ``about`` (the
    task, its corruptions, the sample rate and STFT) goes into setup.json, so that the
    model can be used outside the pipeline."""
    from .datasets import PatchDataset, prepare

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    kind = model_kind(corruptions)
    # Targets other than the clean magnitude are ways of removing noise.
    target = options.get("target", "clean") if "noise" in corruptions else "clean"
    train_arrays, normalization = prepare(train_pairs, options["normalization"], target)
    valid_arrays, _ = prepare(valid_pairs, options["normalization"], target, normalization)
    normalization.save(out_dir / "normalization.json")
    patch_frames = training["patch_frames"]
    n_freq = train_arrays[0].x.shape[0]
    setup = {"model": name, "target": target, "patch_frames": patch_frames, "n_freq": n_freq, **kind,
             "normalization": options["normalization"], **(about or {})}  # fmt: skip
    (out_dir / "setup.json").write_text(json.dumps(setup, indent=1))

    dataset = PatchDataset(
        train_arrays, patch_frames, training["batch_size"], training["steps_per_epoch"], seed, kind["with_mask"],
        workers=workers, use_multiprocessing=False, max_queue_size=8,
    )  # fmt: skip
    validation = PatchDataset(
        valid_arrays or train_arrays, patch_frames, training["batch_size"], 1, seed + 1, kind["with_mask"]
    ).fixed(training["validation_batches"])

    model = build_spectrogram_model(name, options, n_freq, patch_frames, kind, target)
    model(tuple(array[:1] for array in validation[0]))  # built before fit, as BackupAndRestore needs
    if name == "pix2pix":
        model.compile(options["learning_rate"], options["beta_1"])
        monitor, extract, schedule = "val_g_l1", (lambda m: m.generator), False
    else:
        loss = "mse" if target == "mask" else "mae"
        model.compile(keras.optimizers.Adam(training["learning_rate"]), loss=loss)
        monitor, extract, schedule = "val_loss", None, True
    epochs = epochs_allowed(training["epochs"])
    log.info("training %s: %s, %d training and %d validation utterances, %d epochs of %d steps",
             name, setup, len(train_arrays), len(valid_arrays), epochs, training["steps_per_epoch"])  # fmt: skip
    started = time.perf_counter()
    history = model.fit(
        dataset, validation_data=validation, epochs=epochs, verbose=2,
        callbacks=callbacks(out_dir, monitor, training, extract, schedule),
    )  # fmt: skip
    final = model.generator if name == "pix2pix" else model
    final.save(out_dir / "model.keras")
    if not (out_dir / "best.keras").exists():
        final.save(out_dir / "best.keras")
    return {"epochs_run": len(history.history.get("loss", [])), "seconds": time.perf_counter() - started, **setup}


def train_mfccnet(
    options: dict, training: dict, train_frames, valid_frames, out_dir: str | Path, seed: int, about: dict | None = None
) -> dict:
    """Seed 2's frame network on MFCC frames (Adagrad, MSE, batches of 128)."""
    from .datasets import FrameDataset
    from .models import build_mfccnet

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    setup = {
        "model": "mfccnet",
        **{k: options[k] for k in ("n_mfcc", "n_mels", "n_fft", "hop", "lifter", "fmin", "fmax")},
        **(about or {}),
    }
    (out_dir / "setup.json").write_text(json.dumps(setup, indent=1))
    dataset = FrameDataset(train_frames, options["batch_size"], training["steps_per_epoch"], seed)
    valid = FrameDataset(valid_frames or train_frames, options["batch_size"], 1, seed + 1)
    rows = np.random.default_rng(seed).integers(0, len(valid.x), min(len(valid.x), 4096))
    validation = ((valid.x[rows], valid.missing[rows]), valid.y[rows])
    model = build_mfccnet(options["n_mfcc"], options["n_mels"], options["hidden"], seed)
    model.compile(keras.optimizers.Adagrad(options["learning_rate"]), loss="mse")
    epochs = epochs_allowed(training["epochs"])
    started = time.perf_counter()
    history = model.fit(dataset, validation_data=validation, epochs=epochs, verbose=2,
                        callbacks=callbacks(out_dir, "val_loss", training, None, schedule=False))  # fmt: skip
    model.save(out_dir / "model.keras")
    if not (out_dir / "best.keras").exists():
        model.save(out_dir / "best.keras")
    return {"epochs_run": len(history.history.get("loss", [])), "seconds": time.perf_counter() - started, **setup}
