from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd

from specrestore.dsp import StftParams
from specrestore.evaluation import restore_shard
from specrestore.restoration import restore
from specrestore.store import ArrayFile

table = pd.read_parquet(snakemake.input.table)
test_ids = table.loc[table["split"] == "test", "id"].tolist()
system = snakemake.wildcards.system
with ArrayFile(snakemake.input.clean) as clean, ArrayFile(snakemake.input.corrupted) as corrupt:
    params, sample_rate = StftParams.from_config(snakemake.params.stft), snakemake.params.sample_rate
    restored = restore_shard(
        lambda utterance: restore(system, utterance, sample_rate, params, snakemake.params.options),
        system,
        test_ids,
        clean,
        corrupt,
        sample_rate,
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
