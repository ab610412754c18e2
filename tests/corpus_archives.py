"""Small in-memory archives that reproduce the real layouts of the corpora the pipeline downloads.

Each builder returns the bytes of an archive laid out like the one the corpus's host serves (folders, file names,
audio formats, metadata files and their known quirks), filled with a fraction of a second of synthetic audio per
file: a few harmonics under a syllable-rate envelope plus a little noise, all from fixed seeds. The bytes are the
same on every call and every run (fixed member times, gzip header without time or name), so checksums computed with
:func:`sha256` / :func:`md5` can be compared against each other; they are of course not the real corpora's checksums.

- :func:`librispeech`: OpenSLR 12 ``<subset>.tar.gz``
- :func:`vctk`: Edinburgh DataShare ``VCTK-Corpus-0.92.zip``
- :func:`esc50`: GitHub's zip of karolpiczak/ESC-50 at a commit
- :func:`voicebank`, :func:`log`, ``VOICEBANK_SNRS``: Edinburgh DataShare 10283/2791 (Valentini et al.) zips and logs
- :func:`commonvoice`: Mozilla Common Voice ``<version>-<language>.tar.gz`` (clips are real MP3, 32 kHz mono)
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import tarfile
import zipfile
import zlib

import numpy as np
import soundfile as sf

__all__ = [
    "ESC50_CLASSES",
    "LIBRISPEECH_SPEAKERS",
    "VOICEBANK_PARTS",
    "VOICEBANK_SNRS",
    "commonvoice",
    "esc50",
    "librispeech",
    "log",
    "md5",
    "sha256",
    "vctk",
    "voicebank",
]

_MTIME = 1_400_000_000  # 2014-05-13, for every tar member
_ZIP_TIME = (2019, 11, 13, 12, 0, 0)  # for every zip member


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# ---------------------------------------------------------------------------------------------------------------------
# audio and archive helpers


def _rng(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32("/".join(map(str, key)).encode()))


def _speech_like(seconds: float, sr: int, *key, peak: float = 0.5) -> np.ndarray:
    """A voiced-sounding signal: harmonics of a gliding f0 under a ~4 Hz syllable envelope, plus a little noise."""
    rng = _rng("speech", sr, *key)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    f0 = rng.uniform(95, 230) * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = np.zeros(n)
    for k in range(1, 9):
        if k * f0.max() >= 0.45 * sr:
            break
        x += rng.uniform(0.2, 1.0) / k * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    rate = rng.uniform(3, 5)
    envelope = np.clip(np.sin(np.pi * rate * t + rng.uniform(0, 1)), 0, None) ** 0.7
    ramp = np.minimum(1, np.minimum(t, t[::-1]) / 0.02)  # 20 ms fades, no clicks at the ends
    x = x * (0.15 + 0.85 * envelope) * ramp + 0.01 * rng.standard_normal(n)
    return (peak * x / np.max(np.abs(x))).astype(np.float64)


def _pcm16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


def _encode(x: np.ndarray, sr: int, fmt: str, subtype: str | None = "PCM_16") -> bytes:
    buf = io.BytesIO()
    data = x if x.dtype == np.int16 else _pcm16(x)
    if fmt == "MP3":
        sf.write(buf, data.astype(np.float32) / 32768, sr, format="MP3", subtype="MPEG_LAYER_III")
    else:
        sf.write(buf, data, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def _flac(x: np.ndarray, sr: int) -> bytes:
    return _encode(x, sr, "FLAC")


def _wav(x: np.ndarray, sr: int) -> bytes:
    return _encode(x, sr, "WAV")


class _Tar:
    """A deterministic .tar.gz with a directory entry before the first member under each directory."""

    def __init__(self):
        self._buf = io.BytesIO()
        self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._buf, mtime=0, compresslevel=6)
        self._tar = tarfile.open(fileobj=self._gz, mode="w", format=tarfile.GNU_FORMAT)  # noqa: SIM115 - closed in close()
        self._dirs: set[str] = set()

    def _info(self, name: str) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.mtime, info.uid, info.gid, info.uname, info.gname = _MTIME, 1000, 1000, "", ""
        return info

    def dir(self, name: str) -> None:
        name = name.rstrip("/")
        if name in self._dirs:
            return
        if "/" in name:
            self.dir(name.rsplit("/", 1)[0])
        info = self._info(name)
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        self._tar.addfile(info)
        self._dirs.add(name)

    def file(self, name: str, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        if "/" in name:
            self.dir(name.rsplit("/", 1)[0])
        info = self._info(name)
        info.size, info.mode = len(data), 0o644
        self._tar.addfile(info, io.BytesIO(data))

    def close(self) -> bytes:
        self._tar.close()
        self._gz.close()
        return self._buf.getvalue()


class _Zip:
    """A deterministic zip (deflated members, fixed times), optionally with directory entries."""

    def __init__(self, dirs: bool = True, comment: bytes = b""):
        self._buf = io.BytesIO()
        self._zip = zipfile.ZipFile(self._buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self._zip.comment = comment
        self._with_dirs = dirs
        self._dirs: set[str] = set()

    def dir(self, name: str) -> None:
        name = name.rstrip("/")
        if not self._with_dirs or name in self._dirs:
            return
        if "/" in name:
            self.dir(name.rsplit("/", 1)[0])
        info = zipfile.ZipInfo(name + "/", date_time=_ZIP_TIME)
        info.external_attr = (0o40755 << 16) | 0x10
        self._zip.writestr(info, b"")
        self._dirs.add(name)

    def file(self, name: str, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        if "/" in name:
            self.dir(name.rsplit("/", 1)[0])
        info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self._zip.writestr(info, data)

    def close(self) -> bytes:
        self._zip.close()
        return self._buf.getvalue()


_STELLA = [
    "Please call Stella.",
    "Ask her to bring these things with her from the store.",
    "Six spoons of fresh snow peas, five thick slabs of blue cheese, and maybe a snack for her brother Bob.",
    "We also need a small plastic snake and a big toy frog for the kids.",
    "She can scoop these things into three red bags, and we will go meet her Wednesday at the train station.",
]

_WORDS = (
    "the of and to a in that he was it his i with as had for you her but not be she at on is by him which "
    "this all from so they were my one have said there we me would or been when their no an if up could "
    "then what out into more some them now only very little man great upon any time before such again old "
    "don't it's o'er thou shall never long down made good did know over like night day"
).split()


def _words(rng: np.random.Generator, low: int = 4, high: int = 12) -> list[str]:
    return [str(w) for w in rng.choice(_WORDS, size=int(rng.integers(low, high + 1)))]


# ---------------------------------------------------------------------------------------------------------------------
# LibriSpeech (OpenSLR 12)

LIBRISPEECH_SPEAKERS: dict[str, dict[str, dict[str, int]]] = {
    "dev-clean": {"84": {"121123": 3}, "174": {"50561": 3}},
    "dev-other": {"116": {"288045": 3}, "1255": {"90407": 3}},
    "test-clean": {"1089": {"134686": 3}, "121": {"121726": 3}},
    "test-other": {"1688": {"142285": 3}, "1998": {"15444": 3}},
    "train-clean-100": {"19": {"198": 3}, "26": {"495": 3}, "27": {"123349": 3}},
    "train-clean-360": {"100": {"121669": 3}, "1001": {"134707": 3}},
    "train-other-500": {"1006": {"135212": 3}, "1007": {"148838": 3}},
}
"""The default speakers of each subset (speaker -> chapter -> number of utterances); speaker-disjoint."""

_LIBRISPEECH_NAMES = {
    "84": "Christie Nowak",
    "174": "Peter Eastman",
    "19": "Kara Shallenberg",
    "26": "Denny Sayers",
    "27": "Sean McKinley",
}

_LIBRISPEECH_LICENSE = """\
LibriSpeech (c) 2014 by Vassil Panayotov

