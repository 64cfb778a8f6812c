"""Named checks and the verdict over them: the shape shared by `dataset_qc.json` and `plan.json`
(`{"verdict": ..., "checks": [{"name", "status", "detail"}, ...]}`). A check is PASS or FAIL;
advice is PASS or WARN, and a WARN never fails the verdict."""

from __future__ import annotations

from typing import Any

Check = dict[str, str]


def check(name: str, ok: bool, detail: str) -> Check:
    return {"name": name, "status": "PASS" if ok else "FAIL", "detail": detail}


def advise(name: str, ok: bool, detail: str) -> Check:
    """A check that can only warn: the run may go on, but the user should look."""
    return {"name": name, "status": "PASS" if ok else "WARN", "detail": detail}


def verdict(checks: list[Check]) -> str:
    return "FAIL" if any(c["status"] == "FAIL" for c in checks) else "PASS"


def warnings(checks: list[Check]) -> list[str]:
    return [f"{c['name']}: {c['detail']}" for c in checks if c["status"] == "WARN"]


def failures(checks: list[Check]) -> list[str]:
    """`name: detail` of every failed check, for a one-line error message."""
    return [f"{c['name']}: {c['detail']}" for c in checks if c["status"] == "FAIL"]


def gate(schema: str, checks: list[Check], **extra: Any) -> dict[str, Any]:
    """A gate artifact: schema, verdict and checks, plus any extra keys."""
    return {"schema": schema, "verdict": verdict(checks), "checks": checks, **extra}
