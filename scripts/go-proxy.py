#!/usr/bin/env python3
"""Writes the Go module in go/ as a module proxy directory (GOPROXY=file://OUT), the layout
`go get` reads from proxy.golang.org: OUT/github.com/baton-dev/baton/go/@v/{list,VERSION.info,.mod,.zip}.

    scripts/go-proxy.py OUT VERSION      (VERSION like v0.1.0)
"""

import json
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE_DIR = ROOT / "go"


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out, version = Path(sys.argv[1]), sys.argv[2]
    gomod = (MODULE_DIR / "go.mod").read_text()
    module = re.search(r"^module\s+(\S+)", gomod, re.M).group(1)
    at = out / module / "@v"
    at.mkdir(parents=True, exist_ok=True)
    (at / "list").write_text(version + "\n")
    (at / f"{version}.info").write_text(json.dumps({"Version": version, "Time": "2026-01-01T00:00:00Z"}))
    (at / f"{version}.mod").write_text(gomod)
    with zipfile.ZipFile(at / f"{version}.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(MODULE_DIR.rglob("*")):
            if path.is_file():
                z.write(path, f"{module}@{version}/{path.relative_to(MODULE_DIR).as_posix()}")
    print(at)


if __name__ == "__main__":
    main()