LibriSpeech ASR corpus is licensed under a
Creative Commons Attribution 4.0 International License.

See <http://creativecommons.org/licenses/by/4.0/>.
"""


def _librispeech_utterance(speaker: str, chapter: str, number: int) -> tuple[np.ndarray, str]:
    rng = _rng("librispeech-words", speaker, chapter, number)
    seconds = float(rng.uniform(0.4, 1.0))
    return _speech_like(seconds, 16000, "librispeech", speaker, chapter, number), " ".join(_words(rng)).upper()


@functools.lru_cache(maxsize=16)
def _librispeech(subset: str, speakers: tuple) -> bytes:
    plan = {spk: dict(chapters) for spk, chapters in speakers}
    tar = _Tar()
    top = "LibriSpeech"
    tar.dir(top)
    minutes: dict[str, float] = {}
    chapter_minutes: dict[tuple[str, str], float] = {}
    # The real tarballs carry the metadata files first, then the audio, speaker by speaker, chapter by chapter.
    audio: list[tuple[str, bytes | str]] = []
    for speaker, chapters in plan.items():
        for chapter, count in chapters.items():
            folder = f"{top}/{subset}/{speaker}/{chapter}"
            lines = []
            for number in range(count):
                utt = f"{speaker}-{chapter}-{number:04d}"
                x, text = _librispeech_utterance(speaker, chapter, number)
                audio.append((f"{folder}/{utt}.flac", _flac(x, 16000)))
                lines.append(f"{utt} {text}\n")
                chapter_minutes[speaker, chapter] = chapter_minutes.get((speaker, chapter), 0.0) + len(x) / 16000 / 60
            audio.append((f"{folder}/{speaker}-{chapter}.trans.txt", "".join(lines)))
        minutes[speaker] = sum(m for (s, _), m in chapter_minutes.items() if s == speaker)

    # SPEAKERS.TXT and CHAPTERS.TXT list every subset's speakers in every tarball, as the real ones do.
    rows: dict[str, tuple[str, str, dict[str, int]]] = {}
    for other, default in LIBRISPEECH_SPEAKERS.items():
        if other != subset:
            for speaker, chapters in default.items():
                rows[speaker] = (other, speaker, chapters)
    for speaker, chapters in plan.items():
        rows[speaker] = (subset, speaker, chapters)
    sexes = {}
    for group in [*LIBRISPEECH_SPEAKERS.values(), plan]:
        for i, speaker in enumerate(group):
            sexes[speaker] = "FM"[i % 2]

    speakers_txt = [
        "; Some of the speakers in the corpus appear in more than one of the subsets; the subset column below\n",
        "; lists the subset in which the speaker's recordings are found (synthetic test data, see tests/).\n",
        ";ID  |SEX| SUBSET           |MINUTES| NAME\n",
    ]
    chapters_txt = [
        "; The chapters of the audiobooks in the corpus (synthetic test data).\n",
        ";ID    |READER|MINUTES| SUBSET           | PROJ.|BOOK ID| CH. TITLE | PROJECT TITLE\n",
    ]
    books_txt = [
        "; The books in the corpus (synthetic test data).\n",
        ";ID    |BOOK TITLE\n",
    ]
    books: dict[int, str] = {}
    for speaker in sorted(rows, key=int):
        where, _, chapters = rows[speaker]
        total = (
            minutes.get(speaker, 0.02 * sum(chapters.values())) if where == subset else 0.02 * sum(chapters.values())
        )
        name = _LIBRISPEECH_NAMES.get(speaker, f"Reader {speaker}")
        speakers_txt.append(f"{speaker:<5}| {sexes[speaker]} | {where:<17}| {total:.2f} | {name}\n")
        for chapter, count in chapters.items():
            book = 1000 + zlib.crc32(chapter.encode()) % 9000
            books[book] = f"Book {book}"
            ch_min = chapter_minutes.get((speaker, chapter), 0.02 * count) if where == subset else 0.02 * count
            chapters_txt.append(
                f"{chapter:<7}| {speaker:<6}| {ch_min:<6.2f}| {where:<17}| {book + 10000:<6}| {book:<6}| "
                f"Chapter {int(chapter) % 40 + 1} | Book {book}\n"
            )
    for book in sorted(books):
        books_txt.append(f"{book:<7}| {books[book]}\n")

    tar.file(f"{top}/BOOKS.TXT", "".join(books_txt))
    tar.file(f"{top}/CHAPTERS.TXT", "".join(chapters_txt))
    tar.file(f"{top}/LICENSE.TXT", _LIBRISPEECH_LICENSE)
    tar.file(f"{top}/README.TXT", "LibriSpeech ASR corpus (a synthetic miniature for tests).\n")
    tar.file(f"{top}/SPEAKERS.TXT", "".join(speakers_txt))
    for name, data in audio:
        tar.file(name, data)
    return tar.close()


def librispeech(subset: str, speakers: dict[str, dict[str, int]] | None = None) -> bytes:
    """``<subset>.tar.gz`` as on OpenSLR 12 (``LibriSpeech/<subset>/<speaker>/<chapter>/...``).

    ``speakers`` maps speaker -> chapter -> number of utterances (default: ``LIBRISPEECH_SPEAKERS[subset]``).
    Audio is 16 kHz mono 16-bit FLAC, 0.4-1.0 s each; one ``<speaker>-<chapter>.trans.txt`` per chapter.
    ``SPEAKERS.TXT`` and ``CHAPTERS.TXT`` list the default speakers of all subsets, as the real files list every
    subset's speakers; sexes alternate F, M, F... in the order of each subset's speakers.
    """
    if speakers is None:
        if subset not in LIBRISPEECH_SPEAKERS:
            raise ValueError(f"no default speakers for LibriSpeech subset {subset!r}; pass speakers=")
        speakers = LIBRISPEECH_SPEAKERS[subset]
    key = tuple((str(s), tuple((str(c), int(n)) for c, n in chapters.items())) for s, chapters in speakers.items())
    return _librispeech(subset, key)


# ---------------------------------------------------------------------------------------------------------------------
# VCTK 0.92 (Edinburgh DataShare 10283/3443)

_VCTK_SPEAKERS = [
    # ID, AGE, GENDER, ACCENTS, REGION COMMENTS
    ("p225", "23", "F", "English", "Southern  England"),
    ("p226", "22", "M", "English", "Surrey"),
    ("p227", "38", "M", "English", "Cumbria"),
    ("p228", "22", "F", "English", "Southern  England"),
    ("p280", "25", "F", "French", "France (mic2 files unavailable)"),
    ("p315", "18", "M", "American", "Connecticut (Text missing)"),
]

_VCTK_README = """\
CSTR VCTK Corpus
English Multi-speaker Corpus for CSTR Voice Cloning Toolkit

