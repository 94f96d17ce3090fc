#!/usr/bin/env python3
"""Builds baton's Python wheels from prebuilt native libraries (no compiler, no build backend).

    scripts/build-wheel.py OUT_DIR NATIVE_DIR [PLATFORM...]

NATIVE_DIR holds <platform>/libbaton.so as `make native-all` builds them; each platform gets a
wheel with the matching tag: glibc builds link against glibc 2.17's symbols (manylinux2014),
musl builds against musl 1.2 (musllinux_1_2). Name, version and metadata come from
bindings/python/pyproject.toml; the code from bindings/python/src/baton.
"""

import base64
import hashlib
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bindings" / "python"
TAGS = {
    "linux-x86_64-gnu": ["manylinux_2_17_x86_64", "manylinux2014_x86_64"],
    "linux-aarch64-gnu": ["manylinux_2_17_aarch64", "manylinux2014_aarch64"],
    "linux-x86_64-musl": ["musllinux_1_2_x86_64"],
    "linux-aarch64-musl": ["musllinux_1_2_aarch64"],
}


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build(out: Path, native: Path, platform: str) -> Path:
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    name, version = project["name"], project["version"]
    dist = name.replace("-", "_")
    plats = TAGS[platform]
    wheel = out / f"{dist}-{version}-py3-none-{'.'.join(plats)}.whl"
    info = f"{dist}-{version}.dist-info"
    files = {}
    for path in sorted((PACKAGE / "src" / "baton").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files["baton/" + path.relative_to(PACKAGE / "src" / "baton").as_posix()] = path.read_bytes()
    lib = native / platform / "libbaton.so"
    if not lib.is_file():
        sys.exit(f"build-wheel.py: {lib} is missing; run make native-all")
    files["baton/lib/libbaton.so"] = lib.read_bytes()
    meta = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {project['description']}",
        f"License: {project['license']['text']}",
        f"Requires-Python: {project['requires-python']}",
    ]
    meta += [f"Project-URL: {k}, {v}" for k, v in project.get("urls", {}).items()]
    meta += [f"Classifier: {c}" for c in project.get("classifiers", [])]
    meta += ["Description-Content-Type: text/markdown", "", (PACKAGE / project["readme"]).read_text()]
    files[f"{info}/METADATA"] = "\n".join(meta).encode()
    files[f"{info}/WHEEL"] = "\n".join(
        ["Wheel-Version: 1.0", "Generator: baton scripts/build-wheel.py", "Root-Is-Purelib: false"]
        + [f"Tag: py3-none-{p}" for p in plats]).encode() + b"\n"
    records = [record_line(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(records) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files.items():
            entry = zipfile.ZipInfo(n, date_time=(2026, 1, 1, 0, 0, 0))
            entry.external_attr = (0o755 if n.endswith(".so") else 0o644) << 16
            z.writestr(entry, d, zipfile.ZIP_DEFLATED)
    return wheel


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, native = Path(sys.argv[1]), Path(sys.argv[2])
    platforms = sys.argv[3:] or [p for p in TAGS if (native / p / "libbaton.so").is_file()]
    for platform in platforms:
        print(build(out, native, platform))


if __name__ == "__main__":
    main()
