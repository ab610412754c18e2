"""What limits the in-gap SNR of magnitude-domain restoration: the magnitude or the phase?

In-gap SNR compares waveforms sample by sample, so a restored gap scores well only if
its phase is right. This diagnostic fills 20-100 ms gaps in real speech
(../shared/data/realmini) with the *clean* magnitude, the best any model could predict,
combined with each phase a magnitude method can have, and sets the result against LPC,
which works on the waveform directly.

    python benchmarks/gap_phase.py [--files 12]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from specrestore import baselines, dsp, metrics, phase
from specrestore.audio import find_audio_files, read_audio
from specrestore.corruption import GapParams, Task, corrupt
from specrestore.restoration import Utterance, compose, restore

SR = 16000
PARAMS = dsp.StftParams(512, 128)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "realmini"))
    parser.add_argument("--files", type=int, default=40)
    args = parser.parse_args()
    files = [p for p in find_audio_files(args.corpus) if "librispeech" in str(p)][: args.files]
    task = Task("gap", gap=GapParams(per_second=1.0, length_ms=(20, 100)))
    rows = {}
    for index, path in enumerate(files):
        data, rate = read_audio(path)
        clean = dsp.normalise_level(dsp.resample(dsp.to_mono(data), rate, SR), SR, -26)[0]
        result = corrupt(clean, SR, task, PARAMS, 1, f"u{index}", "test")
        utterance = Utterance(f"u{index}", result.audio, result.sample_mask, None, clean)
        spec = dsp.stft(result.audio, PARAMS)
        missing = baselines.missing_bins(spec.shape[1], PARAMS, result.sample_mask, None)
        clean_magnitude = np.abs(dsp.stft(clean, PARAMS))
        lpc = restore("lpc", utterance, SR, PARAMS, {})
        candidates = {
            "LPC (waveform)": lpc,
            "interp magnitude, corrupted phase": restore("interp.corrupted", utterance, SR, PARAMS, {}),
            "clean magnitude, corrupted phase": np.angle(spec),
            "clean magnitude, reconstructed phase": np.angle(
                phase.griffin_lim_known(clean_magnitude, ~missing, spec, PARAMS, len(clean), 32)
            ),
            "clean magnitude, LPC's phase": np.angle(dsp.stft(lpc, PARAMS)),
            "clean magnitude, clean phase (oracle)": np.angle(dsp.stft(clean, PARAMS)),
        }
        for name, value in candidates.items():
            if value.ndim == 2:  # a phase: pair it with the clean magnitude inside the hole
                value = compose(
                    dsp.istft(np.where(missing, clean_magnitude * np.exp(1j * value), spec), PARAMS, len(clean)),
                    utterance,
                )
            rows.setdefault(name, []).append(metrics.region_snr(clean, value, result.sample_mask, None, PARAMS))
    print(f"{len(files)} LibriSpeech recordings from realmini, 20-100 ms gaps; in-gap SNR (dB), mean and median")
    for name, values in rows.items():
        print(f"  {name:40s} {np.mean(values):6.2f} {np.median(values):6.2f}")


if __name__ == "__main__":
    main()
