"""Restoring one's own recordings: dropout detection on real speech, the folder
restore (formats, rates, lengths, channels, bad input, masks, chunks) and the CLI."""

import io
import itertools
import os
import struct
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from specrestore import dsp
from specrestore.detection import (
    DetectionParams,
    detect_gaps,
    detect_streaming,
    detection_windows,
    match_gaps,
    quantisation_step,
)
from specrestore.recordings import RecordingError, RestoreOptions, chunk_borders, make_restorer, restore_folder

PARAMS = DetectionParams()


def realmini_files(root):
    return sorted(p for p in root.rglob("*") if p.suffix in (".wav", ".flac"))


def place_gaps(n, rate, rng, shortest_ms=10, longest_ms=200):
    """Non-overlapping [start, end) gaps 10-200 ms long, 0.1-0.8 s apart, away from the ends."""
    spans, position = [], int(0.05 * rate)
    while True:
        position += int(rng.uniform(0.1, 0.8) * rate)
        length = int(rng.uniform(shortest_ms, longest_ms) * rate / 1000)
        if position + length > n - int(0.05 * rate):
            return spans
        spans.append((position, position + length))
        position += length


def test_known_gaps_in_real_speech_are_found(realmini):
    rng = np.random.default_rng(8)
    truth_total = found_total = detected_total = correct_total = 0
    for path in realmini_files(realmini):
        x, rate = sf.read(path, dtype="float32")
        spans = place_gaps(len(x), rate, rng)
        for start, end in spans:
            x[start:end] = 0
        detected = detect_gaps(x, rate, PARAMS).gaps
        found, correct = match_gaps(detected, spans)
        truth_total += len(spans)
        found_total += found
        detected_total += len(detected)
        correct_total += correct
    recall, precision = found_total / truth_total, correct_total / detected_total
    print(f"{truth_total} gaps of 10-200 ms in 362 files: recall {recall:.4f}, precision {precision:.4f}")
    assert truth_total > 3000
    assert recall >= 0.95 and precision >= 0.95


def test_clean_real_speech_has_no_gaps(realmini):
    files = realmini_files(realmini)
    assert len(files) == 362
    false_gaps = {}
    for path in files:
        x, rate = sf.read(path, dtype="float32")
        detection = detect_gaps(x, rate, PARAMS)
        if detection.gaps:
            false_gaps[path.name] = detection.gaps
    assert not false_gaps


def as_subtype(x, rate, subtype):
    """``x`` as libsndfile writes it to a WAV of ``subtype``, read back."""
    buffer = io.BytesIO()
    sf.write(buffer, x, rate, format="WAV", subtype=subtype)
    buffer.seek(0)
    return sf.read(buffer, dtype="float32")[0]


def as_8_bit(x, rate):
    return as_subtype(x, rate, "PCM_U8")


def test_known_gaps_in_real_speech_are_found_at_8_bits(realmini):
    """The gaps of the 16-bit test, placed in the recordings converted to 8 bits. Gaps
    with edges above the 8-bit floor (two steps RMS, -36 dBFS) are found as at 16 bits;
    in quieter passages, which 8 bits write as flicker between two values, a gap is found
    once it outlasts that flicker's runs (from 60 ms): a shorter one looks like the
    passage holding still inside one step."""
    step = quantisation_step("PCM_U8")
    rng = np.random.default_rng(8)
    counts = dict.fromkeys(["truth", "found", "detected", "correct", "above", "above_found", "long", "long_found"], 0)
    for path in realmini_files(realmini):
        original, rate = sf.read(path, dtype="float32")
        x = as_8_bit(original, rate)
        edge = PARAMS.samples(rate)[2]
        spans = place_gaps(len(x), rate, rng)
        for start, end in spans:
            x[start:end] = 0
        detected = detect_gaps(x, rate, PARAMS, step=step).gaps
        found, correct = match_gaps(detected, spans)
        above = [
            (start, end)
            for start, end in spans
            if min(dsp.power_db(original[start - edge : start]), dsp.power_db(original[end : end + edge]))
            >= PARAMS.edge_floor_db(step)
        ]
        long = [(start, end) for start, end in spans if end - start >= PARAMS.coarse_run_ms * rate / 1000]
        for key, value in [("truth", len(spans)), ("found", found), ("detected", len(detected)), ("correct", correct),
                           ("above", len(above)), ("above_found", match_gaps(detected, above)[0]),
                           ("long", len(long)), ("long_found", match_gaps(detected, long)[0])]:  # fmt: skip
            counts[key] += value
    recall, precision = counts["found"] / counts["truth"], counts["correct"] / counts["detected"]
    above, long = counts["above_found"] / counts["above"], counts["long_found"] / counts["long"]
    print(
        f"8 bits, {counts['truth']} gaps of 10-200 ms: recall {recall:.4f}, precision {precision:.4f}; "
        f"{counts['above']} with edges above the floor: recall {above:.4f}; {counts['long']} of 60 ms or "
        f"longer: recall {long:.4f}"
    )
    assert counts["truth"] > 3000 and counts["above"] > 0.4 * counts["truth"] and counts["long"] > 0.6 * counts["truth"]
    assert above >= 0.98 and long >= 0.96 and precision >= 0.99
    assert recall >= 0.85  # the rest are shorter than 60 ms in passages under the floor


