"""Training one model on one task.

A run writes, in its folder: ``model.keras`` (the model after the last epoch),
``best.keras`` (the best by validation loss, the one restoration uses),
``history.csv`` (one row per epoch, kept across restarts), ``tensorboard/``,
``setup.json`` (what restoration needs to use the model: target, normalization, patch
size) and ``normalization.json``. A ``backup/`` folder holds the last finished epochs
(see :class:`ResumableRun`): a run killed halfway and started again with the same
settings resumes from there and ends exactly as if it had not been stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
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
    """Saves the model (or the part ``extract`` picks) whenever ``monitor`` improves,
    with the best value beside the file (``best.json``)."""

    def __init__(self, path: Path, monitor: str, extract=None):
        super().__init__()
        self.path, self.monitor, self.extract = path, monitor, extract
        self.state_path = path.with_suffix(".json")
        self.best, self.epoch = math.inf, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(value) or value >= self.best:
            return
        self.best, self.epoch = float(value), epoch + 1
        _replace(self.path, lambda partial: (self.extract(self.model) if self.extract else self.model).save(partial))
        self.state_path.write_text(json.dumps({"best": self.best, "epoch": self.epoch, "monitor": self.monitor}))
        log.info("epoch %d: %s improved to %.5f, saved %s", epoch + 1, self.monitor, value, self.path)


def _replace(path: Path, write) -> None:
    """Write through a temporary name and rename: a kill leaves the old file or the new one."""
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    write(partial)
    os.replace(partial, path)


def fingerprint(value) -> str:
    """SHA-256 of a JSON-able value, or of arrays' bytes, shapes and dtypes."""
    digest = hashlib.sha256()
    if isinstance(value, np.ndarray):
        digest.update(f"{value.dtype}{value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    else:
        digest.update(json.dumps(value, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def data_fingerprint(*collections) -> str:
    """One fingerprint of every array of the training and validation data, in order:
    arrays, or items whose attributes hold them."""
    digest = hashlib.sha256()
    for items in collections:
        for item in items:
            arrays = [item] if isinstance(item, np.ndarray) else vars(item).values()
            for array in arrays:
                if isinstance(array, np.ndarray):
                    digest.update(fingerprint(array).encode())
    return digest.hexdigest()


# What a killed run must get back to be the run it replaces, besides weights and optimizer.
CALLBACK_STATE = {
    keras.callbacks.EarlyStopping: ("wait", "stopped_epoch", "best", "best_epoch"),
    keras.callbacks.ReduceLROnPlateau: ("wait", "cooldown_counter", "best"),
    SaveBest: ("best", "epoch"),
}
BACKUP_KEEP = 2


class ResumableRun(keras.callbacks.Callback):
    """Makes a killed training job resumable as if it had never stopped.

    After every epoch (it runs after every other callback), ``backup/epoch-NNNN/`` gets
    the model's variables (seed-generator states included), the optimizer's (step,
    learning rate, moments), the state of the early-stopping, schedule and best-model
    callbacks, every history row so far, a link to the best model and the settings it
    was made with; the folder is written under a temporary name and renamed, and the
    two newest are kept, so a kill at any moment leaves a whole one. Snakemake deletes a
    job's outputs before it reruns it, so ``history.csv``, ``best.keras`` and
    ``best.json`` are written back from the backup.

    :func:`resume` decides, before ``fit``, whether the newest backup belongs to this
    run: only if it was made with the same settings (model options, training settings,
    seed, data). Otherwise training starts over and the log says what changed.
    """

    def __init__(self, out_dir: Path, settings: dict, stateful: list, dataset):
        super().__init__()
        self.out_dir, self.settings, self.stateful, self.dataset = out_dir, settings, stateful, dataset
        self.backup = out_dir / "backup"
        self.history_path = out_dir / "history.csv"
        self.best = next(c for c in stateful if isinstance(c, SaveBest))
        self.rows: list[dict] = []
        self.restored: dict | None = None
        self.initial_epoch, self.stopped = 0, False

    # -- before fit --------------------------------------------------------------------

    def resume(self) -> int:
        """Load the newest matching backup into the model; returns the epoch to start at."""
        newest = self._newest()
        if newest is not None:
            state = json.loads((newest / "state.json").read_text())
            changed = sorted(
                key for key in set(state["settings"]) | set(self.settings)
                if fingerprint(state["settings"].get(key)) != fingerprint(self.settings.get(key))
            )  # fmt: skip
            if not changed:
                self._load(newest, state)
                log.info("resuming from %s: %d epochs done, learning rate %.6g", newest, state["epoch"],
                         self._learning_rate())  # fmt: skip
                return self.initial_epoch
            log.warning("not resuming from %s: made with other settings (%s); starting over",
                        newest, ", ".join(changed))  # fmt: skip
        self._start_over()
        return 0

    def _newest(self) -> Path | None:
        done = sorted(self.backup.glob("epoch-*")) if self.backup.is_dir() else []
        return next((d for d in reversed(done) if (d / "state.json").is_file()), None)

    def _start_over(self) -> None:
        for stale in (self.history_path, self.out_dir / "best.json", self.out_dir / "best.keras"):
            stale.unlink(missing_ok=True)
        # Earlier event files would show an unrelated run's curves beside this one's.
        for folder in (self.backup, self.out_dir / "tensorboard"):
            shutil.rmtree(folder, ignore_errors=True)

    def _load(self, folder: Path, state: dict) -> None:
        model = self.model_to_restore
        optimizer = model.optimizer
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        with np.load(folder / "variables.npz") as saved:
            for prefix, variables in (("model", model.variables), ("optimizer", optimizer.variables)):
                count = sum(key.startswith(prefix + "/") for key in saved.files)
                if count != len(variables):
                    raise RuntimeError(f"{folder}: {count} saved {prefix} variables, the model has {len(variables)}")
                for index, variable in enumerate(variables):
                    variable.assign(saved[f"{prefix}/{index}"])
        self.rows = state["history"]
        self.restored = state["callbacks"]
        self.initial_epoch, self.stopped = state["epoch"], state["stopped"]
        self.dataset.start_at_epoch(state["epoch"])
        if (folder / "best.keras").exists():
            shutil.copyfile(folder / "best.keras", self.best.path)
            self.best.state_path.write_text(json.dumps(state["best_file"]))
        self._write_history()

    def _learning_rate(self) -> float:
        return float(keras.ops.convert_to_numpy(self.model_to_restore.optimizer.learning_rate))

    # -- during fit --------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        # The other callbacks have just reset themselves; give them their state back.
        for callback in self.stateful:
            for name, value in (self.restored or {}).get(type(callback).__name__, {}).items():
                setattr(callback, name, math.inf if value is None and name == "best" and callback is self.best
                        else value)  # fmt: skip

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch, **{k: float(v) for k, v in sorted((logs or {}).items())}}
        row["learning_rate"] = self._learning_rate()
        self.rows.append(row)
        self._write_history()
        self._save(epoch + 1)

    def _write_history(self) -> None:
        columns = ["epoch", *sorted({k for row in self.rows for k in row} - {"epoch"})]
        lines = [",".join(columns)] + [",".join(repr(row.get(c, "")) for c in columns) for row in self.rows]
        _replace(self.history_path, lambda partial: partial.write_text("\n".join(lines) + "\n"))

    def _save(self, epochs_done: int) -> None:
        model = self.model_to_restore
        partial = self.backup / f".partial-{epochs_done:04d}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        arrays = {f"model/{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(model.variables)}
        arrays |= {f"optimizer/{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(model.optimizer.variables)}
        np.savez(partial / "variables.npz", **arrays)
        best_file = None
        if self.best.path.exists():
            os.link(self.best.path, partial / "best.keras")
            best_file = json.loads(self.best.state_path.read_text())
        callbacks_state = {
            type(c).__name__: {name: _plain(getattr(c, name)) for name in CALLBACK_STATE[type(c)]}
            for c in self.stateful
        }
        state = {"epoch": epochs_done, "settings": self.settings, "callbacks": callbacks_state,
                 "history": self.rows, "best_file": best_file, "stopped": bool(model.stop_training)}  # fmt: skip
        (partial / "state.json").write_text(json.dumps(state, indent=1))
        os.replace(partial, self.backup / f"epoch-{epochs_done:04d}")
        for old in sorted(self.backup.glob("epoch-*"))[:-BACKUP_KEEP]:
            shutil.rmtree(old, ignore_errors=True)

    @property
    def model_to_restore(self):
        return self.model if self.model is not None else self._model_before_fit

    def bind(self, model) -> ResumableRun:
        """The model whose state :meth:`resume` loads (``fit`` sets it again later)."""
        self._model_before_fit = model
        return self


def _plain(value):
    """A callback's state as JSON: numbers as Python floats, infinity as None."""
    if value is None or isinstance(value, (int, bool)):
        return value
    value = float(value)
    return value if math.isfinite(value) else None


def callbacks(out_dir: Path, monitor: str, training: dict, extract=None, schedule: bool = True) -> list:
    """Early stopping, the learning-rate schedule, the best model and TensorBoard; the
    resumable run that keeps their state comes last (see :func:`fit_resumable`)."""
    chosen = [
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


def fit_resumable(
    model, dataset, validation, epochs: int, out_dir: Path, settings: dict, chosen: list, save_final, extra_callbacks=()
) -> int:
    """``model.fit`` that picks up a killed run where it stopped, then ``save_final()``;
    returns the number of epochs in the history (before and after any restart).
    ``settings`` is everything the run depends on: a backup made with other settings
    is not used."""
    stateful = [c for c in chosen if type(c) in CALLBACK_STATE]
    run = ResumableRun(out_dir, settings, stateful, dataset).bind(model)
    initial_epoch = run.resume()
    if run.stopped or initial_epoch >= epochs:
        log.info("the backup holds the finished run (%d epochs)", initial_epoch)
    else:
        model.fit(
            dataset, validation_data=validation, epochs=epochs, initial_epoch=initial_epoch,
            steps_per_epoch=dataset.steps, verbose=2, callbacks=[*chosen, run, *extra_callbacks],
        )  # fmt: skip
    save_final()
    # Only now: a kill before this point still finds the backup.
    shutil.rmtree(run.backup, ignore_errors=True)
    return len(run.rows)


def run_settings(model: str, options: dict, training: dict, seed: int, **more) -> dict:
    """What a training run depends on, for :class:`ResumableRun`. The epoch count is
    left out: a run continued to more epochs is the same run, longer."""
    return {"model": model, "options": options, "training": {k: v for k, v in training.items() if k != "epochs"},
            "seed": seed, "backend": keras.backend.backend(), "keras": keras.__version__, **more}  # fmt: skip


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


def spectrogram_data(train_data, valid_pairs, options: dict, training: dict, target: str, with_mask: bool, seed: int):
    """The training dataset, the fixed validation batches, the normalization (fitted on
    the clean training magnitudes) and the settings a resumed run must find unchanged.
    ``train_data`` is a :class:`~specrestore.datasets.FreshCorruption` (fresh
    corruptions for every batch) or the corrupt stage's training pairs (fixed copies);
    validation uses the fixed ``valid_pairs`` (without them, fixed batches of the
    training data, drawn with another seed)."""
    from .datasets import FreshCorruption, FreshPatchDataset, PatchDataset, prepare
    from .normalization import fit_normalization

    patch_frames, batch_size = training["patch_frames"], training["batch_size"]

    if isinstance(train_data, FreshCorruption):
        normalization = fit_normalization(options["normalization"], train_data.clean_magnitudes())

        def make(data_seed, steps):
            return FreshPatchDataset(
                train_data, normalization, target, patch_frames, batch_size, steps, data_seed, with_mask
            )

        corruption, train_arrays = train_data.settings(), train_data.arrays()
    else:
        train_arrays, normalization = prepare(train_data, options["normalization"], target)

        def make(data_seed, steps):
            return PatchDataset(train_arrays, patch_frames, batch_size, steps, data_seed, with_mask)

        corruption = "fixed copies"
    valid_arrays, _ = prepare(valid_pairs, options["normalization"], target, normalization)
    if valid_arrays:
        fixed = PatchDataset(valid_arrays, patch_frames, batch_size, 1, seed + 1, with_mask)
    else:
        fixed = make(seed + 1, 1)
    validation = fixed.fixed(training["validation_batches"])
    settings = {"corruption": corruption, "data": data_fingerprint(train_arrays, valid_arrays)}
    return make(seed, training["steps_per_epoch"]), validation, normalization, settings


def train_spectrogram_model(
    name: str,
    options: dict,
    training: dict,
    corruptions: list[str],
    train_data,
    valid_pairs,
    out_dir: str | Path,
    seed: int,
    about: dict | None = None,
    extra_callbacks=(),
) -> dict:
    """Train cnn8, unet or pix2pix on fresh corruptions of clean speech (``train_data``
    a :class:`~specrestore.datasets.FreshCorruption`) or on the corrupt stage's
    (corrupted, clean) magnitude pairs; validation on the fixed ``valid_pairs``.
    ``about`` (the task, its corruptions, the sample rate and STFT) goes into
    setup.json, so that the model can be used outside the pipeline."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    kind = model_kind(corruptions)
    # Targets other than the clean magnitude are ways of removing noise.
    target = options.get("target", "clean") if "noise" in corruptions else "clean"
    dataset, validation, normalization, data_settings = spectrogram_data(
        train_data, valid_pairs, options, training, target, kind["with_mask"], seed
    )
    normalization.save(out_dir / "normalization.json")
    patch_frames = training["patch_frames"]
    n_freq = validation[0][0].shape[1]
    setup = {"model": name, "target": target, "patch_frames": patch_frames, "n_freq": n_freq, **kind,
             "normalization": options["normalization"], **(about or {})}  # fmt: skip
    (out_dir / "setup.json").write_text(json.dumps(setup, indent=1))

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
    source = "fixed corrupted copies" if data_settings["corruption"] == "fixed copies" else "fresh corruptions"
    log.info("training %s: %s, on %s of %d utterances, %d validation utterances, %d epochs of %d steps",
             name, setup, source, len(train_data), len(valid_pairs), epochs, training["steps_per_epoch"])  # fmt: skip
    settings = run_settings(name, options, training, seed, corruptions=list(corruptions), setup=setup,
                            **data_settings)  # fmt: skip
    final = (lambda: model.generator) if name == "pix2pix" else (lambda: model)

    def save_final():
        final().save(out_dir / "model.keras")
        if not (out_dir / "best.keras").exists():
            final().save(out_dir / "best.keras")

    started = time.perf_counter()
    chosen = callbacks(out_dir, monitor, training, extract, schedule)
    epochs_run = fit_resumable(
        model, dataset, validation, epochs, out_dir, settings, chosen, save_final, extra_callbacks
    )
    return {"epochs_run": epochs_run, "seconds": time.perf_counter() - started, **setup}


def train_mfccnet(
    options: dict,
    training: dict,
    train_frames,
    valid_frames,
    out_dir: str | Path,
    seed: int,
    about: dict | None = None,
    extra_callbacks=(),
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
    settings = run_settings("mfccnet", options, training, seed, setup=setup,
                            data=data_fingerprint(train_frames, valid_frames))  # fmt: skip

    def save_final():
        model.save(out_dir / "model.keras")
        if not (out_dir / "best.keras").exists():
            model.save(out_dir / "best.keras")

    started = time.perf_counter()
    chosen = callbacks(out_dir, "val_loss", training, None, schedule=False)
    epochs_run = fit_resumable(
        model, dataset, validation, epochs, out_dir, settings, chosen, save_final, extra_callbacks
    )
    return {"epochs_run": epochs_run, "seconds": time.perf_counter() - started, **setup}


def complex_kind(corruptions: list[str]) -> dict:
    """How the complex U-Net sees a task: holes to fill (with the mask), noise to remove, or both."""
    return {"with_mask": bool({"gap", "packetloss", "bandhole"} & set(corruptions)), "denoise": "noise" in corruptions}


def complex_first_fill(options: dict, corruptions, dropout_fill: dict | None) -> dict | None:
    """What the complex U-Net starts from: ``dropout_fill`` (LPC) where samples were lost,
    RNNoise's output for noise alone where ``options["noise_fill"]`` asks for it."""
    if {"gap", "packetloss"} & set(corruptions):
        return dropout_fill
    if "noise" in corruptions and options.get("noise_fill") == "rnnoise":
        from .datasets import RNNOISE_WARMUP_MS

        return {"method": "rnnoise", "warmup_ms": RNNOISE_WARMUP_MS}
    return None


def complex_training(options: dict, training: dict) -> dict:
    """``training`` with the model's own patch and batch, where it sets them (for the
    RNNoise fill, each row's warm-up costs as much as a patch: fewer, longer rows cost less)."""
    return {**training, **{k: options[k] for k in ("patch_frames", "batch_size") if options.get(k)}}


def train_complex_model(
    options: dict,
    training: dict,
    corruptions: list[str],
    train_data,
    valid_items,
    out_dir: str | Path,
    seed: int,
    sample_rate: int,
    params,
    fill: dict | None,
    about: dict | None = None,
    extra_callbacks=(),
) -> dict:
    """Train the complex U-Net (``cunet``) on fresh corruptions (``train_data`` a
    :class:`~specrestore.datasets.FreshCorruption`) or on fixed corrupted utterances (a
    list of :class:`~specrestore.datasets.WaveformItem`); validation on ``valid_items``.
    ``fill`` is the classical first fill of dropouts (see
    :func:`~specrestore.datasets.first_fill`), recorded in setup.json for restoration."""
    from . import models
    from .datasets import ComplexPatchDataset, FreshComplexDataset, FreshCorruption

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    kind = complex_kind(corruptions)
    fill = complex_first_fill(options, corruptions, fill)
    training = complex_training(options, training)
    patch_frames, batch_size, compress = training["patch_frames"], training["batch_size"], options["compress"]
    setup = {"model": "cunet", "patch_frames": patch_frames, "n_freq": params.n_freq, **kind, "compress": compress,
             "fill": fill, **(about or {})}  # fmt: skip
    (out_dir / "setup.json").write_text(json.dumps(setup, indent=1))

    def fixed(items, data_seed, steps):
        return ComplexPatchDataset(
            items, sample_rate, params, fill, compress, patch_frames, batch_size, steps, data_seed, kind["with_mask"]
        )

    def fresh(data_seed, steps):
        return FreshComplexDataset(
            train_data, fill, compress, patch_frames, batch_size, steps, data_seed, kind["with_mask"]
        )

    if isinstance(train_data, FreshCorruption):
        dataset = fresh(seed, training["steps_per_epoch"])
        corruption, train_arrays = train_data.settings(), train_data.arrays()
    else:
        dataset = fixed(train_data, seed, training["steps_per_epoch"])
        corruption, train_arrays = "fixed copies", list(dataset.arrays())
    # Without validation utterances: fixed batches of the training data, drawn with another seed.
    if valid_items:
        valid = fixed(valid_items, seed + 1, 1)
    else:
        valid = fresh(seed + 1, 1) if isinstance(train_data, FreshCorruption) else fixed(train_data, seed + 1, 1)
    validation = valid.fixed(training["validation_batches"])

    model = models.build_complex_unet(
        params.n_freq,
        patch_frames,
        kind["with_mask"],
        kind["denoise"],
        options["depth"],
        options["filters"],
        options["frequency_transforms"],
    )
    weights = {k: options[k] for k in ("complex_weight", "waveform_weight", "overestimate_weight")}
    loss = models.ComplexRestorationLoss(params.n_fft, params.hop, compress, window=params.window, **weights)
    model.compile(keras.optimizers.Adam(training["learning_rate"]), loss=loss)
    epochs = epochs_allowed(training["epochs"])
    source = "fixed corrupted copies" if corruption == "fixed copies" else "fresh corruptions"
    log.info("training cunet: %s, %d parameters, on %s of %d utterances, %d validation utterances, "
             "%d epochs of %d steps", setup, model.count_params(), source, len(train_data), len(valid_items), epochs,
             training["steps_per_epoch"])  # fmt: skip
    valid_arrays = list(valid.arrays()) if valid_items else []
    settings = run_settings("cunet", options, training, seed, corruptions=list(corruptions), setup=setup,
                            corruption=corruption, data=data_fingerprint(train_arrays, valid_arrays))  # fmt: skip

    def save_final():
        model.save(out_dir / "model.keras")
        if not (out_dir / "best.keras").exists():
            model.save(out_dir / "best.keras")

    started = time.perf_counter()
    chosen = callbacks(out_dir, "val_loss", training)
    epochs_run = fit_resumable(
        model, dataset, validation, epochs, out_dir, settings, chosen, save_final, extra_callbacks
    )
    return {"epochs_run": epochs_run, "seconds": time.perf_counter() - started,
            "parameters": model.count_params(), **setup}  # fmt: skip
