"""How report.html scales with the number of probe cases: file size, build time and how long
headless Chromium takes to load it (domContentLoaded, load). Prints one JSON line per size.

    .venv/bin/python bench/report_scale.py RUN_DIR [--sizes 256,1024,4096]

RUN_DIR is a probed run; its cases are repeated (with new ids) up to each size in a copy.
Needs Debian's chromium and chromium-driver (scripts/ensure-system.sh).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from svglm.report.html import build_report
from svglm.runs import RunDir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--sizes", default="256,1024,4096")
    args = ap.parse_args()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir(Path(tmp) / args.run.name)
        shutil.copytree(args.run, run.root, ignore=shutil.ignore_patterns("checkpoints"))
        cases = [json.loads(line) for line in (args.run / "probe" / "cases.jsonl").open()]
        for size in (int(s) for s in args.sizes.split(",")):
            many = [{**cases[i % len(cases)], "id": f"case-{i:05d}"} for i in range(size)]
            run.probe_cases.write_text("".join(json.dumps(c) + "\n" for c in many))
            t0 = time.perf_counter()
            build_report(run)
            build_s = time.perf_counter() - t0
            driver.get(run.report.resolve().as_uri())
            timing = driver.execute_script(
                "const t = performance.timing; return [t.domContentLoadedEventEnd - "
                "t.navigationStart, t.loadEventEnd - t.navigationStart];"
            )
            row = {
                "cases": size,
                "failing": sum(1 for c in many if c["miss_class"]),
                "html_mb": round(run.report.stat().st_size / 1e6, 2),
                "build_s": round(build_s, 2),
                "dom_content_loaded_ms": timing[0],
                "load_ms": timing[1],
            }
            print(json.dumps(row), flush=True)
    driver.quit()


if __name__ == "__main__":
    main()
