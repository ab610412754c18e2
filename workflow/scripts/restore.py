from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd
from specrestore.dsp import StftParams
from specrestore.evaluation import restore_shard
from specrestore.store import ArrayFile

table = pd.read_parquet(snakemake.input.table)
test_ids = table.loc[table["split"] == "test", "id"].tolist()
system = snakemake.wildcards.system
with ArrayFile(snakemake.input.clean) as clean, ArrayFile(snakemake.input.corrupted) as corrupt:
    restored = restore_shard(
        system,
        test_ids,
        clean,
        corrupt,
        snakemake.params.sample_rate,
        StftParams.from_config(snakemake.params.stft),
        snakemake.params.options,
        snakemake.output.audio,
    )
restored.to_parquet(snakemake.output.table, index=False)
log.info(
    "%s %s: restored %d test utterances in %.2f s",
    snakemake.wildcards.task,
    system,
    len(restored),
    restored["seconds"].sum(),
)
