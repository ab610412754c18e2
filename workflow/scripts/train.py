from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json
from pathlib import Path

from specrestore.corruption import NoiseBank, Task
from specrestore.datasets import (
    FreshCorruption,
    MfccParams,
    load_clean_audio,
    load_mfcc_frames,
    load_pairs,
    load_waveform_items,
)
from specrestore.dsp import StftParams
from specrestore.training import configure_backend, train_complex_model, train_mfccnet, train_spectrogram_model

# Where a scheduler granted GPUs, this is the line that shows which ones the job sees.
log.info(
    "threads %d, GPUs requested %d, CUDA_VISIBLE_DEVICES=%r",
    snakemake.threads, snakemake.resources.gpu, os.environ.get("CUDA_VISIBLE_DEVICES"),
)  # fmt: skip
configure_backend(snakemake.threads, snakemake.resources.gpu)
model = snakemake.wildcards.model
options, training, seed = snakemake.params.options, snakemake.params.training, snakemake.params.seed
params = StftParams.from_config(snakemake.params.stft)
out_dir = Path(snakemake.output.best).parent
inputs = snakemake.input
about = {
    "task": snakemake.wildcards.task,
    "corruptions": list(snakemake.params.corruptions),
    "sample_rate": snakemake.params.sample_rate,
    "stft": {k: snakemake.params.stft[k] for k in ("n_fft", "hop", "window")},
}
limit = training["max_utterances"]
if model == "mfccnet":
    mfcc_params = MfccParams(**{k: options[k] for k in ("n_mfcc", "n_mels", "n_fft", "hop", "lifter", "fmin", "fmax")})
    rate = snakemake.params.sample_rate
    splits = [
        load_mfcc_frames(inputs.clean, inputs.corrupted, inputs.corruption, {split}, rate, params, mfcc_params, limit)
        for split in ("train", "valid")
    ]
    summary = train_mfccnet(options, training, splits[0], splits[1], out_dir, seed, about)
else:
    task = Task.from_config(snakemake.wildcards.task, snakemake.params.spec)
    rate = snakemake.params.sample_rate
    complex_model = model == "cunet"
    # The fixed validation batches hold validation_batches x batch_size patches: as many
    # utterances are enough to draw them from, and memory stays the same for any corpus.
    valid_limit = min(n for n in (limit, training["validation_batches"] * training["batch_size"]) if n)
    if complex_model:
        valid = load_waveform_items(inputs.clean, inputs.corrupted, inputs.corruption, {"valid"}, valid_limit)
    else:
        valid = load_pairs(inputs.stft, inputs.corrupted, inputs.corruption, {"valid"}, params, valid_limit)
    if task.noise is not None and snakemake.params.noise == "paired":
        # The corpus's own noisy recordings exist for its utterances only, not for fresh mixtures.
        if complex_model:
            train_data = load_waveform_items(inputs.clean, inputs.corrupted, inputs.corruption, {"train"}, limit)
        else:
            train_data = load_pairs(inputs.stft, inputs.corrupted, inputs.corruption, {"train"}, params, limit)
    else:
        bank = NoiseBank.load(inputs.bank, inputs.bank_table) if task.noise is not None else None
        clean = load_clean_audio(inputs.clean, inputs.summary, {"train"}, limit)
        train_data = FreshCorruption(clean, task, rate, params, bank)
    if complex_model:
        fill = {"method": "lpc", **snakemake.params.lpc}
        summary = train_complex_model(
            options, training, snakemake.params.corruptions, train_data, valid, out_dir, seed, rate, params, fill,
            about,
        )  # fmt: skip
    else:
        summary = train_spectrogram_model(
            model, options, training, snakemake.params.corruptions, train_data, valid, out_dir, seed, about=about
        )
log.info("trained %s on %s: %s", model, snakemake.wildcards.task, json.dumps(summary))
