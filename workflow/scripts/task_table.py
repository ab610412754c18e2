from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import json

import pandas as pd

from specrestore.metrics import metrics_for
from specrestore.restoration import learned_and_rivals, system_label
from specrestore.tables import latex_table, markdown_table, summarise, versus, versus_markdown

task = snakemake.wildcards.task
systems = snakemake.params.systems
scores = pd.concat([pd.read_parquet(p) for p in snakemake.input], ignore_index=True)
scores.to_parquet(snakemake.output.scores, index=False)
metrics = metrics_for(snakemake.params.corruptions)
summary = summarise(scores, metrics, systems)
summary.insert(1, "label", [system_label(s) for s in summary["system"]])
summary.to_csv(snakemake.output.csv, index=False)

labels = {s: system_label(s) for s in systems}
comparison = versus(scores, summary, metrics, *learned_and_rivals(systems))
comparison.insert(1, "label", comparison["system"].map(labels))
comparison.insert(comparison.columns.get_loc("rival") + 1, "rival_label", comparison["rival"].map(labels))
comparison.to_csv(snakemake.output.versus, index=False)
n_utterances = scores.loc[scores["system"] == systems[0], "id"].nunique()
minutes = scores.loc[scores["system"] == systems[0], "duration_s"].sum() / 60
notes = [
    f"Corruption: `{json.dumps(snakemake.params.spec)}`. Corpus: {snakemake.params.corpus}, test split: "
    f"{n_utterances} utterances, {minutes:.1f} min. ↑ higher is better, ↓ lower is better.",
]
with open(snakemake.output.markdown, "w") as handle:
    handle.write(markdown_table(summary, scores, metrics, labels, f"Task {task}", notes))
    section = versus_markdown(comparison, labels)
    if section:
        handle.write("\n" + section)
with open(snakemake.output.latex, "w") as handle:
    handle.write(
        latex_table(
            summary, metrics, labels, f"Task {task}: mean and standard deviation over {n_utterances} test utterances."
        )
    )
log.info("table of %s: %d systems, %d utterances", task, len(systems), n_utterances)