(Version 0.92) -- a synthetic miniature with the same layout, for tests.

This CSTR VCTK Corpus includes speech data uttered by English speakers with various accents. Each speaker reads
out about 400 sentences. Audio is in wav48_silence_trimmed/<speaker>/<speaker>_<NNN>_mic{1,2}.flac (48 kHz,
16 bit), text in txt/<speaker>/<speaker>_<NNN>.txt. p315's text is missing; p280 has no mic2 recordings.
"""

_VCTK_LICENSE = """\
This corpus is licensed under the Creative Commons License: Attribution 4.0 International
http://creativecommons.org/licenses/by/4.0/legalcode
"""


@functools.lru_cache(maxsize=1)
def vctk() -> bytes:
    """``VCTK-Corpus-0.92.zip``: members at the zip root (no enclosing folder).

    ``README.txt``, ``license_text``, ``speaker-info.txt``, ``txt/<spk>/<spk>_<NNN>.txt`` and
    ``wav48_silence_trimmed/<spk>/<spk>_<NNN>_mic{1,2}.flac`` (48 kHz mono 16-bit FLAC) for p225, p226, p227, p228,
    p280 and p315, utterances 001-003. Quirks as in the real corpus: p315 has no ``txt/p315/`` at all, p280 has
    only ``_mic1.flac`` files.
    """
    z = _Zip()
    z.file("README.txt", _VCTK_README)
    z.file("license_text", _VCTK_LICENSE)
    info = ["ID  AGE  GENDER  ACCENTS  REGION COMMENTS \n"]
    info += [f"{spk}  {age}  {sex}    {accent}    {region}\n" for spk, age, sex, accent, region in _VCTK_SPEAKERS]
    z.file("speaker-info.txt", "".join(info))
    for spk, *_ in _VCTK_SPEAKERS:
        if spk == "p315":
            continue
        for i in range(1, 4):
            z.file(f"txt/{spk}/{spk}_{i:03d}.txt", _STELLA[i - 1] + "\n")
    for spk, *_ in _VCTK_SPEAKERS:
        for i in range(1, 4):
            seconds = float(_rng("vctk-len", spk, i).uniform(0.4, 0.8))
            x = _speech_like(seconds, 48000, "vctk", spk, i)
            z.file(f"wav48_silence_trimmed/{spk}/{spk}_{i:03d}_mic1.flac", _flac(x, 48000))
            if spk != "p280":
                # The second microphone: a duller, quieter copy with its own noise floor.
                mic2 = 0.7 * np.convolve(x, np.ones(4) / 4, mode="same") + 0.003 * _rng("mic2", spk, i).standard_normal(
                    len(x)
                )
                z.file(f"wav48_silence_trimmed/{spk}/{spk}_{i:03d}_mic2.flac", _flac(mic2, 48000))
    return z.close()


# ---------------------------------------------------------------------------------------------------------------------
# ESC-50 (github.com/karolpiczak/ESC-50)

ESC50_CLASSES = [
    "dog", "rooster", "pig", "cow", "frog", "cat", "hen", "insects", "sheep", "crow",
    "rain", "sea_waves", "crackling_fire", "crickets", "chirping_birds", "water_drops", "wind", "pouring_water",
    "toilet_flush", "thunderstorm",
    "crying_baby", "sneezing", "clapping", "breathing", "coughing", "footsteps", "laughing", "brushing_teeth",
    "snoring", "drinking_sipping",
    "door_wood_knock", "mouse_click", "keyboard_typing", "door_wood_creaks", "can_opening", "washing_machine",
    "vacuum_cleaner", "clock_alarm", "clock_tick", "glass_breaking",
    "helicopter", "chainsaw", "siren", "car_horn", "engine", "train", "church_bells", "airplane", "fireworks",
    "hand_saw",
]  # fmt: skip
"""ESC-50's 50 categories, indexed by target."""

