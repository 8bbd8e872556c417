"""Walk-forward direction models on the feature and label tables: plain code, no Dagster and no MLflow import.

`specs` declares what a model is (type, hyperparameters, target, features) and how its window is cut;
`inputs` is the one place that knows where a coin-day's tables live in the lake; `feature_frame` is the model's
view of a feature table (declared columns, known book); `training_set` joins the window's features and labels
with purge, embargo and stride; `leakage` refuses columns that could not be known at bar time; `train` fits;
`predict` applies a model to every bar of a day; `evaluate` scores a day out of sample against baselines;
`partition` runs all of it for one (coin, day) partition (`train_partition`, or `train_partitions` for several
specs on one read of the inputs).
"""
