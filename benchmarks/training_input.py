"""Does training wait on its input? Compares how fast the fresh-corruption input makes
batches with how fast each default spectrogram model consumes them.

Real speech from ../shared/data/realmini is the clean training audio; batches are made
exactly as the train rule makes them (:class:`FreshPatchDataset`: excerpts corrupted
anew with the gap, packetloss, bandhole and noise tasks of config.yaml, the noise from
a synthetic training bank with babble of other realmini speakers). Batches per second
(one thread, no prefetching) are set against the models' training steps per second
(the job's one thread). The complex U-Net's input (the same rows, LPC-filled where
samples were lost, from RNNoise's output for noise, as complex patches, with each
task's own model options) is measured the same way against its own model, and, where
it starts from a first estimate, once more without it: the rows alone.

    python benchmarks/training_input.py [--files 60] [--steps 20]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from specrestore import dsp
from specrestore import models as model_builders
from specrestore.audio import find_audio_files, read_audio
from specrestore.config import task_corruptions, task_model_options
from specrestore.corruption import NoiseBank, Task
from specrestore.datasets import CleanUtterance, FreshComplexDataset, FreshCorruption, FreshPatchDataset
from specrestore.noise import build_bank
from specrestore.normalization import fit_normalization
from specrestore.training import (
    build_spectrogram_model,
    complex_first_fill,
    complex_kind,
    complex_training,
    configure_backend,
    model_kind,
)

RATE = 16000
TASKS = ("gap", "packetloss", "bandhole", "noise")
MODELS = ("unet", "cnn8", "pix2pix")


def load_speech(paths) -> list[np.ndarray]:
    speech = []
    for path in paths:
        data, rate = read_audio(path)
        speech.append(dsp.normalise_level(dsp.resample(dsp.to_mono(data), rate, RATE), RATE, -26)[0])
    return speech


def noise_bank(config: dict, babble: list[np.ndarray]) -> NoiseBank:
    options = config["noise_sources"]["synthetic"]
    recordings = build_bank(
        ["train"], options["kinds"], options["recordings_per_kind"], options["duration_s"], RATE, 1,
        {"train": {f"talker{i}": [x] for i, x in enumerate(babble)}}, tuple(options["babble_talkers"]),
    )  # fmt: skip
    table = pd.DataFrame([{"id": r.id, "kind": r.kind, "split": r.split} for r in recordings])
    return NoiseBank({r.id: r.audio for r in recordings}, table)


def input_rate(dataset: FreshPatchDataset, steps: int) -> tuple[float, tuple]:
    """Batches per second of ``dataset`` (one thread), and its last batch; the first
    batch, which compiles librosa's LPC (numba), is not timed."""
    dataset[steps]
    started = time.perf_counter()
    for index in range(steps):
        batch = dataset[index]
    return steps / (time.perf_counter() - started), batch


def step_rate(name: str, config: dict, params: dsp.StftParams, kind: dict, batch, steps: int) -> float:
    import keras

    inputs, target = batch
    training = config["training"]
    model = build_spectrogram_model(name, config["model_options"][name], params.n_freq, training["patch_frames"],
                                    kind, "clean")  # fmt: skip
    model(tuple(a[:1] for a in inputs))
    if name == "pix2pix":
        model.compile(2e-4, 0.5)
    else:
        model.compile(keras.optimizers.Adam(1e-3), loss="mae")
    model.train_on_batch(inputs, target)  # tracing
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(inputs, target)
    return steps / (time.perf_counter() - started)


