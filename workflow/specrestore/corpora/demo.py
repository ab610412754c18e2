"""The ``demo`` corpus: English read speech synthesized offline by espeak-ng.

Sentences come from a small grammar with this project's own word lists (4 to 12 words,
chosen to cover English consonant clusters, fricatives, nasals and vowels). Speakers
combine eight English accents with male and female voice variants, pitch, pitch range
and speaking rate. Everything is drawn from the config seed, so a seed fixes the
corpus; each speaker is synthesized in a fresh process, so the audio is bit-identical
from run to run.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..seeding import rng_for, stable_hash
from .espeak import SynthesisRequest, synthesize_in_fresh_process

ACCENTS = (
    "en-us",
    "en",  # southern British
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-029",  # Caribbean
    "en-us-nyc",
    "en-gb-x-gbclan",  # Lancashire
    "en-gb-x-gbcwmd",  # West Midlands
)
MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7")
# f2, f3, f5 (and other variants with "breath") are left out: their breath noise differs
# from one fresh process to the next, which would break bit-identical reruns.
FEMALE_VARIANTS = ("f1", "f4", "steph", "belinda", "Annie", "linda")

MIN_WORDS, MAX_WORDS = 4, 12

# Word lists written for this project. Verbs are (base, past) pairs.
WORDS = {
    "noun": (
        "anchor basket blanket bridge candle cherry chimney clock coffee compass "
        "drawer engine feather fence garden guitar hammer harbour jacket kettle "
        "ladder lantern letter marble mirror needle orange oyster pebble pencil "
        "pillow plank puzzle rabbit ribbon rocket saddle scarf shovel sparrow "
        "spoon squirrel thimble thunder tiger tractor treasure trumpet tunnel "
        "umbrella vessel violin wagon whistle window wizard yacht zebra"
    ).split(),
    "plural": (
        "apples boots bottles bricks buttons cabbages carrots coins crumbs "
        "daisies engines feathers fishes glasses grapes hinges jewels kittens "
        "leaves matches nails onions parcels peaches pigeons pumpkins rings "
        "shoes sticks stones strings thistles tickets tomatoes towels wheels"
    ).split(),
    "adjective": (
        "ancient bitter brave bright brittle calm cheerful chilly clever crooked "
        "curious damp dusty eager enormous fragile frozen gentle gloomy golden "
        "heavy hollow humble icy jolly lazy loud muddy narrow noisy orange "
        "pale polished purple quiet rough rusty shabby sharp shiny smooth "
        "sparkling splendid stubborn sturdy thirsty tiny velvet vivid wooden yellow"
    ).split(),
    "name": (
        "Abigail Arthur Beatrice Charlie Dorothy Edgar Fiona George Hazel Isaac "
        "Judith Kevin Lydia Martin Nora Oscar Priya Quentin Rosa Samuel Thea "
        "Umar Vera Walter Xavier Yusuf Zoe"
    ).split(),
    "place": (
        "attic barn beach cellar chapel corridor courtyard desert factory forest "
        "garage hallway harbour kitchen library market meadow museum orchard "
        "pantry quarry station stable theatre valley village warehouse workshop"
    ).split(),
    "preposition": "above across against behind beneath beside beyond inside near outside past under".split(),
    "adverb": (
        "boldly briskly carefully cheerfully clumsily eagerly gently gladly "
        "loudly nervously patiently quickly quietly rarely slowly smoothly "
        "softly suddenly swiftly thoroughly"
    ).split(),
    "number": "two three four five six seven eight nine ten eleven twelve twenty".split(),
    "time": (
        "today",
        "yesterday",
        "tonight",
        "tomorrow",
        "at dawn",
        "at noon",
        "after lunch",
        "before supper",
        "on Sunday",
        "last winter",
        "every morning",
    ),
    "verb": (
        ("carry", "carried"),
        ("catch", "caught"),
        ("chase", "chased"),
        ("choose", "chose"),
        ("clean", "cleaned"),
        ("drop", "dropped"),
        ("fetch", "fetched"),
        ("find", "found"),
        ("fix", "fixed"),
        ("grab", "grabbed"),
        ("hide", "hid"),
        ("lift", "lifted"),
        ("mend", "mended"),
        ("move", "moved"),
        ("open", "opened"),
        ("paint", "painted"),
        ("polish", "polished"),
        ("push", "pushed"),
        ("scrub", "scrubbed"),
        ("shake", "shook"),
        ("sketch", "sketched"),
        ("squeeze", "squeezed"),
        ("steal", "stole"),
        ("throw", "threw"),
        ("wash", "washed"),
        ("weigh", "weighed"),
        ("wrap", "wrapped"),
        ("judge", "judged"),
    ),
    "intransitive": (
        ("arrive", "arrived"),
        ("blink", "blinked"),
        ("breathe", "breathed"),
        ("crawl", "crawled"),
        ("dance", "danced"),
        ("drift", "drifted"),
        ("fade", "faded"),
        ("glow", "glowed"),
        ("jump", "jumped"),
        ("laugh", "laughed"),
        ("rest", "rested"),
        ("shiver", "shivered"),
        ("sing", "sang"),
        ("sleep", "slept"),
        ("splash", "splashed"),
        ("swing", "swung"),
        ("vanish", "vanished"),
        ("wander", "wandered"),
        ("whisper", "whispered"),
        ("yawn", "yawned"),
    ),
}
# Slots: N noun, P plural, A adjective, M name, L place, R preposition, D adverb,
# U number, T time phrase, V/v transitive verb past/base, I/i intransitive past/base.
TEMPLATES = (
    "the A N I",
    "the A N V the N",
    "M V U A P R the L",
    "a A N I D R the L",
    "did the N v the A N",
    "please v the A N T",
    "U P I R the A L",
    "why is the N so A",
    "M and M V the N T",
    "after the N I , M V a A N",
    "we V a A N and a A N",
    "never v the N R a A N",
    "the A P I D",
    "M I T",
    "could you v U P for M",
    "T the A N I R the L",
    "M V the A P and I",
    "is the L A or A",
    "M V the A N R the A L T",
    "after the A N I D , the A P I R the L",
    "the N that M V T I R the A L",
    "if you v the A P , M will i R the L",
)


def _pick(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def _article(words: list[str]) -> list[str]:
    """a → an before a vowel sound (good enough for these lists)."""
    out = list(words)
    for i, word in enumerate(out[:-1]):
        if word.lower() == "a" and out[i + 1][0].lower() in "aeiou":
            out[i] = "an" if word == "a" else "An"
    return out


def make_sentence(rng: np.random.Generator) -> str:
    """One sentence of 4 to 12 words from the grammar."""
    while True:
        template = _pick(rng, TEMPLATES)
        words: list[str] = []
        for slot in template.split():
            if slot == "N":
                words.append(_pick(rng, WORDS["noun"]))
            elif slot == "P":
                words.append(_pick(rng, WORDS["plural"]))
            elif slot == "A":
                words.append(_pick(rng, WORDS["adjective"]))
            elif slot == "M":
                words.append(_pick(rng, WORDS["name"]))
            elif slot == "L":
                words.append(_pick(rng, WORDS["place"]))
            elif slot == "R":
                words.append(_pick(rng, WORDS["preposition"]))
            elif slot == "D":
                words.append(_pick(rng, WORDS["adverb"]))
            elif slot == "U":
                words.append(_pick(rng, WORDS["number"]))
            elif slot == "T":
                words.extend(_pick(rng, WORDS["time"]).split())
            elif slot in "Vv":
                words.append(_pick(rng, WORDS["verb"])[1 if slot == "V" else 0])
            elif slot in "Ii":
                words.append(_pick(rng, WORDS["intransitive"])[1 if slot == "I" else 0])
            else:
                words.append(slot)
        words = _article(words)
        n_words = sum(1 for w in words if re.search(r"\w", w))
        if MIN_WORDS <= n_words <= MAX_WORDS:
            break
    text = " ".join(words).replace(" ,", ",")
    end = "?" if template.split()[0] in ("did", "why", "could", "is") else "."
    return text[0].upper() + text[1:] + end


def word_count(sentence: str) -> int:
    return len(re.findall(r"[A-Za-z']+", sentence))


@dataclass(frozen=True)
class DemoSpeaker:
    id: str
    accent: str
    variant: str
    sex: str
    pitch: int
    pitch_range: int
    rate_wpm: int

    @property
    def voice(self) -> str:
        return f"{self.accent}+{self.variant}"


def make_speakers(n_speakers: int, seed: int) -> list[DemoSpeaker]:
    """Speakers alternate female and male and cycle through the accents, so any 12 or
    more cover every accent, both sexes, low and high pitch and slow and fast rates."""
    speakers = []
    for index in range(n_speakers):
        rng = rng_for(seed, "demo-speaker", index)
        sex = "female" if index % 2 == 0 else "male"
        variants = FEMALE_VARIANTS if sex == "female" else MALE_VARIANTS
        # Pitch and rate sweep their ranges across speakers rather than clustering by chance.
        position = (index // 2 + rng.uniform(0, 1)) / max(1, (n_speakers + 1) // 2)
        pitch = int(round(55 + 35 * position)) if sex == "female" else int(round(15 + 35 * position))
        rate = int(round(125 + 80 * ((index * 0.618034) % 1.0)))
        speakers.append(
            DemoSpeaker(
                id=f"demo{index + 1:02d}",
                accent=ACCENTS[index % len(ACCENTS)],
                variant=variants[(index // 2) % len(variants)],
                sex=sex,
                pitch=pitch,
                pitch_range=int(rng.integers(30, 80)),
                rate_wpm=rate,
            )
        )
    return speakers


def plan_corpus(
    n_speakers: int, sentences_per_speaker: int, seed: int, out_dir: str | Path, noise_floor_dbfs: float | None = -75.0
) -> list[dict]:
    """Every utterance of the corpus with its text, voice and target path, in order.
    ``noise_floor_dbfs`` adds a seeded white noise floor (None: exact digital silence
    in pauses, as espeak makes it)."""
    out_dir = Path(out_dir)
    rows = []
    for speaker in make_speakers(n_speakers, seed):
        for index in range(sentences_per_speaker):
            utt_id = f"{speaker.id}_{index + 1:03d}"
            rng = rng_for(seed, "demo-sentence", utt_id)
            # Small per-sentence changes of tempo and pitch, as a reader varies.
            rows.append(
                {
                    "id": utt_id,
                    "speaker": speaker.id,
                    "text": make_sentence(rng),
                    "voice": speaker.voice,
                    "accent": speaker.accent,
                    "sex": speaker.sex,
                    "rate_wpm": int(speaker.rate_wpm * rng.uniform(0.92, 1.08)),
                    "pitch": int(np.clip(speaker.pitch + rng.integers(-3, 4), 0, 100)),
                    "pitch_range": speaker.pitch_range,
                    "noise_floor_dbfs": noise_floor_dbfs,
                    "noise_seed": stable_hash(seed, "demo-floor", utt_id) % 2**32,
                    "path": str(out_dir / speaker.id / f"{utt_id}.wav"),
                }
            )
    return rows


def synthesize_corpus(plan: list[dict], work_dir: str | Path, workers: int = 1) -> None:
    """Write every planned utterance; one fresh espeak process per speaker, in plan order,
    so each file's bytes depend only on its speaker's sentences."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    by_speaker: dict[str, list[SynthesisRequest]] = {}
    for row in plan:
        by_speaker.setdefault(row["speaker"], []).append(
            SynthesisRequest(
                row["path"],
                row["text"],
                row["voice"],
                row["rate_wpm"],
                row["pitch"],
                row["pitch_range"],
                row["noise_floor_dbfs"],
                row["noise_seed"],
            )
        )
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [
            pool.submit(synthesize_in_fresh_process, requests, work_dir / f"{speaker}.json")
            for speaker, requests in by_speaker.items()
        ]
        for future in futures:
            future.result()
