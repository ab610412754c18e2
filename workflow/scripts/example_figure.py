from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

from pathlib import Path

import pandas as pd
import soundfile as sf

from specrestore.dsp import StftParams
from specrestore.evaluation import choose_examples
from specrestore.figures import example_grid
from specrestore.restoration import system_label
from specrestore.store import ArrayFile

task = snakemake.wildcards.task
utterances = pd.read_parquet(snakemake.input.utterances)
test = utterances[utterances["split"] == "test"]
chosen = choose_examples(test["id"].tolist(), snakemake.params.seed, snakemake.params.examples)
shard_of = dict(zip(test["id"], test["shard"]))
examples = []
for utt_id in chosen:
    example = {"id": utt_id}
    with ArrayFile(snakemake.input.clean[shard_of[utt_id]]) as clean:
        example["target"] = clean.get("audio", utt_id)
    for system in snakemake.params.systems:
        restored_dir = Path(snakemake.input.restored[0]).parents[1] / system / f"{shard_of[utt_id]:03d}"
        example[system], _ = sf.read(restored_dir / f"{utt_id}.flac", dtype="float32")
    examples.append(example)
columns = [("target", "Target (clean)")] + [(s, system_label(s)) for s in snakemake.params.systems]
example_grid(
    examples,
    columns,
    snakemake.params.sample_rate,
    StftParams.from_config(snakemake.params.stft),
    f"Task {task}: test utterances",
    snakemake.output[0],
)
log.info("examples of %s: %s", task, ", ".join(chosen))
