from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd

from specrestore.dsp import StftParams
from specrestore.features import stft_shard
from specrestore.store import ArrayFile, write_arrays

options = snakemake.params.stft
params = StftParams.from_config(options)
table = pd.read_parquet(snakemake.input.table)
with ArrayFile(snakemake.input.audio) as audio:
    arrays, frames = stft_shard(audio, table, params, options["magnitude_dtype"])
    write_arrays(snakemake.output.cache, arrays, {**options, "sample_rate": audio.meta["sample_rate"]})
frames.to_parquet(snakemake.output.table, index=False)
log.info("cached %d utterances, %d frames", len(frames), int(frames["n_frames"].sum()))
