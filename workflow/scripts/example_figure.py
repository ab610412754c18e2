from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

from pathlib import Path

import pandas as pd

from specrestore.dsp import StftParams
from specrestore.evaluation import load_examples
from specrestore.figures import example_grid
from specrestore.restoration import system_label

task, systems = snakemake.wildcards.task, snakemake.params.systems
examples = load_examples(
    pd.read_parquet(snakemake.input.utterances),
    snakemake.input.clean,
    Path(snakemake.input.restored[0]).parents[1],
    systems,
    snakemake.params.seed,
    snakemake.params.examples,
)
columns = [("target", "Target (clean)")] + [(s, system_label(s)) for s in systems]
example_grid(
    examples,
    columns,
    snakemake.params.sample_rate,
    StftParams.from_config(snakemake.params.stft),
    f"Task {task}: test utterances",
    snakemake.output[0],
)
log.info("examples of %s: %s", task, ", ".join(e["id"] for e in examples))
