"""The JSON artifacts a run reads back, as schemas. `read_artifact` validates on read, so a
damaged or hand-edited file is one line naming the file and what is wrong, never a KeyError
three steps later; the pipeline uses the same schemas to decide whether a step's outputs can be
trusted or the step must run again.

Only the keys svglm relies on are declared; artifacts may carry more.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    field_validator,
    model_validator,
)

from svglm.errors import ArtifactError
from svglm.files import load_json
from svglm.names import NAME_RE

T = TypeVar("T", bound=BaseModel)


class Artifact(BaseModel):
    model_config = ConfigDict(extra="allow")


class Check(Artifact):
    name: str
    status: Literal["PASS", "WARN", "FAIL"]
    detail: str


class Gate(Artifact):
    """dataset_qc.json and plan.json: a verdict over named checks."""

    verdict: Literal["PASS", "FAIL"]
    checks: list[Check]


class PlanStage(Artifact):
    name: str
    steps: int = Field(ge=1)
    tokens: int = Field(ge=1)


class Plan(Gate):
    schema_: Literal["svglm.plan/1"] = Field(alias="schema")
    stages: list[PlanStage] = Field(min_length=1)
    total_tokens: int


class StepRecord(Artifact):
    fingerprint: str
    wall_s: float
    finished_at: str


class Steps(RootModel[dict[str, StepRecord]]):
    """steps.json: the fingerprint of every finished step."""


class ProbeCase(Artifact):
    id: str
    split: str
    family: str
    form: str
    surface: str
    topic: str = ""
    prompt: str
    expected: str


class ProbeContract(Artifact):
    schema_: Literal["svglm.probe_contract/1"] = Field(alias="schema")
    task: str
    cases: list[ProbeCase] = Field(min_length=1)  # a probe of nothing proves nothing


class ContentPacks(Artifact):
    """content.json: the built-in pack of each diagram family and the pack of each topic."""

    families: dict[str, dict[str, Any]]
    topics: dict[str, dict[str, Any]]


class Roundtrip(Artifact):
    exact: bool
    rows: int


class StageSummary(Artifact):
    name: str
    steps: int
    tokens: int
    final_loss: float
    wall_s: float


def _finite(loss: float) -> float:
    if not math.isfinite(loss):
        raise ValueError(f"final loss is {loss}: training diverged")
    return loss


class TrainSummary(Artifact):
    schema_: Literal["svglm.train_summary/1"] = Field(alias="schema")
    tokens: int
    wall_s: float
    tokens_per_s: float
    final_loss: float
    stages: list[StageSummary] = Field(min_length=1)

    _loss_is_finite = field_validator("final_loss")(_finite)


class Rates(Artifact):
    n: int = Field(ge=1)
    exact: float
    materialized_exact: float
    renderable: float
    dirty_tail: float
    budget_truncated: float


class ProbeReport(Artifact):
    schema_: Literal["svglm.probe_report/1"] = Field(alias="schema")
    overall: Rates
    splits: dict[str, Rates]


class CheckpointRecord(Artifact):
    name: str
    stage: str
    stage_index: int = Field(ge=0)
    step: int = Field(ge=1)
    final: bool
    sha256: dict[str, str]
    dev_loss: float | None = None  # when the dev loss was measured at this checkpoint

    @field_validator("name", "stage")
    @classmethod
    def _a_name(cls, value: str) -> str:
        if not NAME_RE.fullmatch(value):  # the name becomes a folder that may be deleted
            raise ValueError(f"{value!r} is not a valid checkpoint or stage name")
        return value

    @model_validator(mode="after")
    def _named_for_what_it_is(self) -> CheckpointRecord:
        expected = f"{self.stage}-final" if self.final else f"{self.stage}-step{self.step:06d}"
        if self.name != expected:  # a record pointing a stage at another stage's folder
            raise ValueError(f"checkpoint {self.name} is recorded as {expected}")
        return self


class CheckpointManifest(Artifact):
    """checkpoints/manifest.json: every kept checkpoint, oldest first, with file hashes."""

    schema_: Literal["svglm.checkpoints/2"] = Field(alias="schema")
    fingerprint: str
    checkpoints: list[CheckpointRecord]
    promoted: str | None = None  # the checkpoint probe, generate and export use, when chosen

    @model_validator(mode="after")
    def _promoted_is_kept(self) -> CheckpointManifest:
        if self.promoted is not None and self.promoted not in {r.name for r in self.checkpoints}:
            raise ValueError(f"promoted checkpoint {self.promoted} is not among the checkpoints")
        return self


def validation_message(err: ValidationError) -> str:
    """The first problem of a pydantic error as `where: what (got value)`."""
    first = err.errors()[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
    message = first["msg"].removeprefix("Value error, ")  # pydantic's prefix for our own checks
    value = first.get("input")
    got = f" (got {value!r})" if "input" in first and not isinstance(value, dict | list) else ""
    return f"{where + ': ' if where else ''}{message}{got}"


def read_artifact(path: Path, model: type[T]) -> T:
    """Read and validate one JSON artifact; any problem is an ArtifactError naming the file."""
    raw = load_json(path, ArtifactError)
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        raise ArtifactError(f"{path}: {validation_message(e)}") from None
