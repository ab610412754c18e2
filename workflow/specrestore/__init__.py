"""specrestore: speech restoration in the STFT domain (gap filling, band-hole filling,
denoising), the library behind the Snakemake workflow in this repository."""

__version__ = "0.1.0"
