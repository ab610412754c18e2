from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

from pathlib import Path

import pandas as pd

from specrestore.dsp import StftParams
from specrestore.evaluation import evaluate_shard
from specrestore.store import ArrayFile

with ArrayFile(snakemake.input.clean) as clean, ArrayFile(snakemake.input.corrupted) as corrupt:
    scores = evaluate_shard(
        snakemake.wildcards.task,
        snakemake.wildcards.system,
        snakemake.input.audio,
        pd.read_parquet(snakemake.input.restored),
        clean,
        corrupt,
        pd.read_parquet(snakemake.input.corruption),
        snakemake.params.corruptions,
        snakemake.params.sample_rate,
        StftParams.from_config(snakemake.params.stft),
        snakemake.threads,
        snakemake.params.dnsmos_window_hop_s,
        str(Path(snakemake.input.networks[0]).parent),
    )
scores.to_parquet(snakemake.output[0], index=False)
log.info("scored %d utterances", len(scores))
