import numpy as np
import pytest
import soundfile as sf

from conftest import write_bad_input_set
from specrestore import audio, dsp
from specrestore.features import prepare_shard
from specrestore.manifest import build_manifest, scan_folder


@pytest.fixture
def bad_folder(tmp_path, speech):
    voice, rate = next(iter(speech.values()))
    expected = write_bad_input_set(tmp_path / "corpus", voice, rate)
    return tmp_path / "corpus", expected, voice, rate


def test_each_problem_file_gets_its_reason(bad_folder):
    folder, expected, _, _ = bad_folder
    for name, reason in expected.items():
        path = next(folder.rglob(name))
        if reason is None:
            data, _ = audio.read_audio(path)
            assert np.all(np.isfinite(data)) and np.any(data)
        else:
            with pytest.raises(audio.AudioError, match=reason) as err:
                audio.read_audio(path)
            assert str(path) in str(err.value)


def test_truncated_flac_is_rejected(tmp_path, speech):
    voice, rate = next(iter(speech.values()))
    path = tmp_path / "cut.flac"
    sf.write(path, voice, rate)
    path.write_bytes(path.read_bytes()[:-2000])
    with pytest.raises(audio.AudioError, match="truncated or corrupt"):
        audio.read_audio(path)


def test_not_audio_is_rejected_by_the_header_check(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not a recording")
    with pytest.raises(audio.AudioError, match="not a readable audio file"):
        audio.probe(path)


def test_bad_files_are_listed_and_readable_ones_converted(bad_folder):
    """Manifest (header) and shard preparation (samples) together reject exactly the
    four unusable files and convert the stereo 44.1 kHz 24-bit and the 8-bit file."""
    folder, expected, voice, rate = bad_folder
    entries, rejected = scan_folder(folder)
    manifest = build_manifest(entries, {"train": 1.0}, seed=1, n_shards=1)
    prepared, table, shard_rejected = prepare_shard(manifest, 16000, -26.0)
    reasons = {p.split("/")[-1]: r for p, r in zip(rejected["path"], rejected["reason"])}
    reasons |= {p.split("/")[-1]: r for p, r in zip(shard_rejected["path"], shard_rejected["reason"])}
    assert set(reasons) == {name for name, reason in expected.items() if reason}
    for name, reason in reasons.items():
        assert expected[name] in reason, (name, reason)
    converted = table.set_index("source_path")
    assert len(converted) == 2
    for row in converted.itertuples():
        signal = prepared[f"audio/{row.id}"]
        assert signal.ndim == 1 and signal.dtype == np.float32
        assert row.n_samples == pytest.approx(len(voice) * 16000 / rate, abs=2)
        assert dsp.active_level_db(signal, 16000) == pytest.approx(-26.0, abs=0.1)
    assert set(converted["source_channels"]) == {1, 2}
    assert set(converted["source_rate"]) == {44100, rate}


def test_find_audio_files_is_sorted_and_case_insensitive(tmp_path):
    for name in ["b/2.WAV", "a/1.flac", "a/readme.txt", "c/3.ogg"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in audio.find_audio_files(tmp_path)]
    assert found == ["a/1.flac", "b/2.WAV", "c/3.ogg"]


def test_ogg_and_flac_are_read(tmp_path, speech):
    voice, rate = next(iter(speech.values()))
    for name in ("take.ogg", "take.flac"):
        sf.write(tmp_path / name, voice, rate)
        info = audio.probe(tmp_path / name)
        data, read_rate = audio.read_audio(tmp_path / name)
        assert read_rate == info.sample_rate == rate and abs(len(data) - len(voice)) < rate // 10
