import numpy as np
import pandas as pd
import pytest

from specrestore import dsp
from specrestore.features import stft_shard
from specrestore.store import ArrayFile, ArrayWriter, write_arrays


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


def test_a_shard_written_one_array_at_a_time_reads_like_one_written_at_once(tmp_path):
    arrays = {"audio/a": np.arange(5, dtype=np.float32), "mask/a": np.array([True, False]), "audio/b": np.ones(3)}
    write_arrays(tmp_path / "whole.npz", arrays, {"sample_rate": 16000})
    with ArrayWriter(tmp_path / "streamed.npz", {"sample_rate": 16000}) as writer:
        for name, array in arrays.items():
            writer[name] = array
        assert not (tmp_path / "streamed.npz").exists()  # only once the block ends
    with ArrayFile(tmp_path / "whole.npz") as whole, ArrayFile(tmp_path / "streamed.npz") as streamed:
        assert streamed.meta == whole.meta == {"sample_rate": 16000}
        assert sorted(streamed.ids("audio")) == sorted(whole.ids("audio")) == ["a", "b"]
        for name in arrays:
            prefix, utt = name.split("/")
            np.testing.assert_array_equal(streamed.get(prefix, utt), whole.get(prefix, utt))
            assert streamed.get(prefix, utt).dtype == arrays[name].dtype


def test_a_failed_streamed_write_leaves_nothing(tmp_path):
    with pytest.raises(KeyError, match="written twice"), ArrayWriter(tmp_path / "s.npz") as writer:
        writer["audio/a"] = np.zeros(2)
        writer["audio/a"] = np.zeros(2)
    assert list(tmp_path.iterdir()) == []
