"""Which archives a config needs, with their published checksums.

The checksums that the corpora publish live here, so that a user who only names a
pre-downloaded copy (``path``) in the config keeps them; the config can still set its
own (a mirror's, or a newly pinned ESC-50 commit's)."""

from __future__ import annotations

from ..download import Archive

# OpenSLR's md5sum.txt for resource 12.
LIBRISPEECH_MD5 = {
    "train-clean-100": "2a93770f6d5c6c964bc36631d331a522",
    "train-clean-360": "c0e676e450a7ff2f54aeade5171606fa",
    "dev-clean": "42e2234ba48799c1f50f24a7926300a1",
    "test-clean": "32fa31d27d2e1cad72775fee3f4849a9",
}

# Edinburgh DataShare 10283/2791 (doi:10.7488/ds/2117): each zip's bitstream and its
# published MD5.
VOICEBANK_DATASHARE = "https://datashare.ed.ac.uk/bitstreams"
VOICEBANK_ARCHIVES = {
    "clean_trainset_28spk_wav": ("245452b6-6235-44b6-a6f9-e7eb19797769", "d2d5a45ec32f8fcbf201bde0447e20ba"),
    "noisy_trainset_28spk_wav": ("ecb5a102-bb00-46d3-8af5-40c79823b837", "1fca9e8bafb8cd069f6653c6d92f9e9c"),
    "clean_testset_wav": ("dec213d3-bf57-4777-9663-c24bdce92d5e", "34eb1c0ba7ef667e9b966866c542fc16"),
    "noisy_testset_wav": ("13c1bfbf-14a6-41db-9b41-8f7310f01ad5", "fb1b86caa31e8ba5b506c0c64da9aab5"),
}

COMMONVOICE_SOURCE = "https://datacollective.mozillafoundation.org"


def _merged(name: str, published: dict, configured: dict | None, config_key: str) -> Archive:
    chosen = {**published, **{k: v for k, v in (configured or {}).items() if v is not None}}
    return Archive.from_config(name, chosen, config_key)


def librispeech_archives(options: dict) -> dict[str, Archive]:
    """subset -> archive, for the subsets the config's splits use."""
    archives = {}
    for subset in dict.fromkeys(options["subsets"].values()):
        url = f"{options['mirror'].rstrip('/')}/{subset}.tar.gz"
        published = {"url": url, "checksum": f"md5:{LIBRISPEECH_MD5[subset]}"}
        archives[subset] = _merged(
            f"{subset}.tar.gz", published, options["archives"].get(subset), f"corpora.librispeech.archives.{subset}"
        )
    return archives


def vctk_archive(options: dict) -> Archive:
    return _merged("VCTK-Corpus-0.92.zip", {}, options["archive"], "corpora.vctk.archive")


def voicebank_archives(options: dict) -> dict[str, Archive]:
    """part (``clean_testset_wav`` ...) -> archive."""
    archives = {}
    for part, (bitstream, md5) in VOICEBANK_ARCHIVES.items():
        published = {"url": f"{VOICEBANK_DATASHARE}/{bitstream}/download", "checksum": f"md5:{md5}"}
        archives[part] = _merged(
            f"{part}.zip", published, options["archives"].get(part), f"corpora.voicebank_demand.archives.{part}"
        )
    return archives


def commonvoice_archive(options: dict) -> Archive:
    """The archive a user downloads by hand; it has no URL, only instructions."""
    release, language = options["release"], options["language"]
    manual = (
        f"Mozilla distributes Common Voice only through the Mozilla Data Collective ({COMMONVOICE_SOURCE}), "
        "behind a sign-in and its terms and does not allow re-hosting. "
        f"Sign in there, download the Common Voice archive of release {release!r} for language {language!r} "
        f"(it unpacks to {release}/{language}/clips/*.mp3 with train.tsv, dev.tsv and test.tsv)"
    )
    chosen = {**(options.get("archive") or {}), "url": None}
    archive = Archive.from_config(f"{release}-{language}.tar.gz", chosen, "corpora.commonvoice.archive")
    return archive.with_instructions(manual)


def esc50_archive(options: dict) -> Archive:
    return _merged(f"ESC-50-{options['commit']}.zip", {}, options["archive"], "noise_sources.esc50.archive")


def needed_archives(config: dict) -> dict[str, dict[str, Archive]]:
    """corpus -> {archive key -> Archive} for the corpus and noise the config selects."""
    needed = {}
    if config["corpus"] == "librispeech":
        needed["librispeech"] = librispeech_archives(config["corpora"]["librispeech"])
    elif config["corpus"] == "vctk":
        needed["vctk"] = {"VCTK-Corpus-0.92": vctk_archive(config["corpora"]["vctk"])}
    elif config["corpus"] == "voicebank_demand":
        needed["voicebank_demand"] = voicebank_archives(config["corpora"]["voicebank_demand"])
    elif config["corpus"] == "commonvoice":
        options = config["corpora"]["commonvoice"]
        needed["commonvoice"] = {f"{options['release']}-{options['language']}": commonvoice_archive(options)}
    if config["noise"] == "esc50":
        needed["esc50"] = {"ESC-50": esc50_archive(config["noise_sources"]["esc50"])}
    return needed
