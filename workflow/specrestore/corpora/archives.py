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


def _merged(name: str, published: dict, configured: dict | None) -> Archive:
    chosen = {**published, **{k: v for k, v in (configured or {}).items() if v is not None}}
    return Archive.from_config(name, chosen)


def librispeech_archives(options: dict) -> dict[str, Archive]:
    """subset -> archive, for the subsets the config's splits use."""
    archives = {}
    for subset in dict.fromkeys(options["subsets"].values()):
        url = f"{options['mirror'].rstrip('/')}/{subset}.tar.gz"
        published = {"url": url, "checksum": f"md5:{LIBRISPEECH_MD5[subset]}"}
        archives[subset] = _merged(f"{subset}.tar.gz", published, options["archives"].get(subset))
    return archives


def vctk_archive(options: dict) -> Archive:
    return _merged("VCTK-Corpus-0.92.zip", {}, options["archive"])


def esc50_archive(options: dict) -> Archive:
    return _merged(f"ESC-50-{options['commit']}.zip", {}, options["archive"])


def needed_archives(config: dict) -> dict[str, dict[str, Archive]]:
    """corpus -> {archive key -> Archive} for the corpus and noise the config selects."""
    needed = {}
    if config["corpus"] == "librispeech":
        needed["librispeech"] = librispeech_archives(config["corpora"]["librispeech"])
    elif config["corpus"] == "vctk":
        needed["vctk"] = {"VCTK-Corpus-0.92": vctk_archive(config["corpora"]["vctk"])}
    if config["noise"] == "esc50":
        needed["esc50"] = {"ESC-50": esc50_archive(config["noise_sources"]["esc50"])}
    return needed
