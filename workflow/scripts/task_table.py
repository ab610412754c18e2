from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import json

import pandas as pd

from specrestore.metrics import metrics_for
from specrestore.restoration import CLASSICAL_METHODS, MODEL_METHODS, PEER_METHODS, parse_system, system_label
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
methods = {s: parse_system(s)[0] for s in systems}
rivals = {
    "corrupted input": [s for s in systems if s == "corrupted"],
    "classical method": [s for s in systems if methods[s] in CLASSICAL_METHODS and s != "corrupted"],
    "peer denoiser": [s for s in systems if methods[s] in PEER_METHODS],
}
comparison = versus(scores, summary, metrics, [s for s in systems if methods[s] in MODEL_METHODS], rivals)
comparison.insert(1, "label", comparison["system"].map(labels))
comparison.insert(5, "rival_label", comparison["rival"].map(labels))
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
