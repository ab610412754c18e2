from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

from pathlib import Path

import pandas as pd
import soundfile as sf

from specrestore.evaluation import choose_examples
from specrestore.report import audio_page
from specrestore.restoration import system_label
from specrestore.store import ArrayFile

task = snakemake.wildcards.task
utterances = pd.read_parquet(snakemake.input.utterances)
test = utterances[utterances["split"] == "test"]
chosen = choose_examples(test["id"].tolist(), snakemake.params.seed, snakemake.params.examples)
shard_of = dict(zip(test["id"], test["shard"]))
examples = []
for utt_id in chosen:
    with ArrayFile(snakemake.input.clean[shard_of[utt_id]]) as clean:
        clips = [("Target (clean)", clean.get("audio", utt_id))]
    for system in snakemake.params.systems:
        restored_dir = Path(snakemake.input.restored[0]).parents[1] / system / f"{shard_of[utt_id]:03d}"
        audio, _ = sf.read(restored_dir / f"{utt_id}.flac", dtype="float32")
        clips.append((system_label(system), audio))
    examples.append({"id": utt_id, "clips": clips})
page = audio_page(
    f"Task {task}: listen to the examples",
    examples,
    snakemake.params.sample_rate,
    "The same utterances as the spectrogram grid. Restored audio louder than full scale is scaled down.",
)
Path(snakemake.output[0]).write_text(page, encoding="utf-8")
log.info("audio examples of %s: %s", task, ", ".join(chosen))