_ESC10 = {"dog", "rooster", "rain", "sea_waves", "crackling_fire", "crying_baby", "sneezing", "clock_tick",
          "helicopter", "chainsaw"}  # fmt: skip

# (fold, freesound id, take, target): 2 clips per fold, classes spread over the folds; one source with two takes.
_ESC50_CLIPS = [
    (1, 100032, "A", 0),
    (1, 101296, "A", 19),
    (2, 102414, "C", 10),
    (2, 118206, "A", 40),
    (3, 103050, "A", 41),
    (3, 144028, "A", 24),
    (4, 117793, "A", 1),
    (4, 117793, "B", 1),
    (5, 103418, "A", 42),
    (5, 9032, "A", 21),
]

_ESC50_README = """\
# ESC-50: Dataset for Environmental Sound Classification

(A synthetic miniature with the layout of the GitHub repository, for tests.)

The ESC-50 dataset is a labeled collection of 2000 environmental audio recordings (5-second-long, 44.1 kHz, mono)
organized into 50 semantical classes, arranged into 5 folds for cross-validation. Clip names are
`{FOLD}-{CLIP_ID}-{TAKE}-{TARGET}.wav`; meta/esc50.csv lists them.
"""

_ESC50_LICENSE = """\
Attribution-NonCommercial 3.0 Unported

The dataset is available under the terms of the Creative Commons Attribution Non-Commercial license.
(Full text: https://creativecommons.org/licenses/by-nc/3.0/legalcode)
"""


