"""What a model partition costs beside its fits: both specs for one coin on a 7-day window of 1 s demo bars.

Builds a demo research lake (8 days of BTC at the demo's default market; reused with --data DIR) and an MLflow
SQLite store, then runs the model partition of day 8 as a Dagster step would, in fresh Python processes:
import, load the window and day D, screen and split, fit, predict D, evaluate, log the MLflow run (params,
inputs, model, metrics, plots), register, promote. Two shapes, round-robin per repetition: both specs in one
process (one read of the inputs, one MLflow start-up: `train_partitions`), and one process per spec. Printed
(medians over --repeats): the two fits against the total, the overhead share = (total - fits) / total (target
<= 25%; process imports shown apart), every step per spec, rows per second of each fit, the training set's size
and the process's peak RSS. With --compare-evaluate, the time `mlflow.models.evaluate` takes on day D (the
MLflow way to the same plots) beside ours.

    .venv/bin/python bench/bench_models.py [--repeats 3] [--days 7] [--stride 1] [--data DIR] [--compare-evaluate]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

COIN, START = "BTC", date(2026, 1, 1)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def one_partition(args: argparse.Namespace) -> None:
    """Child process: the model partition of the listed specs (one read of the inputs), timings as JSON."""
    started = time.perf_counter()
    from hyperliquid_assets.modeling.partition import train_partitions
    from hyperliquid_assets.modeling.specs import DEFAULT_SPECS, ComputeConfig, TrainingWindow
    from hyperliquid_assets.tracking.code_version import git_code_version
    from hyperliquid_assets.tracking.config import TrackingConfig
    from hyperliquid_assets.tracking.lineage import dagster_lineage_tags
    from hyperliquid_assets.tracking.model_runs import log_model_run
    from hyperliquid_assets.tracking.registry import promote_challenger

    imported = time.perf_counter()
    rss_before = _rss_mb()
    specs, day = [DEFAULT_SPECS[name] for name in args.one.split(",")], START + timedelta(days=args.days)
    window = TrainingWindow(days=args.days, stride=args.stride)
    begin = time.perf_counter()
    results = train_partitions(args.lake, COIN, day, specs, window, compute=ComputeConfig(threads=args.threads))
    trained = time.perf_counter()
    rss_after_fit = _rss_mb()
    config = TrackingConfig.local(args.store)
    out: dict = {"specs": args.one, "import": imported - started, "train_total": trained - begin, "per_spec": {}}
    for spec in specs:
        result = results[spec.name]
        step = time.perf_counter()
        lineage = dagster_lineage_tags("bench", f"model_{spec.name}", f"{COIN}|{day}", git_code_version())
        tracked = log_model_run(config, result, lineage)
        logged = time.perf_counter()
        decision = promote_challenger(config, tracked.registered_model, tracked.version, result.evaluation)
        promoted = time.perf_counter()
        out["per_spec"][spec.name] = {
            **{f"partition_{k}": v for k, v in result.timings.items()},
            **{f"mlflow_{k}": v for k, v in tracked.seconds.items()}, "mlflow_total": logged - step,
            "promote": promoted - logged, "fit_rows": result.model.rows["fit"],
            "window_rows": result.training_counts["window_bars"],
            "training_set_mb": result.training_counts["frame_bytes"] / 1e6,
            "oos_roc_auc": result.metrics()["oos_roc_auc"], "details": dict(result.model.details),
            "promoted": decision.promote,
        }
        if args.compare_evaluate:
            out["per_spec"][spec.name]["mlflow_models_evaluate"] = _time_mlflow_evaluate(config, result, tracked)
    done = time.perf_counter()
    if args.compare_evaluate:
        done -= sum(v["mlflow_models_evaluate"] for v in out["per_spec"].values())
    out.update(asset_total=done - begin, process_total=done - started,
               fits=sum(v["partition_fit"] for v in out["per_spec"].values()),
               rss_peak_mb=rss_after_fit, rss_peak_over_imports_mb=rss_after_fit - rss_before)
    print("RESULT " + json.dumps(out))


def _time_mlflow_evaluate(config, result, tracked) -> float:
    """mlflow.models.evaluate on day D's labelled bars (its confusion matrix, ROC, calibration and metrics)."""
    import mlflow
    import mlflow.models

    from hyperliquid_assets.tracking.store import using_store

    evaluation = result.evaluation
    rows = evaluation.book_known & evaluation.target_class.is_not_null()
    frame = evaluation.features.filter(rows).drop("bar_time").to_pandas()
    frame["target"] = evaluation.target_class.filter(rows).to_numpy()
    with using_store(config):
        with mlflow.start_run(run_id=tracked.run_id):
            started = time.perf_counter()
            mlflow.models.evaluate(tracked.logged_model_uri, frame, targets="target", model_type="classifier",
                                   evaluators=["default"],
                                   evaluator_config={"default": {"log_model_explainability": False,
                                                                 "metric_prefix": "mlflow_evaluate_"}})
            return time.perf_counter() - started


