from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd

from specrestore.dsp import StftParams
from specrestore.experiments import classical_restorer, sweep_shard
from specrestore.store import ArrayFile

system, grid, options = snakemake.wildcards.system, snakemake.params.grid, snakemake.params.options
params, rate = StftParams.from_config(snakemake.params.stft), snakemake.params.sample_rate
# LPC may use all the context it is shown: its own cap follows the context width.
restorers = {
    c: {system: classical_restorer(system, rate, params, {**options, "lpc": {**options["lpc"], "context_ms": c}})}
    for c in grid["context_ms"]
}
with ArrayFile(snakemake.input.clean) as audio:
    rows, skipped = sweep_shard(
        audio, pd.read_parquet(snakemake.input.table), grid, restorers, rate, snakemake.params.seed,
        snakemake.params.max_utterances,
    )  # fmt: skip
rows.to_parquet(snakemake.output[0], index=False)
log.info("%s: %d utterances swept, %d too short for the widest context", system, rows["id"].nunique(), skipped)