def complex_step_rate(options: dict, patch_frames: int, params: dsp.StftParams, kind: dict, batch, steps: int) -> float:
    import keras

    inputs, target = batch
    model = model_builders.build_complex_unet(
        params.n_freq, patch_frames, kind["with_mask"], kind["denoise"], options["depth"], options["filters"],
        options.get("frequency_transforms", False),
    )  # fmt: skip
    loss = model_builders.ComplexRestorationLoss(
        params.n_fft, params.hop, options["compress"], options["complex_weight"], options["waveform_weight"]
    )
    model.compile(keras.optimizers.Adam(1e-3), loss=loss)
    model.train_on_batch(inputs, target)  # tracing
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(inputs, target)
    return steps / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "realmini"))
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    if not Path(args.corpus).is_dir():
        sys.exit(f"corpus folder {args.corpus} not found")
    configure_backend(1)
    with open(REPO / "config.yaml") as handle:
        config = yaml.safe_load(handle)
    params = dsp.StftParams.from_config(config["stft"])
    training = config["training"]
    files = find_audio_files(args.corpus)
    clean = [CleanUtterance(f"u{i}", x) for i, x in enumerate(load_speech(files[::5][: args.files]))]
    bank = noise_bank(config, load_speech(files[2::50][:8]))
    specs = task_corruptions(config)
    minutes = sum(len(u.audio) for u in clean) / RATE / 60
    print(f"{len(clean)} recordings ({minutes:.1f} min); patches {params.n_freq} x {training['patch_frames']} "
          f"frames, batches of {training['batch_size']}")  # fmt: skip

    rates, batches = {}, {}
    for name in TASKS:
        task = Task.from_config(name, specs[name])
        source = FreshCorruption(clean, task, RATE, params, bank if task.noise else None)
        normalization = fit_normalization("logmag_standard", source.clean_magnitudes())
        kind = model_kind(task.corruptions)
        dataset = FreshPatchDataset(source, normalization, "clean", training["patch_frames"], training["batch_size"],
                                    args.steps, 1, kind["with_mask"])  # fmt: skip
        rates[name], batches[name] = input_rate(dataset, args.steps)
        print(f"fresh {name:10s} input: {rates[name]:7.1f} batches/s (one thread, no prefetch)")
    kind = model_kind(["gap"])
    slowest = min(rates.values())
    for name in MODELS:
        steps = step_rate(name, config, params, kind, batches["gap"], args.steps)
        ratios = "  ".join(f"{task} {rates[task] / steps:5.1f}x" for task in TASKS)
        print(f"{name:8s} model: {steps:7.2f} steps/s; input faster by {ratios} (slowest input {slowest / steps:.1f}x)")

    lpc = {"method": "lpc", **config["evaluation"]["lpc"]}
    for name in TASKS:
        task = Task.from_config(name, specs[name])
        source = FreshCorruption(clean, task, RATE, params, bank if task.noise else None)
        kind = complex_kind(task.corruptions)
        # Each task's own options, as the train rule reads them (the noise task's RNNoise
        # first estimate, its own patches and batches).
        options = task_model_options(config, name, "cunet")
        fill = complex_first_fill(options, task.corruptions, lpc)
        own = complex_training(options, training)
        patch_frames, batch_size = own["patch_frames"], own["batch_size"]
        dataset = FreshComplexDataset(source, fill, options["compress"], patch_frames, batch_size, args.steps, 1,
                                      kind["with_mask"])  # fmt: skip
        rate, batch = input_rate(dataset, args.steps)
        steps = complex_step_rate(options, patch_frames, params, kind, batch, args.steps)
        first = fill["method"] if fill else "input"
        print(f"cunet    {name:10s}: {batch_size} x {patch_frames} frames from {first:7s}: input {rate:6.1f} "
              f"batches/s, model {steps:5.2f} steps/s: input faster by {rate / steps:5.1f}x")  # fmt: skip
        if fill:
            # The first estimate is also the first stage of the model at inference; how
            # much of the input's time it takes, against the rows alone.
            bare = FreshComplexDataset(source, None, options["compress"], patch_frames, batch_size, args.steps, 1,
                                       kind["with_mask"])  # fmt: skip
            bare_rate, _ = input_rate(bare, args.steps)
            estimate_ms = 1000 * (1 / rate - 1 / bare_rate)
            print(f"         {'':10s}  rows alone {bare_rate:6.1f} batches/s ({bare_rate / steps:5.1f}x the model), "
                  f"{first} {estimate_ms:5.0f} ms a batch, the model {1000 / steps:4.0f} ms a step")  # fmt: skip


if __name__ == "__main__":
    main()
