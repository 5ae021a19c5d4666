"""Draws the roofline plot of a `python -m tilekernels profile ... --json` file again, for a machine
where the profile ran without matplotlib.

    python benchmarks/plot_roofline.py profile_bmm_kb3.json roofline_bmm_kb3.png
"""

import argparse
import json
import sys

from tilekernels.profiling.report import plot_from_json


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="the file `profile --json` wrote")
    parser.add_argument("png", help="where to draw the plot")
    args = parser.parse_args()
    with open(args.json) as f:
        reason = plot_from_json(json.load(f), args.png)
    if reason:
        print(f"no plot written: {reason}", file=sys.stderr)
        return 2
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
