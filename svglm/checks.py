"""Named PASS/FAIL checks and the verdict over them: the shape shared by `dataset_qc.json` and
`plan.json` (`{"verdict": ..., "checks": [{"name", "status", "detail"}, ...]}`)."""

from __future__ import annotations

from typing import Any

Check = dict[str, str]


def check(name: str, ok: bool, detail: str) -> Check:
    return {"name": name, "status": "PASS" if ok else "FAIL", "detail": detail}


def verdict(checks: list[Check]) -> str:
    return "PASS" if all(c["status"] == "PASS" for c in checks) else "FAIL"


def failures(checks: list[Check]) -> list[str]:
    """`name: detail` of every failed check, for a one-line error message."""
    return [f"{c['name']}: {c['detail']}" for c in checks if c["status"] == "FAIL"]


def gate(schema: str, checks: list[Check], **extra: Any) -> dict[str, Any]:
    """A gate artifact: schema, verdict and checks, plus any extra keys."""
    return {"schema": schema, "verdict": verdict(checks), "checks": checks, **extra}
