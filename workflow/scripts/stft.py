from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd

from specrestore.dsp import StftParams
from specrestore.features import stft_shard
from specrestore.store import ArrayFile, ArrayWriter

options = snakemake.params.stft
params = StftParams.from_config(options)
table = pd.read_parquet(snakemake.input.table)
with ArrayFile(snakemake.input.audio) as audio:
    meta = {**options, "sample_rate": audio.meta["sample_rate"]}
    with ArrayWriter(snakemake.output.cache, meta) as arrays:
        _, frames = stft_shard(audio, table, params, options["magnitude_dtype"], arrays)
frames.to_parquet(snakemake.output.table, index=False)
log.info("cached %d utterances, %d frames", len(frames), int(frames["n_frames"].sum()))
