from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd

from specrestore.difficulty import binned_quality, difficulty_of, utterance_difficulty
from specrestore.figures import quality_vs_difficulty
from specrestore.metrics import UNITS
from specrestore.restoration import system_label

task, systems = snakemake.wildcards.task, snakemake.params.systems
scores = pd.read_parquet(snakemake.input.scores)
corruption = pd.concat([pd.read_parquet(p) for p in snakemake.input.corruption], ignore_index=True)
regions = pd.concat([pd.read_parquet(p) for p in snakemake.input.regions], ignore_index=True)
difficulty = difficulty_of(snakemake.params.corruptions)
values = utterance_difficulty(corruption, regions, difficulty)
curves, tables = {}, []
for metric, heading in (("pesq", "PESQ"), ("region_snr", f"SNR in the corrupted region ({UNITS['region_snr']})")):
    table = binned_quality(scores, values, metric, systems)
    curves[heading] = table
    tables.append(table.assign(metric=metric))
labels = {s: system_label(s) for s in systems}
title = f"Task {task}: quality against difficulty ({len(values)} test utterances; harder to the {difficulty.harder})"
quality_vs_difficulty(curves, labels, difficulty.label, title, snakemake.output.figure)
pd.concat(tables, ignore_index=True).to_csv(snakemake.output.table, index=False)
log.info("difficulty of %s on %s: %d utterances", task, difficulty.column, len(values))