def test_clean_real_speech_at_8_bits_has_no_gaps(realmini, tmp_path):
    """Converted to 8-bit WAV, the clean recordings are scanned with their own step."""
    folder = tmp_path / "eight"
    for path in realmini_files(realmini):
        x, rate = sf.read(path, dtype="float32")
        target = folder / path.relative_to(realmini).with_suffix(".wav")
        target.parent.mkdir(parents=True, exist_ok=True)
        sf.write(target, x, rate, subtype="PCM_U8")
    report = restore(folder, tmp_path / "out", detect_only=True)
    assert len(report) == 362 and set(report["subtype"]) == {"PCM_U8"}
    assert set(report["status"]) == {"scanned"}
    assert report["gaps"].sum() == 0, report.loc[report["gaps"] > 0, ["file", "gaps"]]


@pytest.mark.parametrize("subtype", ["ALAW", "ULAW"])
def test_telephone_codings_of_real_speech_keep_their_quiet_passages(realmini, subtype):
    """A-law and mu-law recordings are judged by their own steps, which grow with the
    level: judged as 16-bit, their quiet passages looked like dropouts in 76 (A-law) and
    17 (mu-law) of the clean realmini files; judged by the finest step alone, 2 files
    with a large offset still did. Gaps placed before the coding are found."""
    step = quantisation_step(subtype)
    rng = np.random.default_rng(8)
    clean_with_detection = truth = found = detected = correct = 0
    for path in realmini_files(realmini):
        original, rate = sf.read(path, dtype="float32")
        coded = as_subtype(original, rate, subtype)
        clean_with_detection += bool(detect_gaps(coded, rate, PARAMS, step=step, subtype=subtype).gaps)
        spans = place_gaps(len(original), rate, rng)
        gapped = original.copy()
        for start, end in spans:
            gapped[start:end] = 0
        gaps = detect_gaps(as_subtype(gapped, rate, subtype), rate, PARAMS, step=step, subtype=subtype).gaps
        hits, right = match_gaps(gaps, spans)
        truth, found, detected, correct = truth + len(spans), found + hits, detected + len(gaps), correct + right
    recall, precision = found / truth, correct / detected
    print(f"{subtype}: {clean_with_detection} clean files with a detection; {truth} gaps: recall {recall:.4f}, "
          f"precision {precision:.4f}")  # fmt: skip
    assert truth > 3000 and clean_with_detection == 0
    assert recall >= (0.9 if subtype == "ALAW" else 0.98) and precision >= 0.99


def test_quantisation_step_follows_the_subtype():
    assert quantisation_step("PCM_U8") == quantisation_step("PCM_S8") == 1 / 128
    assert quantisation_step("PCM_16") == 1 / 32768 and quantisation_step("PCM_24") == 2.0**-23
    for judged_as_16_bit in ("FLOAT", "DOUBLE", "VORBIS", "MPEG_LAYER_III", None):
        assert quantisation_step(judged_as_16_bit) == 1 / 32768
    for companded in ("ALAW", "ULAW"):  # their step at each level, as libsndfile decodes them
        levels = np.unique(as_subtype(np.linspace(-1, 1, 2**18), 16000, companded).astype(np.float64))
        assert quantisation_step(companded) == pytest.approx(np.diff(levels).min())
        for level in (0.001, 0.01, 0.05, 0.15, 0.3, 0.6, 0.97):  # inside a segment, not on its border
            above = np.searchsorted(levels, level)
            step = levels[above] - levels[above - 1]
            assert quantisation_step(companded, level) == pytest.approx(step), (companded, level)
            assert quantisation_step(companded, -level) == quantisation_step(companded, level)
    assert PARAMS.edge_floor_db(1 / 32768) == PARAMS.edge_floor_db(2.0**-23) == pytest.approx(-90.31, abs=0.01)
    assert PARAMS.edge_floor_db(1 / 128) == pytest.approx(-36.12, abs=0.01)


