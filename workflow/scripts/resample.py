from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd

from specrestore.features import prepare_shard
from specrestore.store import ArrayWriter

shard = int(snakemake.wildcards.shard)
manifest = pd.read_parquet(snakemake.input.manifest)
rows = manifest[manifest["shard"] == shard]
with ArrayWriter(snakemake.output.audio, {"sample_rate": snakemake.params.sample_rate}) as arrays:
    _, table, rejected = prepare_shard(rows, snakemake.params.sample_rate, snakemake.params.level_dbfs, arrays)
log.info("shard %03d: %d utterances prepared, %d rejected", shard, len(table), len(rejected))
table.to_parquet(snakemake.output.table, index=False)
rejected.to_csv(snakemake.output.rejected, index=False)
