import numpy as np
import pandas as pd

from specrestore import dsp
from specrestore.features import stft_shard
from specrestore.store import ArrayFile, write_arrays


def test_stft_cache_round_trip(tmp_path, speech_16k):
    ids = [f"u{i}" for i in range(len(speech_16k))]
    write_arrays(tmp_path / "audio.npz", {f"audio/{i}": x for i, x in zip(ids, speech_16k)}, {"sample_rate": 16000})
    table = pd.DataFrame({"id": ids, "split": "train", "n_samples": [len(x) for x in speech_16k]})
    params = dsp.StftParams(512, 128)
    with ArrayFile(tmp_path / "audio.npz") as audio:
        assert audio.meta == {"sample_rate": 16000} and sorted(audio.ids("audio")) == sorted(ids)
        arrays, frames = stft_shard(audio, table, params, "float32")
    write_arrays(tmp_path / "stft.npz", arrays, {"n_fft": 512})
    with ArrayFile(tmp_path / "stft.npz") as cache:
        for utt, x, n_frames in zip(ids, speech_16k, frames["n_frames"]):
            mag, phase = cache.get("mag", utt), cache.get("phase", utt)
            assert mag.shape == phase.shape == (257, n_frames) and mag.dtype == np.float32
            y = dsp.istft(mag * np.exp(1j * phase), params, len(x))
            assert dsp.snr_db(x, y) > 90


def test_write_is_atomic(tmp_path):
    write_arrays(tmp_path / "a.npz", {"x/1": np.arange(3)})
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]
