"""The espeak-ng speech synthesizer shipped by the ``espeakng-loader`` wheel, driven
through ctypes, so the demo corpus needs neither network nor system packages.

espeak-ng keeps state between sentences, so its output is bit-identical only for the
same sentences synthesized in the same order by a freshly started engine.
:func:`synthesize_in_fresh_process` therefore runs each batch in a new Python process
(``python -m specrestore.corpora.espeak BATCH.json``).
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_INITIALIZE_DONT_EXIT = 0x8000  # without it an initialisation error exits Python
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
ESPEAK_ENDPAUSE = 0x1000
PARAM_RATE = 1
PARAM_PITCH = 3
PARAM_RANGE = 4


@dataclass(frozen=True)
class SynthesisRequest:
    """One sentence for one voice, written as 16-bit WAV at the engine's rate."""

    path: str
    text: str
    voice: str  # espeak voice name, e.g. "en-us+f3"
    rate_wpm: int  # 80..450 words per minute
    pitch: int  # 0..100, 50 is the voice's normal pitch
    pitch_range: int  # 0..100, 0 is a monotone
    noise_floor_dbfs: float | None = None  # white noise added after synthesis (RMS, dB re full scale)
    noise_seed: int = 0


class EspeakError(RuntimeError):
    pass


class EspeakEngine:
    """One initialised espeak-ng library in this process."""

    def __init__(self):
        import espeakng_loader

        self._lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
        data_path = espeakng_loader.get_data_path().encode()
        self.sample_rate = self._lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, ESPEAK_INITIALIZE_DONT_EXIT
        )
        if self.sample_rate <= 0:
            raise EspeakError(f"espeak_Initialize failed (returned {self.sample_rate}) with data at {data_path!r}")
        self._chunks: list[np.ndarray] = []
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
        # Kept on self: if the callback object were collected, espeak would call freed memory.
        self._callback = callback_type(self._collect)
        self._lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, samples, n_samples, events):
        if n_samples > 0:
            # espeak reuses its buffer for the next chunk, so copy now.
            self._chunks.append(np.ctypeslib.as_array(samples, shape=(n_samples,)).copy())
        return 0

    def synthesize(self, text: str, voice: str, rate_wpm: int, pitch: int, pitch_range: int) -> np.ndarray:
        """int16 samples at :attr:`sample_rate`."""
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise EspeakError(f"espeak has no voice {voice!r}")
        # Setting the voice resets rate and pitch, so these come after it.
        self._lib.espeak_SetParameter(PARAM_RATE, int(rate_wpm), 0)
        self._lib.espeak_SetParameter(PARAM_PITCH, int(pitch), 0)
        self._lib.espeak_SetParameter(PARAM_RANGE, int(pitch_range), 0)
        self._chunks.clear()
        encoded = text.encode("utf-8")
        status = self._lib.espeak_Synth(
            encoded, len(encoded) + 1, 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8 | ESPEAK_ENDPAUSE, None, None
        )
        self._lib.espeak_Synchronize()
        if status != 0 or not self._chunks:
            raise EspeakError(f"espeak_Synth failed (status {status}) for {text!r} with voice {voice!r}")
        return np.concatenate(self._chunks)


def synthesize_batch(requests: list[SynthesisRequest]) -> int:
    """Synthesize the requests in order with one engine; returns the sample rate."""
    engine = EspeakEngine()
    for request in requests:
        samples = engine.synthesize(request.text, request.voice, request.rate_wpm, request.pitch, request.pitch_range)
        if request.noise_floor_dbfs is not None:
            # espeak's pauses are exact digital zeros, which no microphone records and
            # which make log-spectral metrics and in-gap SNRs degenerate.
            floor = np.random.default_rng(request.noise_seed).standard_normal(len(samples))
            samples = samples / 32768.0 + floor * 10 ** (request.noise_floor_dbfs / 20)
        Path(request.path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(request.path, samples, engine.sample_rate, subtype="PCM_16")
    return engine.sample_rate


def synthesize_in_fresh_process(requests: list[SynthesisRequest], batch_file: str | Path) -> None:
    """Run :func:`synthesize_batch` in a new interpreter, so the output depends only on
    ``requests`` and never on what this process synthesized before."""
    batch_file = Path(batch_file)
    batch_file.write_text(json.dumps([asdict(r) for r in requests]))
    env = dict(os.environ)
    # The worker must import this same library, installed or not.
    package_parent = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "specrestore.corpora.espeak", str(batch_file)], capture_output=True, text=True, env=env
    )
    if result.returncode != 0:
        raise EspeakError(f"espeak worker for {batch_file} failed:\n{result.stderr.strip()}")
    batch_file.unlink()


def main(argv: list[str]) -> int:
    requests = [SynthesisRequest(**item) for item in json.loads(Path(argv[0]).read_text())]
    synthesize_batch(requests)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
