from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

from pathlib import Path

import pandas as pd

from specrestore.evaluation import load_examples
from specrestore.report import audio_page
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
pages = [
    {"id": e["id"], "clips": [("Target (clean)", e["target"])] + [(system_label(s), e[s]) for s in systems]}
    for e in examples
]
page = audio_page(
    f"Task {task}: listen to the examples",
    pages,
    snakemake.params.sample_rate,
    "The same utterances as the spectrogram grid. Restored audio louder than full scale is scaled down.",
)
Path(snakemake.output[0]).write_text(page, encoding="utf-8")
log.info("audio examples of %s: %s", task, ", ".join(e["id"] for e in examples))
