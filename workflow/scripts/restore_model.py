from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

from specrestore.dsp import StftParams
from specrestore.inference import TrainedModel, restore_with_model
from specrestore.restoration import parse_system
from specrestore.restored import restore_test_split
from specrestore.training import configure_backend

configure_backend(snakemake.threads)
system = snakemake.wildcards.system
_, mode = parse_system(system)
trained = TrainedModel.load(Path(snakemake.input.model).parent)
params, sample_rate = StftParams.from_config(snakemake.params.stft), snakemake.params.sample_rate
iterations = snakemake.params.iterations
restored = restore_test_split(
    lambda utterance: restore_with_model(trained, mode, utterance, sample_rate, params, iterations),
    system,
    snakemake.input.table,
    snakemake.input.clean,
    snakemake.input.corrupted,
    sample_rate,
    snakemake.output.audio,
)
restored.to_parquet(snakemake.output.table, index=False)
