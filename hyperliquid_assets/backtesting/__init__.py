"""Out-of-sample backtests of the model's predictions against the recorded L2 book, with baselines, metrics and
reports. Plain computation: no Dagster or MLflow import; the caller passes every input and writes every output."""