def _esc50_clip(fold: int, src: int, take: str, target: int) -> np.ndarray:
    """5.0 s at 44.1 kHz: a short event, then digital silence (the real clips are padded the same way)."""
    sr, rng = 44100, _rng("esc50", fold, src, take, target)
    event = int(sr * rng.uniform(0.3, 0.8))
    t = np.arange(event) / sr
    noise = np.convolve(rng.standard_normal(event), np.ones(int(rng.integers(1, 8))), mode="same")
    tone = np.sin(2 * np.pi * rng.uniform(150, 3000) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 12) * t))
    mix = rng.uniform(0.2, 0.8)
    sound = mix * tone + (1 - mix) * noise / np.max(np.abs(noise))
    sound *= np.minimum(1, np.minimum(t, t[::-1]) / 0.01) * 0.1 / np.max(np.abs(sound))
    x = np.zeros(5 * sr)
    x[:event] = sound
    return x


@functools.lru_cache(maxsize=4)
def esc50(commit: str) -> bytes:
    """GitHub's ``ESC-50-<commit>.zip``: everything under ``ESC-50-<commit>/`` (zip comment: the commit).

    ``audio/<fold>-<freesound id>-<take>-<target>.wav`` (44.1 kHz mono 16-bit WAV, 5.0 s: a short low-level event
    then zeros), ``meta/esc50.csv`` (10 rows, 2 per fold), ``README.md``, ``LICENSE``.
    """
    root = f"ESC-50-{commit}"
    z = _Zip(comment=commit.encode())
    z.dir(root)
    z.file(f"{root}/LICENSE", _ESC50_LICENSE)
    z.file(f"{root}/README.md", _ESC50_README)
    rows = []
    clips = sorted(_ESC50_CLIPS, key=lambda c: f"{c[0]}-{c[1]}-{c[2]}-{c[3]}.wav")
    for fold, src, take, target in clips:
        name = f"{fold}-{src}-{take}-{target}.wav"
        z.file(f"{root}/audio/{name}", _wav(_esc50_clip(fold, src, take, target), 44100))
        category = ESC50_CLASSES[target]
        rows.append(f"{name},{fold},{target},{category},{category in _ESC10},{src},{take}\n")
    z.file(f"{root}/meta/esc50.csv", "filename,fold,target,category,esc10,src_file,take\n" + "".join(rows))
    return z.close()


