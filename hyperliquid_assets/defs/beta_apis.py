"""The Dagster APIs this project uses on purpose although Dagster marks them beta or preview, named in one place.
Importing this module (definitions.py does it first) silences exactly their warnings, so every command stays
quiet without hiding a warning about anything else."""

import re
import warnings

from dagster import BetaWarning, PreviewWarning

# name as it appears in Dagster's warning -> why we use it
BETA_APIS = {
    "backfill_policy": "a backfill of months must be a few runs over partition windows, not one run per partition",
    "MultiPartitionMapping": "coin x hour -> coin x day mappings are not inferred; they must be declared",
    "allow_nonexistent_upstream_partitions": "labels read the next day, which does not exist yet for the latest day",
}

for _name in BETA_APIS:
    for _category in (BetaWarning, PreviewWarning):
        warnings.filterwarnings("ignore", message=rf".*{re.escape(_name)}.*", category=_category)
