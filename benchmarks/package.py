"""Deployment package sizes from `sam build` output (.aws-sam/build), zipped as SAM uploads them."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.events import REPO

BUILD_DIR = REPO / ".aws-sam" / "build"
LAYER_ID = "LeadhooksLayer"
FORBIDDEN = ("boto3", "botocore", "s3transfer")


@dataclass
class Artifact:
    name: str
    logical_id: str
    zipped_bytes: int
    unzipped_bytes: int
    files: int
    pyc_files: int = 0


@dataclass
class PackageReport:
    layer: Artifact | None = None
    functions: list[Artifact] = field(default_factory=list)
    forbidden_found: list[str] = field(default_factory=list)
    skipped: str | None = None
    built_now: bool = False
    stale: list[str] = field(default_factory=list)


def zip_size(folder: Path) -> tuple[int, int, int]:
    """(zipped, unzipped, file count) of a folder zipped with deflate, like `sam package`."""
    unzipped = files = 0
    with tempfile.TemporaryDirectory(prefix="leadhooks-bench-") as tmp:
        target = Path(tmp) / "artifact.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder))
                    unzipped += path.stat().st_size
                    files += 1
        return target.stat().st_size, unzipped, files


def function_ids() -> dict[str, str]:
    """Logical id -> function folder name, from template.yaml's CodeUri lines."""
    template = (REPO / "template.yaml").read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for match in re.finditer(
        r"^  (\w+):\n    Type: AWS::Serverless::Function\n"
        r"(?:    .*\n|\s*\n)*?      CodeUri: functions/(\w+)/?",
        template,
        re.MULTILINE,
    ):
        found[match.group(1)] = match.group(2)
    return found


def newer_inputs(than: float) -> list[str]:
    """Layer and function sources changed after the build (so the build is stale)."""
    inputs = [
        *(REPO / "layers" / "leadhooks").iterdir(),
        *(REPO / "shared" / "leadhooks").rglob("*.py"),
        *(REPO / "functions").rglob("*.py"),
        REPO / "template.yaml",
    ]
    return sorted(str(p.relative_to(REPO)) for p in inputs if p.is_file() and p.stat().st_mtime > than)


def build() -> tuple[bool, str]:
    """`make sam-build` (mk/sam.mk); returns (ok, last lines of its output)."""
    proc = subprocess.run(
        ["make", "--no-print-directory", "sam-build"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ},
    )
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
    return proc.returncode == 0, tail


def measure_packages(allow_build: bool, force_build: bool = False) -> PackageReport:
    report = PackageReport()
    if force_build or not (BUILD_DIR / LAYER_ID).is_dir():
        if not allow_build:
            report.skipped = ".aws-sam/build is missing and building was not allowed (--no-build)"
            return report
        if not (REPO / "template.yaml").is_file():
            report.skipped = "template.yaml is missing"
            return report
        ok, tail = build()
        if not ok or not (BUILD_DIR / LAYER_ID).is_dir():
            report.skipped = f"`make sam-build` failed:\n{tail}"
            return report
        report.built_now = True
    layer_dir = BUILD_DIR / LAYER_ID
    report.stale = newer_inputs((BUILD_DIR / "template.yaml").stat().st_mtime)
    zipped, unzipped, files = zip_size(layer_dir)
    pycs = sum(1 for _ in layer_dir.rglob("*.pyc"))
    report.layer = Artifact("leadhooks layer", LAYER_ID, zipped, unzipped, files, pycs)
    site = layer_dir / "python"
    report.forbidden_found = [
        name for name in FORBIDDEN if (site / name).exists() or any(site.glob(f"{name}-*.dist-info"))
    ]
    for logical_id, folder in sorted(function_ids().items(), key=lambda item: item[1]):
        path = BUILD_DIR / logical_id
        if path.is_dir():
            zipped, unzipped, files = zip_size(path)
            report.functions.append(Artifact(folder, logical_id, zipped, unzipped, files))
    return report