# ---------------------------------------------------------------------------------------------------------------------
# VoiceBank-DEMAND (Valentini-Botinhao et al., Edinburgh DataShare 10283/2791)

VOICEBANK_PARTS = [
    "clean_testset_wav",
    "noisy_testset_wav",
    "clean_trainset_28spk_wav",
    "noisy_trainset_28spk_wav",
    "testset_txt",
    "trainset_28spk_txt",
]

_VB_TEST = {"speakers": ["p232", "p257"], "snrs": [2.5, 7.5, 12.5, 17.5],
            "noises": ["living", "office", "bus", "cafe", "psquare"]}  # fmt: skip
_VB_TRAIN = {"speakers": ["p226", "p287"], "snrs": [0.0, 5.0, 10.0, 15.0],
             "noises": ["babble", "cafeteria", "car", "kitchen", "meeting", "metro", "restaurant", "ssn", "station",
                        "traffic"]}  # fmt: skip


def _vb_ids(spec: dict) -> list[str]:
    return [f"{spk}_{i:03d}" for spk in spec["speakers"] for i in range(1, 4)]


VOICEBANK_SNRS: dict[str, tuple[str, float]] = {
    utt: (spec["noises"][(3 * i + 1) % len(spec["noises"])], spec["snrs"][i % len(spec["snrs"])])
    for spec in (_VB_TEST, _VB_TRAIN)
    for i, utt in enumerate(_vb_ids(spec))
}
"""Utterance id -> (noise type, SNR in dB) of the noisy VoiceBank files; the SNR is over the whole file,
``10 log10(sum(clean**2) / sum((noisy - clean)**2))`` on the 16-bit samples, to within quantisation."""


