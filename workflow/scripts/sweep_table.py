from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd

from specrestore.experiments import SWEEP_METRICS, gap_context_heatmaps, summarise_sweep, sweep_markdown
from specrestore.restoration import system_label

systems = snakemake.params.systems
scores = pd.concat([pd.read_parquet(p) for p in snakemake.input], ignore_index=True)
# Every job scores the corrupted input as its baseline; keep one copy.
scores = scores.drop_duplicates(["id", "gap_ms", "context_ms", "system"], ignore_index=True)
scores.to_parquet(snakemake.output.scores, index=False)
summary = summarise_sweep(scores)
summary.to_csv(snakemake.output.summary, index=False)
# Models restore the magnitude and keep the corrupted phase, like interp.corrupted.
labels = {s: system_label(f"{s}.corrupted" if s in snakemake.params.models else s) for s in systems}
n_utterances = scores["id"].nunique()
training = "one model per context width" if snakemake.params.training == "per_context" else "the task's model"
header = (
    f"# Gap versus context\n\n{n_utterances} test utterances, one gap of each length at the same place in each; "
    f"each method sees only the context given on either side of the gap. Models: {training}.\n\n"
)
with open(snakemake.output.markdown, "w") as handle:
    handle.write(header + "\n\n".join(sweep_markdown(summary, metric, labels) for metric in SWEEP_METRICS))
title = f"Gap versus context ({n_utterances} test utterances)"
gap_context_heatmaps(summary, systems, labels, snakemake.output.heatmaps, title)
log.info("gap-versus-context sweep: %d scores, %d utterances", len(scores), n_utterances)
