import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

REPO = Path(__file__).resolve().parents[1]
REALMINI = (REPO / ".." / "shared" / "data" / "realmini").resolve()

sys.path.insert(0, str(REPO / "workflow"))

# The local HTTP server that the download tests fetch corpora from.
pytest_plugins = ["http_server"]


@pytest.fixture(scope="session")
def realmini() -> Path:
    if not (REALMINI / "manifest.csv").is_file():
        pytest.skip(f"real speech not available: {REALMINI} is absent (it lives in ../shared beside the repository)")
    return REALMINI


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> dict[str, tuple[np.ndarray, int]]:
    """A few espeak sentences (id -> (int16-derived float32 samples, 22050))."""
    from specrestore.corpora.demo import plan_corpus, synthesize_corpus

    out = tmp_path_factory.mktemp("speech")
    plan = plan_corpus(3, 2, seed=7, out_dir=out / "audio")
    synthesize_corpus(plan, out / "work")
    return {row["id"]: sf.read(row["path"], dtype="float32") for row in plan}


@pytest.fixture(scope="session")
def speech_16k(speech) -> list[np.ndarray]:
    from specrestore import dsp

    return [dsp.normalise_level(dsp.resample(x, sr, 16000), 16000, -26)[0] for x, sr in speech.values()]


def run_snakemake(
    workdir: Path, *args: str, timeout: int = 1800, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run the real workflow in ``workdir`` (which holds its config.yaml)."""
    env = {**os.environ, **(env or {})}
    env.pop("PYTHONPATH", None)
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def write_bad_input_set(folder: Path, voice: np.ndarray, rate: int) -> dict[str, str | None]:
    """The six problem recordings of the foundation issue, each in its own speaker
    folder. Returns file name -> expected rejection reason (None: must be converted)."""
    import soxr

    folder.mkdir(parents=True, exist_ok=True)

    def path(speaker, name):
        (folder / speaker).mkdir(exist_ok=True)
        return folder / speaker / name

    good = path("bad1", "truncated.wav")
    sf.write(good, voice, rate, subtype="PCM_16")
    data = good.read_bytes()
    good.write_bytes(data[: len(data) * 2 // 3])
    path("bad2", "empty.wav").write_bytes(b"")
    sf.write(path("bad3", "zeros.wav"), np.zeros_like(voice), rate, subtype="PCM_16")
    nan = voice.copy()
    nan[1000:1100] = np.nan
    sf.write(path("bad4", "nan.wav"), nan, rate, subtype="FLOAT")
    stereo = soxr.resample(voice, rate, 44100)
    sf.write(path("conv1", "stereo44k.wav"), np.stack([stereo, 0.5 * stereo], axis=1), 44100, subtype="PCM_24")
    sf.write(path("conv2", "eightbit.wav"), voice, rate, subtype="PCM_U8")
    return {
        "truncated.wav": "truncated",
        "empty.wav": "zero-length",
        "zeros.wav": "silent",
        "nan.wav": "non-finite",
        "stereo44k.wav": None,
        "eightbit.wav": None,
    }


TINY = {
    "corpora": {"demo": {"speakers": 6, "sentences_per_speaker": 3}},
    "shards": 2,
    "noise_sources": {"synthetic": {"recordings_per_kind": 1, "duration_s": 3}},
    "training": {"batch_size": 4, "steps_per_epoch": 2, "validation_batches": 1},
}
ONE_EPOCH = {"KERAS_MAX_EPOCHS": "1"}


def tiny_config(**changes):
    """The default config.yaml, shrunk to seconds of work, with ``changes`` merged in."""
    with open(REPO / "config.yaml") as handle:
        config = yaml.safe_load(handle)
    for key, value in {**TINY, **changes}.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            for inner, inner_value in value.items():
                if isinstance(inner_value, dict):
                    config[key].setdefault(inner, {}).update(inner_value)
                else:
                    config[key][inner] = inner_value
        else:
            config[key] = value
    return config


def run(workdir: Path, config: dict, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Write ``config`` into ``workdir`` and run the workflow there, one epoch per model."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return run_snakemake(workdir, *args, env={**ONE_EPOCH, **(env or {})})
