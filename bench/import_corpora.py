"""Import real corpora installed by the ordinary package managers and print one JSON line.

    python bench/import_corpora.py [--cache DIR] [--workers N]

Fonts: Debian's fonts-dejavu-core and fonts-liberation2 (installed with apt-get when missing;
needs root or sudo). Icons: the lucide-static npm package (installed with npm into --cache).
Reports counts, skip reasons and throughput (fonts/s, glyphs/s, files/s) of
`svglm data import-fonts` and `svglm data import-svg`, and the ink IoU each kept icon reached
against its original. The corpora land in --cache/corpora for a `glyphs` or `icons` run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from svglm.data.fonts import import_fonts
from svglm.data.svgs import import_svgs

FONT_PACKAGES = {
    "fonts-dejavu-core": "/usr/share/fonts/truetype/dejavu",
    "fonts-liberation2": "/usr/share/fonts/truetype/liberation2",
}


def ensure_fonts() -> list[str]:
    missing = [p for p, folder in FONT_PACKAGES.items() if not Path(folder).is_dir()]
    if missing:
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
    return list(FONT_PACKAGES.values())


def ensure_lucide(cache: Path) -> Path:
    icons = cache / "npm" / "node_modules" / "lucide-static" / "icons"
    if not icons.is_dir():
        if shutil.which("npm") is None:
            raise SystemExit("bench/import_corpora.py: npm is needed for lucide-static")
        cmd = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(cache / "npm")]
        subprocess.run([*cmd, "lucide-static"], check=True, stdout=subprocess.DEVNULL)
    return icons


def version(icons: Path) -> str:
    return json.loads((icons.parent / "package.json").read_text())["version"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=Path("bench/.cache"))
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    out = args.cache / "corpora"

    folders = ensure_fonts()
    t0 = time.perf_counter()
    fonts = import_fonts(folders, out / "fonts", workers=args.workers, quiet=True)
    font_s = time.perf_counter() - t0

    icons = ensure_lucide(args.cache)
    t0 = time.perf_counter()
    svgs = import_svgs([str(icons)], out / "lucide", workers=args.workers, quiet=True)
    svg_s = time.perf_counter() - t0

    def summary(qc: dict) -> dict:
        return {k: v for k, v in qc.items() if k not in ("skipped_items", "charset", "schema")}

    print(
        json.dumps(
            {
                "bench": "import_corpora",
                "workers": args.workers or min(8, os.cpu_count() or 1),
                "fonts": summary(fonts)
                | {
                    "packages": list(FONT_PACKAGES),
                    "seconds": round(font_s, 2),
                    "fonts_per_s": round(fonts["fonts"] / font_s, 1),
                    "glyphs_per_s": round(fonts["glyphs"] / font_s, 1),
                },
                "icons": summary(svgs)
                | {
                    "package": f"lucide-static {version(icons)}",
                    "seconds": round(svg_s, 2),
                    "files_per_s": round(svgs["files"] / svg_s, 1),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