def test_a_long_zero_run_in_an_8_bit_quiet_passage_is_a_dropout():
    """Under the 8-bit floor a passage flickers between two values in runs of a few
    milliseconds; 80 ms of zeros outlast them and are a dropout, 30 ms are not told
    from the passage holding still."""
    rate = 16000
    t = np.arange(rate) / rate
    quiet = 0.009 * np.sin(2 * np.pi * 230 * t) + 0.003 * np.random.default_rng(3).standard_normal(rate)
    for length_ms, found in [(80, True), (30, False)]:
        x = as_8_bit(quiet, rate)
        start, end = rate // 2, rate // 2 + rate * length_ms // 1000
        x[start:end] = 0
        gaps = detect_gaps(x, rate, PARAMS, step=quantisation_step("PCM_U8")).gaps
        # The passage's own zeros may extend the run by a sample or two.
        assert len(gaps) == found
        assert not found or (start - 3 <= gaps[0].start <= start and end <= gaps[0].end <= end + 3)
    with pytest.raises(ValueError, match="coarse_run_ratio"):
        DetectionParams(coarse_run_ratio=0.5)


def test_stuck_and_dithered_dropouts_in_speech_are_found(realmini):
    """Dropouts written as a held value or as ±1 LSB of dither, placed in speech."""
    rng = np.random.default_rng(3)
    kinds, found = {"stuck": [0, 0], "near silence": [0, 0]}, 0
    for path in realmini_files(realmini)[::6]:
        x, rate = sf.read(path, dtype="float32")
        edge = int(0.005 * rate)
        for start, end in place_gaps(len(x), rate, rng):
            if min(dsp.power_db(x[start - edge : start]), dsp.power_db(x[end : end + edge])) < -50:
                continue  # inside a pause: dither there is not a sudden drop
            for kind in kinds:
                y = x.copy()
                y[start:end] = y[start - 1] if kind == "stuck" else rng.integers(-1, 2, end - start) / 32768
                gaps = detect_gaps(y, rate, PARAMS).gaps
                hit, _ = match_gaps(gaps, [(start - (kind == "stuck"), end)])
                kinds[kind][0] += 1
                kinds[kind][1] += hit
                found += hit and any(g.kind == kind for g in gaps)
    for kind, (total, hits) in kinds.items():
        assert total > 100 and hits / total >= 0.95, (kind, total, hits)
    assert found >= 0.95 * sum(total for total, _ in kinds.values())


def test_pauses_and_ends_are_not_dropouts(speech_16k):
    x = speech_16k[0]
    rate = 16000
    padded = np.concatenate([np.zeros(800, np.float32), x, np.zeros(800, np.float32)])
    assert detect_gaps(padded, rate, PARAMS).gaps == []  # leading and trailing silence
    middle = len(x) // 2
    pause = np.concatenate([x[:middle], np.zeros(int(0.4 * rate), np.float32), x[middle:]])
    detection = detect_gaps(pause, rate, PARAMS)
    assert detection.gaps == [] and detection.silent_pauses  # longer than max_gap_ms
    short = np.concatenate([x[:middle], np.zeros(int(0.1 * rate), np.float32), x[middle:]])
    assert [(g.start, g.end) for g in detect_gaps(short, rate, PARAMS).gaps] == [(middle, middle + 1600)]


