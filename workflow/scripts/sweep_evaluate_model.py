from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import pandas as pd

from specrestore.dsp import StftParams
from specrestore.experiments import sweep_shard
from specrestore.inference import TrainedModel, model_restorer
from specrestore.store import ArrayFile
from specrestore.training import configure_backend

configure_backend(snakemake.threads)
system, grid = snakemake.wildcards.system, snakemake.params.grid
params, rate = StftParams.from_config(snakemake.params.stft), snakemake.params.sample_rate
contexts = grid["context_ms"]
trained = [TrainedModel.load(Path(p).parent) for p in snakemake.input.models]
# One shared model for every context, or the model trained for each context.
by_context = trained * len(contexts) if len(trained) == 1 else trained
restorers = {c: {system: model_restorer(m, "corrupted", rate, params)} for c, m in zip(contexts, by_context)}
with ArrayFile(snakemake.input.clean) as audio:
    rows, skipped = sweep_shard(
        audio, pd.read_parquet(snakemake.input.table), grid, restorers, rate, snakemake.params.seed,
        snakemake.params.max_utterances,
    )  # fmt: skip
rows.to_parquet(snakemake.output[0], index=False)
log.info("%s: %d utterances swept, %d too short for the widest context", system, rows["id"].nunique(), skipped)