@functools.lru_cache(maxsize=32)
def _vb_audio(utt: str) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy) int16 samples at 48 kHz."""
    seconds = float(_rng("voicebank-len", utt).uniform(0.4, 0.8))
    clean = _pcm16(_speech_like(seconds, 48000, "voicebank", utt, peak=0.3))
    noise_type, snr = VOICEBANK_SNRS[utt]
    rng = _rng("voicebank-noise", utt, noise_type)
    smooth = 1 + zlib.crc32(noise_type.encode()) % 6  # each noise type its own colour
    noise = np.convolve(rng.standard_normal(len(clean)), np.ones(smooth) / smooth, mode="same")
    c = clean.astype(np.float64)
    noise *= np.sqrt(np.sum(c**2) / np.sum(noise**2) / 10 ** (snr / 10))
    noisy = np.clip(np.round(c + noise), -32768, 32767).astype(np.int16)
    return clean, noisy


def _vb_spec(part: str) -> dict:
    if "test" in part:
        return _VB_TEST
    if "train" in part:
        return _VB_TRAIN
    raise ValueError(f"unknown VoiceBank part {part!r}; one of {VOICEBANK_PARTS}")


@functools.lru_cache(maxsize=8)
def voicebank(part: str) -> bytes:
    """``<part>.zip`` from DataShare 10283/2791: ``<part>/<spk>_<NNN>.wav`` (48 kHz mono 16-bit) or ``.txt``.

    Test speakers p232, p257; train speakers p226, p287; utterances 001-003. A noisy file is its clean file plus
    noise at ``VOICEBANK_SNRS[id]`` (same name, same length).
    """
    if part not in VOICEBANK_PARTS:
        raise ValueError(f"unknown VoiceBank part {part!r}; one of {VOICEBANK_PARTS}")
    spec = _vb_spec(part)
    z = _Zip()
    z.dir(part)
    for utt in _vb_ids(spec):
        if part.endswith("_txt"):
            z.file(f"{part}/{utt}.txt", _STELLA[int(utt[-3:]) - 1] + "\n")
        else:
            clean, noisy = _vb_audio(utt)
            z.file(f"{part}/{utt}.wav", _wav(noisy if part.startswith("noisy") else clean, 48000))
    return z.close()


def log(part: str) -> str:
    """The text of ``log_testset.txt`` (part containing "test") or ``log_trainset_28spk.txt`` ("train").

    One line per utterance: ``<id> <noise type> <snr>``, e.g. ``p232_001 office 2.5`` (SNRs written with %g).
    """
    spec = _vb_spec(part)
    return "".join(f"{utt} {VOICEBANK_SNRS[utt][0]} {VOICEBANK_SNRS[utt][1]:g}\n" for utt in _vb_ids(spec))


# ---------------------------------------------------------------------------------------------------------------------
# Mozilla Common Voice

_CV_HEADER = [
    "client_id", "path", "sentence_id", "sentence", "sentence_domain", "up_votes", "down_votes", "age", "gender",
    "accents", "variant", "locale", "segment",
]  # fmt: skip
_CV_PEOPLE = [  # age, gender, accents
    ("twenties", "male_masculine", "United States English"),
    ("thirties", "female_feminine", "England English"),
    ("", "", ""),
    ("fourties", "male_masculine", "India and South Asia (India, Pakistan, Sri Lanka)"),
    ("twenties", "female_feminine", "Canadian English"),
    ("fifties", "male_masculine", "Scottish English"),
]
_CV_SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    'She said "hello" and walked away.',
    "It's a long way to the nearest town.",
    "Please close the window before you leave.",
    "Their house is at the end of the street.",
    "He plays the violin every Sunday morning.",
    "A cup of tea would be lovely, thank you.",
    "The museum opens at nine o'clock.",
    "Rain is expected later in the afternoon.",
    "We walked along the river until sunset.",
    "The committee approved the new budget.",
    "Turn left at the second traffic light.",
]


@functools.lru_cache(maxsize=4)
def commonvoice(version: str = "cv-corpus-17.0-2024-03-15", language: str = "en") -> bytes:
    """``<version>-<language>.tar.gz`` as Mozilla serves it: ``<version>/<language>/clips/*.mp3`` plus TSVs.

    The clips are real MP3 (MPEG-1 Layer III written by libsndfile/LAME), 32 kHz mono, 0.6-1.0 s, named
    ``common_voice_<language>_<8 digits>.mp3``. 6 speakers x 2 clips; train/dev/test hold 4/1/1 speakers (8/2/2
    clips), ``validated.tsv`` all 12, ``invalidated.tsv`` and ``other.tsv`` only their header;
    ``clip_durations.tsv`` has ``clip`` and ``duration[ms]``. As in the real files, one sentence contains double
    quotes, one speaker has empty age/gender/accents, and ages are spelt like Common Voice's ("fourties").
    """
    base = f"{version}/{language}"
    tar = _Tar()
    tar.dir(f"{base}/clips")
    rows: list[list[str]] = []
    durations: list[str] = []
    for s, (age, gender, accents) in enumerate(_CV_PEOPLE):
        client = hashlib.sha512(f"cv-speaker-{language}-{s}".encode()).hexdigest()
        for k in range(2):
            n = 2 * s + k
            name = f"common_voice_{language}_{39_586_363 + 7919 * n:08d}.mp3"
            seconds = float(_rng("cv-len", language, n).uniform(0.6, 1.0))
            x = _speech_like(seconds, 32000, "commonvoice", language, s, k)
            tar.file(f"{base}/clips/{name}", _encode(x, 32000, "MP3"))
            sentence = _CV_SENTENCES[n % len(_CV_SENTENCES)]
            sentence_id = hashlib.sha256(sentence.encode()).hexdigest()
            rows.append([client, name, sentence_id, sentence, "", "2", "0", age, gender, accents, "", language, ""])
            durations.append(f"{name}\t{round(seconds * 1000)}\n")

    def tsv(selected: list[list[str]]) -> str:
        return "\t".join(_CV_HEADER) + "\n" + "".join("\t".join(row) + "\n" for row in selected)

    tar.file(f"{base}/clip_durations.tsv", "clip\tduration[ms]\n" + "".join(durations))
    tar.file(f"{base}/dev.tsv", tsv(rows[8:10]))
    tar.file(f"{base}/invalidated.tsv", tsv([]))
    tar.file(f"{base}/other.tsv", tsv([]))
    tar.file(f"{base}/test.tsv", tsv(rows[10:12]))
    tar.file(f"{base}/train.tsv", tsv(rows[:8]))
    tar.file(f"{base}/validated.tsv", tsv(rows))
    return tar.close()
