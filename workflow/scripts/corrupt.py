from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd

from specrestore.corruption import NoiseBank, Task, corrupt_shard
from specrestore.dsp import StftParams
from specrestore.store import ArrayFile, ArrayWriter

task = Task.from_config(snakemake.wildcards.task, snakemake.params.spec)
paired = snakemake.params.noise == "paired"
bank = NoiseBank.load(snakemake.input.bank, snakemake.input.bank_table) if task.noise and not paired else None
table = pd.read_parquet(snakemake.input.table)
meta = {
    "task": task.name,
    "corruptions": task.corruptions,
    "sample_rate": snakemake.params.sample_rate,
    "spec": snakemake.params.spec,
    "stft": snakemake.params.stft,
    "noise": snakemake.params.noise,
}
with ArrayFile(snakemake.input.audio) as audio, ArrayWriter(snakemake.output.audio, meta) as arrays:
    _, utterances, regions = corrupt_shard(
        audio,
        table,
        task,
        StftParams.from_config(snakemake.params.stft),
        snakemake.params.sample_rate,
        snakemake.params.seed,
        bank,
        paired,
        arrays,
    )
utterances.to_parquet(snakemake.output.table, index=False)
regions.to_parquet(snakemake.output.regions, index=False)
log.info("task %s: corrupted %d utterances, %d regions", task.name, len(utterances), len(regions))