def build_lake(root: Path, days: int) -> Path:
    from hyperliquid_assets.demo.market import DemoMarketParams
    from hyperliquid_assets_tests.research_lake import build_research_lake

    marker = root / f".built-{days + 1}-days"
    if not marker.exists():
        started = time.perf_counter()
        build_research_lake(root, [COIN], START, days + 1, DemoMarketParams(), seed=11)
        marker.touch()
        print(f"built {days + 1} demo days of {COIN} (default market) in {time.perf_counter() - started:.0f} s", flush=True)
    return root / "lake"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", type=Path, help="keep the demo lake here and reuse it")
    parser.add_argument("--compare-evaluate", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--lake", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one_partition(args)
        return

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="hl-bench-models-") as tmp:
        data = args.data or Path(tmp) / "data"
        lake = build_lake(data, args.days)
        store = Path(tmp) / "mlruns"
        from hyperliquid_assets.tracking.config import TrackingConfig
        from hyperliquid_assets.tracking.store import experiment_id, using_store

        config = TrackingConfig.local(store)
        with using_store(config) as client:  # the store's one-time creation is not a partition's cost
            experiment_id(client, config)
        # Round-robin: both specs in one process (one read of the inputs, one MLflow start-up), then each spec
        # in a process of its own.
        shapes = {"both specs, one process": ["logreg,xgboost"], "one process per spec": ["logreg", "xgboost"]}
        results: dict[str, list[list[dict]]] = {shape: [] for shape in shapes}
        for repeat in range(args.repeats):
            for shape, children in shapes.items():
                runs = []
                for specs in children:
                    command = [sys.executable, __file__, "--one", specs, "--lake", str(lake), "--store", str(store),
                               "--days", str(args.days), "--stride", str(args.stride), "--threads", str(args.threads)]
                    if args.compare_evaluate and repeat == 0 and "," in specs:
                        command.append("--compare-evaluate")
                    done = subprocess.run(command, capture_output=True, text=True, check=False)
                    line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT ")), None)
                    if done.returncode != 0 or line is None:
                        sys.exit(f"{specs} run failed:\n{done.stderr[-3000:]}")
                    runs.append(json.loads(line.removeprefix("RESULT ")))
                results[shape].append(runs)
                total, fits = sum(r["asset_total"] for r in runs), sum(r["fits"] for r in runs)
                print(f"  run {repeat + 1}, {shape}: {total:.1f} s, fits {fits:.1f} s", flush=True)
    report(results, args)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def report(results: dict[str, list[list[dict]]], args: argparse.Namespace) -> None:
    med = statistics.median
    print(f"\nmedians of {args.repeats} runs, {args.days}-day window of 1 s bars, stride {args.stride}, "
          f"{args.threads} thread(s); every run in fresh processes")
    for shape, repeats in results.items():
        totals = [sum(r["asset_total"] for r in runs) for runs in repeats]
        fits = [sum(r["fits"] for r in runs) for runs in repeats]
        imports = [sum(r["import"] for r in runs) for runs in repeats]
        share = med([(t - f) / t for t, f in zip(totals, fits)])
        with_imports = med([(t + i - f) / (t + i) for t, f, i in zip(totals, fits, imports)])
        print(f"{shape:26s}: the two fits {med(fits):6.1f} s of {med(totals):6.1f} s; overhead {share:.0%} of the "
              f"total (target <= 25%); {with_imports:.0%} counting the processes' imports ({med(imports):.1f} s)")
    one = results["both specs, one process"]
    specs = list(one[0][0]["per_spec"])
    steps = [("load window + day D (shared read)", "partition_load"),
             ("leakage screen, split, validate", "partition_screen_split_validate"), ("FIT", "partition_fit"),
             ("predict day D", "partition_predict"), ("evaluate day D", "partition_evaluate"),
             ("mlflow: run setup", "mlflow_setup"), ("mlflow: params + inputs", "mlflow_params_inputs"),
             ("mlflow: log model", "mlflow_log_model"), ("mlflow: metrics + plots", "mlflow_metrics_artifacts"),
             ("mlflow: register + alias", "mlflow_register"), ("promote (score champion)", "promote")]
    print(f"\nboth specs in one process, per step:\n{'step':36s}" + "".join(f"{s:>12s}" for s in specs))
    for label, key in steps:
        print(f"{label:36s}" + "".join(f"{med([runs[0]['per_spec'][s][key] for runs in one]):11.2f}s" for s in specs))
    print(f"{'(process imports, not in the total)':36s}{med([runs[0]['import'] for runs in one]):11.2f}s")
    for spec in specs:
        facts = [runs[0]["per_spec"][spec] for runs in one]
        print(f"\n{spec}: {facts[0]['fit_rows']:,} fit rows of {facts[0]['window_rows']:,} window bars, "
              f"{med([f['fit_rows'] / f['partition_fit'] for f in facts]):,.0f} rows/s; {facts[0]['details']}; "
              f"out-of-sample AUC {facts[0]['oos_roc_auc']:.4f}")
        if "mlflow_models_evaluate" in facts[0]:
            ours = facts[0]["partition_evaluate"] + facts[0]["mlflow_metrics_artifacts"]
            print(f"  mlflow.models.evaluate on day D: {facts[0]['mlflow_models_evaluate']:.2f} s, against {ours:.2f} s "
                  "for our evaluation + metrics + plots")
    print(f"\ntraining set: {one[0][0]['per_spec'][specs[0]]['training_set_mb']:.0f} MB of frames per spec; peak RSS "
          f"of the both-specs process {med([runs[0]['rss_peak_mb'] for runs in one]):.0f} MB, "
          f"{med([runs[0]['rss_peak_over_imports_mb'] for runs in one]):.0f} MB over its imports")


if __name__ == "__main__":
    main()
