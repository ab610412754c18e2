"""Inference speed of trained models: the real-time factor (CPU seconds per second of
audio) of restoring real speech with each model on one core, as the restore stage runs
it (first fill, patches, overlap-add, phase, inverse STFT).

Real speech from ../shared/data/realmini, corrupted with the task the model was trained
for (its settings from config.yaml); a model folder is any folder with setup.json and
best.keras, by default every model of a finished realmini run (cunet first).

    python benchmarks/model_inference.py [--models DIR ...] [--files 20]
"""

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[variable] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from specrestore import dsp
from specrestore.audio import find_audio_files, read_audio
from specrestore.config import task_corruptions
from specrestore.corruption import NoiseBank, Task, corrupt
from specrestore.inference import TrainedModel, restore_with_model
from specrestore.noise import build_bank
from specrestore.restoration import Utterance
from specrestore.training import configure_backend

SR = 16000


def default_models() -> list[Path]:
    found = sorted(Path(REPO / "results" / "realmini" / "models").glob("*/*/setup.json"))
    return sorted((p.parent for p in found), key=lambda p: (p.name != "cunet", str(p)))


def noise_bank() -> NoiseBank:
    import pandas as pd

    recordings = build_bank(["test"], ["white", "pink", "brown", "hum", "bursts"], 2, 5.0, SR, 5, {})
    table = pd.DataFrame([{"id": r.id, "kind": r.kind, "split": r.split} for r in recordings])
    return NoiseBank({r.id: r.audio for r in recordings}, table)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", type=Path, help="model folders (default: a finished realmini run's)")
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "realmini"))
    args = parser.parse_args()
    models = args.models or default_models()
    if not models:
        sys.exit("no trained models: run presets/realmini.yaml first or give --models")
    configure_backend(1)
    with open(REPO / "config.yaml") as handle:
        specs = task_corruptions(yaml.safe_load(handle))
    speech = []
    for path in find_audio_files(Path(args.corpus))[::11][: args.files]:
        data, rate = read_audio(path)
        speech.append(dsp.normalise_level(dsp.resample(dsp.to_mono(data), rate, SR), SR, -26)[0])
    seconds = sum(len(x) for x in speech) / SR
    bank = noise_bank()
    print(f"{len(speech)} recordings, {seconds:.0f} s of speech, one core")
    for folder in models:
        if not (folder / "best.keras").is_file():
            print(f"skipped {folder}: no best.keras (not trained yet)")
            continue
        trained = TrainedModel.load(folder)
        setup = trained.setup
        params = dsp.StftParams.from_config(setup["stft"])
        task = Task.from_config(setup["task"], specs.get(setup["task"], {c: {} for c in setup["corruptions"]}))
        utterances = []
        for index, x in enumerate(speech):
            corrupted = corrupt(x, SR, task, params, 1, f"bench{index}", "test", bank if task.noise else None)
            utterances.append(Utterance(f"bench{index}", corrupted.audio, corrupted.sample_mask, corrupted.tf_mask))
        mode = None if setup["model"] in ("cunet", "mfccnet") else "reconstruct"
        restore_with_model(trained, mode, utterances[0], SR, params)  # warm-up: graph tracing
        started = time.process_time()
        for utterance in utterances:
            restore_with_model(trained, mode, utterance, SR, params)
        cpu = time.process_time() - started
        phase = f" ({mode} phase)" if mode else ""
        print(f"{setup['task']:>10} {setup['model']:>8}{phase}: real-time factor {cpu / seconds:.3f} ({folder})")


if __name__ == "__main__":
    main()
