from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd

from specrestore.tables import standing_markdown, summary_markdown

tasks = snakemake.params.tasks
per_task = {task: pd.read_csv(path) for task, path in zip(tasks, snakemake.input.tables)}
versus = {task: pd.read_csv(path) for task, path in zip(tasks, snakemake.input.versus)}
labels = {s: label for table in per_task.values() for s, label in zip(table["system"], table["label"])}
with open(snakemake.output[0], "w") as handle:
    handle.write(summary_markdown(per_task, labels))
    standing = standing_markdown(versus, labels)
    if standing:
        handle.write("\n" + standing)
