"""A model step whose process dies (kill -9, out of memory) cannot end its MLflow run: it would show RUNNING in the
MLflow UI forever. When Dagster marks such a run failed (run monitoring notices the dead worker), this sensor marks
FAILED every MLflow run still RUNNING that carries the Dagster run's id."""

import dagster as dg

from hyperliquid_assets.defs.resources import MlflowTracking


@dg.run_failure_sensor(
    name="end_mlflow_runs_of_failed_runs",
    default_status=dg.DefaultSensorStatus.RUNNING,  # housekeeping: it launches nothing
    minimum_interval_seconds=30,
)
def end_mlflow_runs_of_failed_runs(context: dg.RunFailureSensorContext, mlflow: MlflowTracking) -> None:
    """Mark FAILED the MLflow runs a failed Dagster run left RUNNING."""
    from hyperliquid_assets.tracking.model_runs import fail_unfinished_runs

    ended = fail_unfinished_runs(mlflow.config(), context.dagster_run.run_id)
    if ended:
        context.log.info("run %s failed: marked its MLflow runs %s FAILED", context.dagster_run.run_id, ended)
