"""`hl-assets`: single-file conversions, the demo archive, windowed materializations through Dagster, and SQL over
the lake. One module per subcommand; each registers its own arguments, and heavy imports wait until it runs."""

from __future__ import annotations

import argparse
import logging
import sys

from hyperliquid_assets.cli import backfill, convert, demo, sql

SUBCOMMANDS = (convert, demo, backfill, sql)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="hl-assets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.register(commands)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
