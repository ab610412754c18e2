from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import pandas as pd

from specrestore.dsp import StftParams
from specrestore.evaluation import restore_shard
from specrestore.inference import TrainedModel, restore_with_model
from specrestore.restoration import parse_system
from specrestore.store import ArrayFile
from specrestore.training import configure_backend

configure_backend(snakemake.threads)
system = snakemake.wildcards.system
_, mode = parse_system(system)
trained = TrainedModel.load(Path(snakemake.input.model).parent)
params, sample_rate = StftParams.from_config(snakemake.params.stft), snakemake.params.sample_rate
table = pd.read_parquet(snakemake.input.table)
test_ids = table.loc[table["split"] == "test", "id"].tolist()
with ArrayFile(snakemake.input.clean) as clean, ArrayFile(snakemake.input.corrupted) as corrupt:
    restored = restore_shard(
        lambda utterance: restore_with_model(
            trained, mode, utterance, sample_rate, params, snakemake.params.iterations
        ),
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
