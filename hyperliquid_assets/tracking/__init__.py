"""MLflow tracking and registry for the model partitions: plain code, no Dagster import.

`config` says where the store is; `code_version` and `lineage` make the tags that tie a run to the Dagster run,
the code and the exact input files; `plots` draws the run's figures; `model_runs` logs one run per model
partition; `promotion` is the champion/challenger rule; `registry` registers versions, moves aliases, records
decisions, and loads models back.
"""