def test_a_recording_with_gated_pauses_keeps_its_short_pauses(speech_16k):
    """A noise gate writes every pause as digital silence, short ones included."""
    rate = 16000
    x = np.concatenate([speech_16k[0], np.zeros(int(0.5 * rate), np.float32), speech_16k[1]])
    frame = 160
    usable = len(x) // frame * frame
    level = 10 * np.log10(np.mean(x[:usable].reshape(-1, frame) ** 2, axis=1) + 1e-20)
    # The gate opens above -45 dBFS, holds for 50 ms and closes over 10 ms.
    opened = level > -45
    held = np.array([opened[max(0, i - 5) : i + 2].any() for i in range(len(opened))])
    gain = np.convolve(np.repeat(held, frame).astype(np.float32), np.ones(frame, np.float32) / frame, "same")
    gated = x.copy()
    gated[:usable] *= gain
    gated[:usable][np.abs(gain) < 1e-6] = 0
    detection = detect_gaps(gated, rate, PARAMS)
    loud = float(np.percentile(level, 95))
    assert detection.silent_pauses
    assert detection.plausible(loud, PARAMS, rate) == []
    dropout = gated.copy()
    middle = len(speech_16k[0]) // 2  # a dropout in loud speech is still found
    while level[middle // frame] < loud - 10:
        middle += frame
    dropout[middle : middle + 800] = 0
    kept = detect_gaps(dropout, rate, PARAMS).plausible(loud, PARAMS, rate)
    assert any(g.start <= middle and g.end >= middle + 800 for g in kept)
    # Far from the gated part, a dropout in a quiet pause (noise floor at -60 dBFS) is
    # judged as in any other recording.
    floor = np.random.default_rng(2).normal(0, 10 ** (-60 / 20), 12 * rate).astype(np.float32)
    later = np.concatenate([gated, floor])
    quiet_start = len(gated) + 11 * rate
    later[quiet_start : quiet_start + 800] = 0
    kept = detect_gaps(later, rate, PARAMS).plausible(loud, PARAMS, rate)
    assert [(g.start, g.end) for g in kept] == [(quiet_start, quiet_start + 800)]


def test_block_by_block_detection_equals_one_piece(speech_16k):
    rate = 16000
    x = np.concatenate(speech_16k * 3)
    rng = np.random.default_rng(1)
    spans = place_gaps(len(x), rate, rng, 6, 240)
    for start, end in spans:
        x[start:end] = 0
    whole = detect_gaps(x, rate, PARAMS).gaps
    margin = PARAMS.margin(rate)
    for block in (margin, 3 * margin + 17, len(x)):
        windows = ((start, x[start:end]) for start, end in detection_windows(len(x), block, margin))
        assert detect_streaming(windows, len(x), rate, PARAMS).gaps == whole
    assert match_gaps(whole, spans) == (len(spans), len(whole))


def test_chunk_borders_avoid_gaps():
    class Span:
        def __init__(self, start, end):
            self.start, self.end = start, end

    gaps = [Span(990, 1020), Span(2995, 3100)]
    borders = chunk_borders(5000, 1000, gaps, keep_clear=10)
    assert borders[0] == 0 and borders[-1] == 5000
    for border in borders[1:-1]:
        assert all(not (g.start - 10 < border < g.end + 10) for g in gaps)
    assert min(b - a for a, b in itertools.pairwise(borders)) >= 500


# --------------------------------------------------------------------------- folders


@pytest.fixture(scope="module")
def recordings(tmp_path_factory, speech):
    """A folder of recordings with known dropouts, in several formats and rates."""
    folder = tmp_path_factory.mktemp("recordings") / "in"
    (folder / "calls").mkdir(parents=True)
    voices = [dsp.normalise_level(x, rate, -26)[0] for x, rate in speech.values()]
    rate = next(iter(speech.values()))[1]
    long_voice = np.concatenate(voices[:4])
    gaps = {}

    def with_gaps(x, rate, spans):
        y = x.copy()
        for start, end in spans:
            y[start:end] = 0
        return y

    spans = [(int(0.6 * rate), int(0.68 * rate)), (int(1.5 * rate), int(1.52 * rate))]
    sf.write(folder / "mono16.wav", with_gaps(voices[0], rate, spans), rate, subtype="PCM_16")
    gaps["mono16.wav"] = spans
    x48 = dsp.resample(voices[1], rate, 48000)
    spans48 = [(int(0.9 * 48000), int(1.0 * 48000))]
    sf.write(folder / "calls" / "wide.flac", with_gaps(x48, 48000, spans48), 48000, subtype="PCM_24")
    gaps["calls/wide.flac"] = spans48
    stereo = np.stack([with_gaps(voices[2], rate, spans), voices[2]], axis=1)
    sf.write(folder / "stereo.wav", stereo, rate, subtype="PCM_16")
    gaps["stereo.wav"] = spans
    x8 = dsp.resample(voices[3], rate, 8000)
    sf.write(folder / "phone.wav", with_gaps(x8, 8000, [(8000, 8400)]), 8000, subtype="PCM_16")
    gaps["phone.wav"] = [(8000, 8400)]
    borders = [int(s * rate) for s in (1.0, 2.0, 3.0, 4.0)]
    long_spans = [(b - 300, b + 300) for b in borders]  # straddle every 1 s chunk border
    sf.write(folder / "long.wav", with_gaps(long_voice, rate, long_spans), rate, subtype="PCM_16")
    gaps["long.wav"] = long_spans
    sf.write(folder / "clean.wav", voices[4], rate, subtype="PCM_16")
    sf.write(folder / "vorbis.ogg", voices[5], rate, format="OGG", subtype="VORBIS")
    (folder / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt nothing else")
    hum = 0.05 * np.sin(2 * np.pi * 50 * np.arange(3 * rate) / rate)
    sf.write(folder / "hum.wav", hum.astype(np.float32), rate, subtype="PCM_16")
    sf.write(folder / "silent.wav", np.full(rate, 1e-5, np.float32), rate, subtype="PCM_16")
    return folder, gaps


def restore(folder, out, **options):
    quality = options.pop("quality", False)
    task = options.pop("task", "gap")
    restorer = make_restorer(task, None, options.pop("method", None))
    stream = options.pop("progress_stream", None)
    return restore_folder(folder, out, restorer, RestoreOptions(task=task, quality=quality, **options), stream)


@pytest.fixture(scope="module")
def restored(recordings, tmp_path_factory):
    folder, _ = recordings
    out = tmp_path_factory.mktemp("restored") / "out"
    report = restore(folder, out, chunk_s=1.0, quality=True)
    return out, report.set_index("file")


def test_every_recording_gets_a_report_line(restored, recordings):
    out, report = restored
    assert set(report.index) == {
        "mono16.wav", "calls/wide.flac", "stereo.wav", "phone.wav", "long.wav", "clean.wav", "vorbis.ogg",
        "broken.wav", "hum.wav", "silent.wav",
    }  # fmt: skip
    assert report.loc["broken.wav", "status"] == "failed"
    assert "not a readable audio file" in report.loc["broken.wav", "message"]
    assert report.loc["hum.wav", "status"] == "unchanged" and "no speech" in report.loc["hum.wav", "message"]
    assert report.loc["silent.wav", "status"] == "unchanged" and "no speech" in report.loc["silent.wav", "message"]
    for name in ("clean.wav", "vorbis.ogg"):
        assert report.loc[name, "status"] == "unchanged" and report.loc[name, "gaps"] == 0
    for name in ("mono16.wav", "calls/wide.flac", "stereo.wav", "phone.wav", "long.wav"):
        assert report.loc[name, "status"] == "restored", report.loc[name, "message"]
    assert "48000" in report.loc["calls/wide.flac", "message"] or report.loc["calls/wide.flac", "working_rate"] == 48000
    assert "2 channels" in report.loc["stereo.wav", "message"]
    on_disk = pd.read_csv(out / "restore_report.csv")
    assert len(on_disk) == 10 and not (out / "broken.wav").exists()


def test_round_trip_keeps_format_rate_length_and_every_sample_outside_the_gaps(restored, recordings):
    out, _ = restored
    folder, gaps = recordings
    for name in gaps:
        before, after = sf.info(folder / name), sf.info(out / name)
        assert (after.format, after.subtype, after.samplerate, after.frames, after.channels) == (
            before.format, before.subtype, before.samplerate, before.frames, before.channels,
        )  # fmt: skip
        x, _ = sf.read(folder / name, dtype="int32", always_2d=True)
        y, _ = sf.read(out / name, dtype="int32", always_2d=True)
        # Outside the dropouts as detected, which may take in a natural zero sample
        # next to a placed gap.
        mask = pd.read_csv(out / "gaps" / f"{name}.csv")
        inside = np.zeros(len(x), dtype=bool)
        for start, end in zip(mask["start_sample"], mask["end_sample"]):
            inside[start:end] = True
        assert np.array_equal(x[~inside], y[~inside]), name
        assert np.count_nonzero(y[inside, 0]) > 0.9 * inside.sum(), name  # the gaps are filled
        if x.shape[1] == 2:
            assert np.array_equal(x[:, 1], y[:, 1])  # the clean channel has no gaps
    for name in ("clean.wav", "vorbis.ogg", "hum.wav"):
        assert (out / name).read_bytes() == (folder / name).read_bytes()


def test_detected_gaps_are_written_as_editable_masks(restored, recordings):
    out, report = restored
    _, gaps = recordings
    for name, spans in gaps.items():
        mask = pd.read_csv(out / "gaps" / f"{name}.csv")
        assert list(mask.columns[:7]) == [
            "channel", "start_s", "end_s", "length_ms", "start_sample", "end_sample", "kind",
        ]  # fmt: skip
        detected = sorted(zip(mask["start_sample"], mask["end_sample"]))
        assert len(detected) == len(spans), name
        rate = sf.info(recordings[0] / name).samplerate
        for (start, end), (true_start, true_end) in zip(detected, sorted(spans)):
            assert 0 <= true_start - start <= rate // 1000 and 0 <= end - true_end <= rate // 1000, name
        assert report.loc[name, "gaps"] == len(spans) and report.loc[name, "mask"] == "detected"
    stereo = pd.read_csv(out / "gaps" / "stereo.wav.csv")
    assert set(stereo["channel"]) == {1}


def test_quality_before_and_after_is_reported(restored):
    _, report = restored
    for name in ("mono16.wav", "long.wav"):
        row = report.loc[name]
        assert row["quality_metric"] == "plcmos"
        assert 1 <= row["quality_before"] <= 5 and 1 <= row["quality_after"] <= 5


def test_an_edited_mask_is_used_on_the_rerun(restored, recordings, tmp_path):
    out, _ = restored
    folder, gaps = recordings
    masks = tmp_path / "masks"
    (masks / "calls").mkdir(parents=True)
    mask = pd.read_csv(out / "gaps" / "mono16.wav.csv")
    kept = mask.iloc[:1]  # the user decides the second one is not a dropout
    kept.to_csv(masks / "mono16.wav.csv", index=False)
    (masks / "calls" / "wide.flac.csv").write_text("channel,start_s,end_s\nall,0.9,not a number\n")
    report = restore(folder, tmp_path / "out", masks=masks).set_index("file")
    assert report.loc["mono16.wav", "mask"] == "given" and report.loc["mono16.wav", "gaps"] == 1
    x, _ = sf.read(folder / "mono16.wav", dtype="int16")
    y, _ = sf.read(tmp_path / "out" / "mono16.wav", dtype="int16")
    (first_start, first_end), (second_start, second_end) = gaps["mono16.wav"]
    assert np.count_nonzero(y[first_start:first_end]) > 0
    assert np.array_equal(y[second_start:second_end], x[second_start:second_end])  # left as it was
    assert report.loc["calls/wide.flac", "status"] == "failed"
    assert "wide.flac.csv, line 2: start and end must be numbers" in report.loc["calls/wide.flac", "message"]
    assert report.loc["stereo.wav", "mask"] == "detected"  # no mask file: detected as before


def test_chunked_restoration_equals_one_piece(recordings, tmp_path):
    folder, _ = recordings
    restore(folder, tmp_path / "chunked", chunk_s=1.0)
    restore(folder, tmp_path / "whole", chunk_s=600.0)
    for name in ("long.wav", "mono16.wav", "calls/wide.flac"):
        assert sf.read(tmp_path / "chunked" / name)[0].tolist() == sf.read(tmp_path / "whole" / name)[0].tolist()


@pytest.mark.parametrize("method", [None, "rnnoise", "spectral_gating"])  # None: the default, DeepFilterNet3
def test_denoising_in_chunks_has_no_seams(speech, tmp_path, method):
    x, rate = next(iter(speech.values()))
    noisy = x + np.random.default_rng(0).normal(0, 0.01, len(x)).astype(np.float32)
    (tmp_path / "in").mkdir()
    sf.write(tmp_path / "in" / "noisy.flac", noisy, rate, subtype="PCM_16")
    report = restore(tmp_path / "in", tmp_path / "chunked", task="noise", chunk_s=1.0, method=method)
    assert report.loc[0, "status"] == "restored" and report.loc[0, "mask"] == "none"
    assert report.loc[0, "restored_with"] == (method or "deepfilternet3")
    restore(tmp_path / "in", tmp_path / "whole", task="noise", chunk_s=600.0, method=method)
    chunked, _ = sf.read(tmp_path / "chunked" / "noisy.flac", dtype="float32")
    whole, _ = sf.read(tmp_path / "whole" / "noisy.flac", dtype="float32")
    assert len(chunked) == len(noisy) and np.all(np.isfinite(chunked))
    frame = rate // 50
    usable = len(x) // frame * frame
    quiet = np.argsort(np.mean(x[:usable].reshape(-1, frame) ** 2, axis=1))[: usable // frame // 10]
    residual = {
        name: dsp.power_db(np.concatenate([(y - x)[i * frame : (i + 1) * frame] for i in quiet]))
        for name, y in (("noisy", noisy), ("chunked", chunked))
    }
    assert residual["chunked"] < residual["noisy"] - 6, residual  # the pauses lost their noise
    assert dsp.snr_db(whole, chunked) > 10  # chunks restore what the whole file would
    assert np.abs(np.diff(chunked)).max() < 2 * np.abs(np.diff(whole)).max()  # and leave no seams


def test_the_output_folder_may_not_be_the_input(recordings):
    folder, _ = recordings
    with pytest.raises(Exception, match="must not be the input folder"):
        restore(folder, folder / "out")


def voice_of(speech, seconds):
    """The espeak sentences one after another at -26 dBFS, cut to ``seconds``."""
    rate = next(iter(speech.values()))[1]
    x = np.concatenate([dsp.normalise_level(x, rate, -26)[0] for x, _ in speech.values()])
    assert len(x) >= seconds * rate
    return x[: int(seconds * rate)], rate


def loud_spot(x, rate):
    """The start of the loudest 20 ms of ``x``."""
    frame = rate // 50
    usable = len(x) // frame * frame
    return int(np.argmax(np.mean(x[:usable].reshape(-1, frame) ** 2, axis=1))) * frame


@pytest.fixture
def call(speech, tmp_path):
    x, rate = voice_of(speech, 3)
    path = tmp_path / "calls" / "call.wav"
    path.parent.mkdir()
    sf.write(path, x, rate, subtype="PCM_16")
    return path


def files_in(folder):
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_file_is_never_restored_over_itself(call, tmp_path):
    """The file form with the file's own folder (by any name) as the output."""
    before = files_in(tmp_path)
    (tmp_path / "linked").symlink_to(call.parent)
    for out in (call.parent, tmp_path / "calls" / ".." / "calls", tmp_path / "linked"):
        with pytest.raises(RecordingError, match=f"would overwrite the recording {call}"):
            restore(call, out)
    result = subprocess.run(
        [sys.executable, "-m", "specrestore.cli", "restore", str(call), str(call.parent), "--no-quality"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 2 and "would overwrite the recording" in result.stderr
    assert files_in(tmp_path) == before  # nothing written, not even the report


def test_an_output_that_is_a_recording_under_another_name_is_refused(call, tmp_path):
    before = call.read_bytes()
    for link in (os.symlink, os.link):
        out = tmp_path / link.__name__
        out.mkdir()
        link(call, out / "call.wav")
        with pytest.raises(RecordingError, match="would overwrite the recording"):
            restore(call.parent, out)
        assert sorted(out.iterdir()) == [out / "call.wav"]
    # A folder holding the input folder: calls/calls/call.wav would be written to
    # calls/call.wav, another recording.
    nested = call.parent / "calls"
    nested.mkdir()
    (nested / "call.wav").write_bytes(before)
    with pytest.raises(RecordingError, match=f"calls/call.wav would overwrite the recording {call}"):
        restore(call.parent, tmp_path)
    assert call.read_bytes() == before and not (tmp_path / "restore_report.csv").exists()


def test_the_masks_given_are_never_overwritten(call, tmp_path):
    out = tmp_path / "out"
    restore(call.parent, out)
    mask = out / "gaps" / "call.wav.csv"
    mask.write_text("channel,start_s,end_s\nall,1.0,1.05\n")  # an edited mask
    before = files_in(out)
    with pytest.raises(RecordingError, match=f"would overwrite the given mask {mask}"):
        restore(call.parent, out, masks=out / "gaps")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "gaps").mkdir(parents=True)
    os.link(mask, elsewhere / "gaps" / "call.wav.csv")  # the same mask file, by another name
    with pytest.raises(RecordingError, match="would overwrite the given mask"):
        restore(call.parent, elsewhere, masks=out / "gaps")
    assert files_in(out) == before
    with pytest.raises(RecordingError, match="no such masks folder"):
        restore(call.parent, tmp_path / "third", masks=tmp_path / "missing")
    report = restore(call.parent, tmp_path / "rerun", masks=out / "gaps")  # into another folder
    assert report.loc[0, "mask"] == "given" and report.loc[0, "gaps"] == 1


def test_broken_recordings_fail_with_the_reason(speech, tmp_path):
    """Checked as the corpus stage checks them, while the scan reads them."""
    x, rate = voice_of(speech, 5)
    folder = tmp_path / "in"
    folder.mkdir()

    def with_sample(value, seconds):
        y = x.copy()
        y[round(seconds * rate)] = value
        return y

    sf.write(folder / "nan.wav", with_sample(np.nan, 1.2), rate, subtype="FLOAT")
    sf.write(folder / "inf.wav", with_sample(np.inf, 3.75), rate, subtype="FLOAT")
    stereo = np.stack([x, x], axis=1)
    start = loud_spot(x, rate)
    stereo[start : start + rate // 20, 1] = 0  # a dropout, with a NaN beside it
    stereo[start + rate // 20 + 3, 1] = np.nan
    sf.write(folder / "beside.wav", stereo, rate, subtype="DOUBLE")
    sf.write(folder / "truncated.wav", x, rate, subtype="PCM_16")
    whole = (folder / "truncated.wav").read_bytes()
    (folder / "truncated.wav").write_bytes(whole[: len(whole) - rate])  # the header keeps the data size
    claim = bytearray(whole)
    data_size = claim.index(b"data") + 4
    claim[data_size : data_size + 4] = struct.pack("<I", 2 * 3600 * rate * 2)  # two hours of 16-bit mono
    (folder / "two_hours.wav").write_bytes(bytes(claim))
    assert sf.info(folder / "two_hours.wav").frames == len(x)  # libsndfile trims it to what is there

    report = restore(folder, tmp_path / "out").set_index("file")
    reasons = {
        "nan.wav": "non-finite sample (NaN) at 1.200 s in channel 1",
        "inf.wav": "non-finite sample (+inf) at 3.750 s in channel 1",
        "beside.wav": f"non-finite sample (NaN) at {(start + rate // 20 + 3) / rate:.3f} s in channel 2",
        "truncated.wav": f"truncated: header declares {len(x)} frames (5.000 s), file holds {len(x) - rate // 2}",
        "two_hours.wav": f"truncated: header declares {7200 * rate} frames (7200.000 s), file holds {len(x)}",
    }
    for name, reason in reasons.items():
        assert report.loc[name, "status"] == "failed" and report.loc[name, "message"].startswith(reason), name
        assert not (tmp_path / "out" / name).exists() and not (tmp_path / "out" / "gaps" / f"{name}.csv").exists()


def test_an_8_bit_recording_keeps_its_quiet_passages(speech, tmp_path):
    """8 bits write every quiet passage as a run of one value or two; only the dropout
    placed in speech is one."""
    x, rate = voice_of(speech, 6)
    folder = tmp_path / "in"
    folder.mkdir()
    sf.write(folder / "clean.wav", x, rate, subtype="PCM_U8")
    start = loud_spot(x, rate)
    y = x.copy()
    y[start : start + rate // 20] = 0
    sf.write(folder / "dropout.wav", y, rate, subtype="PCM_U8")
    eight_bit = sf.read(folder / "clean.wav", dtype="float32")[0]
    assert detect_gaps(eight_bit, rate, PARAMS).gaps  # judged as 16-bit, its pauses look like dropouts
    report = restore(folder, tmp_path / "out").set_index("file")
    assert report.loc["clean.wav", "status"] == "unchanged" and report.loc["clean.wav", "gaps"] == 0
    mask = pd.read_csv(tmp_path / "out" / "gaps" / "dropout.wav.csv")
    assert report.loc["dropout.wav", "status"] == "restored" and len(mask) == 1
    assert mask.loc[0, "start_sample"] <= start and mask.loc[0, "end_sample"] >= start + rate // 20


def test_an_a_law_recording_with_an_offset_keeps_its_quiet_passages(speech, tmp_path):
    """Held far from zero by an offset, an A-law file's quiet passages sit where its
    steps are 16 times the finest one and hold one value for long; the restore command
    judges them by the step there."""
    x, rate = voice_of(speech, 6)
    folder = tmp_path / "in"
    folder.mkdir()
    sf.write(folder / "offset.wav", 0.5 * x + 0.2, rate, subtype="ALAW")
    coded = sf.read(folder / "offset.wav", dtype="float32")[0]
    step = quantisation_step("ALAW")
    assert detect_gaps(coded, rate, PARAMS, step=step).gaps  # judged by the finest step alone
    report = restore(folder, tmp_path / "out").set_index("file")
    assert report.loc["offset.wav", "status"] == "unchanged" and report.loc["offset.wav", "gaps"] == 0


def test_the_progress_bar_counts_the_audio_once_per_pass(speech, tmp_path):
    x, rate = voice_of(speech, 6)
    x[loud_spot(x, rate) :][:800] = 0
    (tmp_path / "in").mkdir()
    sf.write(tmp_path / "in" / "six.wav", x, rate, subtype="PCM_16")
    stream = io.StringIO()
    report = restore(tmp_path / "in", tmp_path / "out", chunk_s=1.0, progress_stream=stream)
    assert report.loc[0, "status"] == "restored"
    lines = stream.getvalue().splitlines()
    assert "100.0% scanned 6/6, written 6/6 s of audio" in lines[-1]
    assert any("scanned 6/6, written " in line and "written 6/6" not in line for line in lines)
    stream = io.StringIO()
    restore(tmp_path / "in", tmp_path / "masks", detect_only=True, progress_stream=stream)
    assert "100.0% scanned 6/6 s of audio" in stream.getvalue().splitlines()[-1]


def test_command_line_restores_a_folder(recordings, tmp_path):
    folder, gaps = recordings
    result = subprocess.run(
        [sys.executable, "-m", "specrestore.cli", "restore", str(folder), str(tmp_path / "out"), "--task", "gap",
         "--no-quality", "--chunk-seconds", "2"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # one recording is unreadable
    assert "10 recordings: 1 failed, 5 restored, 4 unchanged" in result.stderr
    assert "100.0%" in result.stderr  # the progress bar reached the end
    report = pd.read_csv(tmp_path / "out" / "restore_report.csv").set_index("file")
    assert report.loc["long.wav", "gaps"] == len(gaps["long.wav"])
    bad = subprocess.run(
        [sys.executable, "-m", "specrestore.cli", "restore", str(folder), str(tmp_path / "x"), "--method", "nope"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert bad.returncode == 2 and "method 'nope' does not restore" in bad.stderr


def test_the_specrestore_command_is_installed():
    from importlib.metadata import entry_points

    (command,) = entry_points(group="console_scripts", name="specrestore")
    assert command.value == "specrestore.cli:main"


def test_detect_only_writes_masks_and_no_audio(recordings, tmp_path):
    folder, _ = recordings
    report = restore(folder, tmp_path / "out", detect_only=True).set_index("file")
    assert report.loc["mono16.wav", "status"] == "scanned" and report.loc["mono16.wav", "gaps"] == 2
    assert (tmp_path / "out/gaps/calls/wide.flac.csv").exists()
    assert not (tmp_path / "out/mono16.wav").exists()
