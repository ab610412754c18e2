"""Does training wait on its input? Compares how fast the input pipeline makes batches
with how fast the model consumes them, for each default spectrogram model.

Real speech from ../shared/data/realmini is corrupted with the default gap task, paired
with its clean STFT magnitudes and cut into patches exactly as the train rule does; the
patch dataset's batches per second (one thread, no prefetching) are set against the
model's training steps per second (the job's one thread).

    python benchmarks/training_input.py [--files 60] [--steps 20]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from specrestore import baselines, dsp
from specrestore.audio import find_audio_files, read_audio
from specrestore.config import task_corruptions
from specrestore.corruption import Task, corrupt
from specrestore.datasets import Pair, PatchDataset, prepare
from specrestore.training import build_spectrogram_model, configure_backend, model_kind


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
    task = Task.from_config("gap", task_corruptions(config)["gap"])
    pairs = []
    for index, path in enumerate(find_audio_files(args.corpus)[::5][: args.files]):
        data, rate = read_audio(path)
        clean = dsp.normalise_level(dsp.resample(dsp.to_mono(data), rate, 16000), 16000, -26)[0]
        result = corrupt(clean, 16000, task, params, 1, f"u{index}", "train")
        clean_mag = np.abs(dsp.stft(clean, params))
        missing = baselines.missing_bins(clean_mag.shape[1], params, result.sample_mask, None)
        pairs.append(Pair(f"u{index}", np.abs(dsp.stft(result.audio, params)), clean_mag, missing))
    arrays, _ = prepare(pairs, "logmag_standard", "clean")
    kind = model_kind(task.corruptions)
    batch = training["batch_size"]
    dataset = PatchDataset(arrays, training["patch_frames"], batch, args.steps, 1, kind["with_mask"])
    started = time.perf_counter()
    for index in range(args.steps):
        inputs, target = dataset[index]
    input_rate = args.steps / (time.perf_counter() - started)
    print(f"{len(pairs)} recordings; patches {params.n_freq} x {training['patch_frames']} frames, batches of {batch}")
    print(f"input pipeline: {input_rate:8.1f} batches/s (one thread, no prefetch)")
    for name in ("unet", "cnn8", "pix2pix"):
        model = build_spectrogram_model(
            name, config["model_options"][name], params.n_freq, training["patch_frames"], kind, "clean"
        )
        model(tuple(a[:1] for a in inputs))
        if name == "pix2pix":
            model.compile(2e-4, 0.5)
        else:
            import keras

            model.compile(keras.optimizers.Adam(1e-3), loss="mae")
        model.train_on_batch(inputs, target)  # tracing
        started = time.perf_counter()
        for _ in range(args.steps):
            model.train_on_batch(inputs, target)
        step_rate = args.steps / (time.perf_counter() - started)
        print(f"{name:8s} model:  {step_rate:8.2f} steps/s   input is {input_rate / step_rate:6.0f}x faster")


if __name__ == "__main__":
    main()
