"""The probe's command line: find the app, write the result (never raise)."""

# Runs in the target interpreter: standard library only, Python 3.7+. Relative imports only.
from __future__ import annotations

import argparse
import json
import os
import traceback
from dataclasses import replace

from .common import error_line
from .finder import Prober
from .result import ProbeFailure, to_json


def main(argv=None):
    parser = argparse.ArgumentParser(description="Find the web app and write its OpenAPI spec.")
    parser.add_argument("--root", required=True)
    parser.add_argument("--app", default=None)
    parser.add_argument("--hints", default=None, help="JSON list of entry points to try first")
    parser.add_argument("--locate-only", action="store_true",
                        help="find the app but read no spec (the config names a spec file)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)
    out_path = os.path.abspath(args.out)
    hints = []
    if args.hints:
        with open(args.hints, encoding="utf-8") as handle:
            hints = json.load(handle)
    prober = Prober(root, hints, with_spec=not args.locate_only)
    try:
        result = prober.probe(args.app)
    except ProbeFailure as exc:
        result = prober.failure(str(exc))
    except Exception as exc:  # noqa: BLE001 - anything else is reported, not raised
        result = replace(prober.failure("the probe failed: " + error_line(exc)),
                         traceback=traceback.format_exc()[-4000:])
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(to_json(result), handle, default=str, indent=1)
    return 0
