import numpy as np
import pytest
import soundfile as sf

from specrestore.corpora import demo
from specrestore.corpora.espeak import EspeakError, SynthesisRequest, synthesize_in_fresh_process


def test_sentences_have_4_to_12_words_and_vary():
    rng = np.random.default_rng(0)
    sentences = [demo.make_sentence(rng) for _ in range(2000)]
    counts = [demo.word_count(s) for s in sentences]
    assert min(counts) == 4 and max(counts) == 12
    assert len(set(sentences)) > 1900
    assert all(s[0].isupper() and s[-1] in ".?" for s in sentences)
    assert not any(" a a" in s or " a e" in s.lower() or " a o" in s.lower() for s in sentences)


def test_speakers_cover_accents_sexes_pitch_and_rate():
    speakers = demo.make_speakers(12, seed=1234)
    assert len({(s.voice, s.pitch, s.rate_wpm) for s in speakers}) == 12
    assert {s.accent for s in speakers} == set(demo.ACCENTS)
    assert {s.sex for s in speakers} == {"female", "male"}
    assert min(s.pitch for s in speakers) < 30 and max(s.pitch for s in speakers) > 70
    assert max(s.rate_wpm for s in speakers) - min(s.rate_wpm for s in speakers) > 50


def test_plan_is_fixed_by_the_seed(tmp_path):
    assert demo.plan_corpus(4, 3, 9, tmp_path) == demo.plan_corpus(4, 3, 9, tmp_path)
    assert demo.plan_corpus(4, 3, 9, tmp_path) != demo.plan_corpus(4, 3, 10, tmp_path)


def test_synthesized_speech_is_non_silent_and_of_plausible_length(tmp_path):
    plan = demo.plan_corpus(12, 2, seed=3, out_dir=tmp_path / "audio")
    demo.synthesize_corpus(plan, tmp_path / "work", workers=2)
    for row in plan:
        samples, rate = sf.read(row["path"], dtype="int16")
        assert rate == 22050
        seconds_per_word = len(samples) / rate / demo.word_count(row["text"])
        assert 0.15 < seconds_per_word < 1.0, row
        assert np.abs(samples).max() > 3000
        frames = samples[: len(samples) // 220 * 220].reshape(-1, 220).astype(float)
        voiced = np.sqrt((frames**2).mean(axis=1)) > 300
        assert voiced.mean() > 0.4, row  # speech, not a click and silence


def test_synthesis_is_bit_identical_across_runs_and_worker_counts(tmp_path):
    plan_a = demo.plan_corpus(12, 3, seed=11, out_dir=tmp_path / "a")
    plan_b = demo.plan_corpus(12, 3, seed=11, out_dir=tmp_path / "b")
    demo.synthesize_corpus(plan_a, tmp_path / "wa", workers=2)
    demo.synthesize_corpus(plan_b, tmp_path / "wb", workers=1)
    for a, b in zip(plan_a, plan_b):
        with open(a["path"], "rb") as fa, open(b["path"], "rb") as fb:
            assert fa.read() == fb.read(), a["id"]


def test_an_unknown_voice_is_a_clear_error(tmp_path):
    request = SynthesisRequest(str(tmp_path / "x.wav"), "Hello there.", "xx-nowhere+m1", 150, 50, 50)
    with pytest.raises(EspeakError, match="no voice 'xx-nowhere\\+m1'"):
        synthesize_in_fresh_process([request], tmp_path / "batch.json")
