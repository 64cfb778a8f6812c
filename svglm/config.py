"""run.yaml: one file says everything about a run.

Pydantic models, loading with one-line errors, and the presets. Everything that can be checked
before compute is checked here: names that become paths, finite numbers, sizes with sane upper
bounds, a head size RoPE can rotate, a decode budget inside the context.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from svglm.artifacts import validation_message
from svglm.dsl.families import FAMILIES
from svglm.errors import ConfigError
from svglm.model.config import ARCHITECTURE_FLAGS, ARCHITECTURES, ModelConfig, architecture_config
from svglm.names import NAME_RE, RULE

BIG = 10**7  # the ceiling for counts (rows, steps, batch sizes) that no CPU run reaches


def _name(value: str) -> str:
    if not NAME_RE.fullmatch(value):
        raise ValueError(f"not a valid name ({RULE})")
    return value


Name = Annotated[str, AfterValidator(_name)]  # becomes a file or folder name


class Strict(BaseModel):
    # Unknown keys are typos; inf and NaN are never a meaningful learning rate or size.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TaskConfig(Strict):
    name: Literal["scene", "glyph", "svg"] = "scene"
    corpus: str | None = Field(
        None,
        description="glyph and svg tasks: the imported corpus, a folder inside the run "
        "directory (`svglm init --preset glyphs --fonts DIR` or `--preset icons --svg DIR` "
        "imports it there)",
    )
    level: Literal["bundle", "scene"] = "bundle"
    families: list[str] = Field(
        default_factory=lambda: list(FAMILIES), description="diagram families to generate"
    )
    surfaces: dict[str, float] = Field(
        default_factory=lambda: {
            "anchor": 1.0,
            "explicit": 2.0,
            "routebook": 2.0,
            "natural": 3.0,
            "pair": 1.0,
            "edit": 1.0,
        },
        description="prompt surfaces and their share of the rows (weights)",
    )
    holdout_fraction: float = Field(0.12, gt=0, lt=0.5)

    @field_validator("surfaces")
    @classmethod
    def _positive_shares(cls, surfaces: dict[str, float]) -> dict[str, float]:
        if not surfaces or any(w <= 0 for w in surfaces.values()):
            raise ValueError("give at least one surface, each with a share above 0")
        return surfaces

    @model_validator(mode="after")
    def _corpus_where_needed(self) -> TaskConfig:
        if self.name != "scene" and self.corpus is None:
            raise ValueError(f"the {self.name} task needs task.corpus (an imported corpus)")
        if self.corpus is not None and (
            Path(self.corpus).is_absolute() or ".." in Path(self.corpus).parts
        ):
            raise ValueError("task.corpus is a folder inside the run directory")
        return self

    @field_validator("families")
    @classmethod
    def _known_families(cls, families: list[str]) -> list[str]:
        unknown = [f for f in families if f not in FAMILIES]
        if unknown or not families:
            raise ValueError(f"unknown diagram families {unknown} (known: {', '.join(FAMILIES)})")
        return families


class RepairSlice(Strict):
    """Rows added to train by `svglm repair`: more of what the dev split showed the model
    missing, drawn like train rows (never from held-out combinations, templates or words)."""

    families: dict[str, int] = Field(
        min_length=1,
        description="each family the dev misses were in, with its misses: the "
        "slice's rows are shared out in proportion",
    )
    surfaces: list[str] = Field(min_length=1, description="prompt surfaces they were asked in")
    rows: int = Field(gt=0, le=BIG, description="how many rows to add")


class DataConfig(Strict):
    train: int = Field(20000, gt=0, le=BIG, description="rows in the train split")
    dev: int = Field(400, gt=0, le=BIG)
    test: int = Field(400, gt=0, le=BIG)
    holdout: int = Field(
        400, gt=0, le=BIG, description="rows made of attribute combinations unseen in train"
    )
    templates: int = Field(
        200, ge=0, le=BIG, description="rows phrased with sentence templates unseen in train"
    )
    oov: int = Field(100, ge=0, le=BIG, description="rows using words never seen in train")
    probe_visible: int = Field(48, ge=1, le=BIG, description="probe cases drawn from test")
    probe_hidden: int = Field(48, ge=1, le=BIG, description="cases of unseen combinations")
    probe_templates: int = Field(48, ge=0, le=BIG, description="cases of unseen templates")
    probe_oov: int = Field(24, ge=0, le=BIG, description="cases with unseen words")
    min_coverage: int = Field(
        10, ge=0, le=BIG, description="QC: each attribute value needs this many train rows"
    )
    min_pair_coverage: int = Field(
        3, ge=0, le=BIG, description="QC: each pair of key values needs this many train rows"
    )
    repair: RepairSlice | None = Field(None, description="set by `svglm repair`")

    @model_validator(mode="after")
    def _probe_fits(self) -> DataConfig:
        for probe, pool in (
            ("probe_visible", "test"),
            ("probe_hidden", "holdout"),
            ("probe_templates", "templates"),
            ("probe_oov", "oov"),
        ):
            if getattr(self, probe) > getattr(self, pool):
                raise ValueError(f"{probe} cannot exceed data.{pool}")
        return self


class TokenizerConfig(Strict):
    vocab_size: int = Field(
        1024, ge=300, le=1_000_000, description="BPE vocabulary including reserved atoms"
    )


# The sizes run.yaml sets, under the same names as in ModelConfig: one mapping, both ways.
MODEL_SIZES = ("n_layer", "d_model", "n_head", "n_kv_head", "d_ff", "seq_len", "rope_theta")


class ModelSection(Strict):
    architecture: str = Field("qwen3", description=f"one of {', '.join(ARCHITECTURES)}")
    n_layer: int = Field(3, gt=0, le=256)
    d_model: int = Field(192, gt=0, le=65536)
    n_head: int = Field(6, gt=0, le=1024)
    n_kv_head: int = Field(2, gt=0, le=1024)
    d_ff: int = Field(512, gt=0, le=262144)
    seq_len: int = Field(
        128, gt=0, le=131072, description="context length; rows are packed into windows of it"
    )
    rope_theta: float = Field(10000.0, gt=0)

    @field_validator("architecture")
    @classmethod
    def _known_architecture(cls, name: str) -> str:
        if name not in ARCHITECTURES:
            raise ValueError(f"unknown architecture (known: {', '.join(ARCHITECTURES)})")
        return name

    def shape_problem(self) -> str | None:
        """Why these sizes cannot make a model, or None. Checked for models trained from
        scratch; a pretrained base brings sizes that its own runtime already accepted."""
        if self.d_model % self.n_head or self.n_head % self.n_kv_head:
            return "d_model must divide by n_head, and n_head by n_kv_head"
        head = self.d_model // self.n_head
        rotated = int(head * float(ARCHITECTURE_FLAGS[self.architecture].get("rope_fraction", 1.0)))
        if rotated == 0 or rotated % 2:
            return (
                f"head size d_model/n_head = {head} leaves {rotated} dims for RoPE, which "
                "rotates them in pairs: choose sizes that make it even"
            )
        return None

    def as_model_config(self, vocab_size: int) -> ModelConfig:
        """The architecture this section describes, for a tokenizer of `vocab_size`."""
        sizes = {name: getattr(self, name) for name in MODEL_SIZES}
        return architecture_config(self.architecture, vocab_size=vocab_size, **sizes)

    @classmethod
    def describing(cls, mc: ModelConfig) -> ModelSection:
        """The section that names `mc`'s architecture and sizes (for a pretrained base)."""
        return cls(
            architecture=mc.architecture, **{name: getattr(mc, name) for name in MODEL_SIZES}
        )


class StageConfig(Strict):
    name: Name
    tokens: int = Field(
        gt=0, le=10**13, description="token budget: optimizer steps x batch x accum x seq_len"
    )
    lr: float = Field(3e-3, gt=0, le=10)
    min_lr_ratio: float = Field(0.1, ge=0, le=1)
    warmup_steps: int | None = Field(
        None, ge=0, le=BIG, description="linear warmup; default 5% of the stage's steps"
    )
    batch_size: int = Field(32, gt=0, le=65536)
    grad_accum: int = Field(1, gt=0, le=4096)
    weight_decay: float = Field(0.1, ge=0, le=10)
    grad_clip: float = Field(1.0, gt=0)
    loss: Literal["all", "target"] = Field(
        "all", description="'target' masks the loss to target tokens (SFT)"
    )
    max_epochs: float | None = Field(
        None, gt=0, description="plan FAILs if the budget needs more epochs"
    )
    surfaces: list[str] | None = Field(
        None, description="train only on rows of these prompt surfaces (default: all)"
    )

    def warmup(self, total_steps: int) -> int:
        """Warmup steps for a stage of `total_steps`: as set, or 5% of them (at least one)."""
        if self.warmup_steps is not None:
            return self.warmup_steps
        return max(1, round(0.05 * total_steps))

    def lr_at(self, step: int, total_steps: int) -> float:
        """Linear warmup to `lr`, then cosine decay to `lr * min_lr_ratio` at the last step."""
        warmup = self.warmup(total_steps)
        if step < warmup:
            return self.lr * (step + 1) / warmup
        span = max(1, total_steps - warmup - 1)
        progress = min(1.0, (step - warmup) / span)
        floor = self.lr * self.min_lr_ratio
        return floor + (self.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


class TrainConfig(Strict):
    log_every: int = Field(10, gt=0, le=BIG, description="steps between ledger lines")
    tensorboard: bool = Field(
        False, description="also write TensorBoard event files (run/tensorboard/) from the ledger"
    )
    eval_every: int = Field(
        100, gt=0, le=BIG, description="steps between dev-loss evaluations (and at checkpoints)"
    )
    checkpoint_every: int = Field(
        200, gt=0, le=BIG, description="steps between resumable checkpoints"
    )
    keep_last: int = Field(
        1, ge=1, le=1000, description="intermediate checkpoints kept, besides finals and the best"
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="auto: CUDA, else MPS, else the CPU"
    )
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto",
        description="bf16 runs the matmuls under autocast (weights stay fp32); "
        "auto: bf16 where the device multiplies bf16 natively, else fp32",
    )
    compile: bool = Field(False, description="torch.compile the model")
    memory_limit_gb: float | None = Field(
        None, gt=0, description="plan FAILs above this estimate; default the device's memory"
    )
    epochs_warn: float = Field(20.0, gt=0, description="plan WARNs when a stage needs more epochs")
    spike_factor: float = Field(
        3.0, gt=1, description="a loss this many times the running median is flagged a spike"
    )
    threads: int = Field(0, ge=0, le=1024, description="torch CPU threads; 0 = torch's default")
    max_bad_steps: int = Field(
        5, gt=0, le=1000, description="steps in a row with a non-finite loss before training stops"
    )


class ProbeConfig(Strict):
    max_tokens: int = Field(64, gt=0, description="decode budget per case (at most model.seq_len)")
    batch_size: int = Field(64, gt=0, le=4096)
    stop_at_close: bool = Field(
        False,
        description="stop at the closing atom, not only at <|eos|>; "
        "off by default so that dirty tails are measured",
    )
    constrained: bool = Field(
        True,
        description="also decode under the task's grammar (needs llguidance) and report both "
        "side by side; free decoding stays the contract",
    )


class BaseConfig(Strict):
    """A pretrained checkpoint copied into the run; training starts from its weights."""

    format: Literal["hf", "gguf"]
    path: str = Field(description="path inside the run directory, e.g. base/ or base/model.gguf")


class RunConfig(Strict):
    name: Name
    preset: str = "custom"
    seed: int = Field(1234, ge=0, lt=2**32)
    task: TaskConfig = Field(default_factory=TaskConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = Field(default_factory=TokenizerConfig)
    model: ModelSection = Field(default_factory=ModelSection)
    stages: list[StageConfig] = Field(min_length=1)
    train: TrainConfig = Field(default_factory=TrainConfig)
    probe: ProbeConfig = Field(default_factory=ProbeConfig)
    base: BaseConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RunConfig:
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):  # checkpoints and the ledger are keyed by stage name
            raise ValueError(f"stage names must be unique (got {names})")
        if self.base is None and (problem := self.model.shape_problem()):
            raise ValueError(f"model: {problem}")
        if self.probe.max_tokens > self.model.seq_len:
            raise ValueError(
                f"probe.max_tokens {self.probe.max_tokens} is more than the model's context "
                f"(model.seq_len {self.model.seq_len})"
            )
        return self


def _demo(name: str) -> RunConfig:
    """Bundle targets for all eight families from explicit, routebook and natural-language
    prompts; a Qwen3-style 3 x 192 decoder, a few minutes on a 2-core CPU.

    Sizes were chosen by measurement (see README, 'The demo run')."""
    return RunConfig(
        name=name,
        preset="demo",
        task=TaskConfig(surfaces={"explicit": 1.0, "routebook": 1.0, "natural": 2.0}),
        data=DataConfig(probe_visible=64, probe_hidden=96, probe_templates=64, probe_oov=32),
        stages=[
            StageConfig(name="pretrain", tokens=1_200_000, lr=3e-3, warmup_steps=25, loss="all"),
            StageConfig(name="sft", tokens=1_200_000, lr=1.5e-3, warmup_steps=10, loss="target"),
        ],
    )


# The curriculum of the scene presets: atoms first, then routing, then everything (the last
# stage replays every surface, so what the first stages taught is not forgotten).
CURRICULUM = (
    ("pretrain", ["anchor", "explicit", "routebook"], "all"),
    ("midtrain", ["routebook", "natural", "pair"], "all"),
    ("sft", None, "target"),
)


def _scene_bundle(name: str) -> RunConfig:
    """Bundle targets for all eight families from every prompt surface, trained in three
    stages (see CURRICULUM); a Qwen3-style 4 x 256 decoder."""
    budget = {"pretrain": 3_000_000, "midtrain": 2_000_000, "sft": 2_000_000}
    lr = {"pretrain": 3e-3, "midtrain": 2e-3, "sft": 1e-3}
    return RunConfig(
        name=name,
        preset="scene-bundle",
        data=DataConfig(
            train=30000,
            holdout=640,
            templates=320,
            oov=160,
            probe_visible=96,
            probe_hidden=160,
            probe_templates=96,
            probe_oov=48,
        ),
        model=ModelSection(n_layer=4, d_model=256, n_head=8, n_kv_head=2, d_ff=768),
        stages=[
            StageConfig(
                name=stage, tokens=budget[stage], lr=lr[stage], surfaces=surfaces, loss=loss
            )
            for stage, surfaces, loss in CURRICULUM
        ],
    )


def _scene_full(name: str) -> RunConfig:
    """Scene targets (every component bound to its topic's content) for all eight families from
    every prompt surface; the scene-bundle curriculum on a longer context."""
    cfg = _scene_bundle(name)
    budget = {"pretrain": 5_000_000, "midtrain": 3_000_000, "sft": 3_000_000}
    for stage in cfg.stages:
        stage.tokens = budget[stage.name]
    return cfg.model_copy(
        update={
            "preset": "scene-full",
            "task": TaskConfig(level="scene"),
            "model": ModelSection(
                n_layer=4, d_model=256, n_head=8, n_kv_head=2, d_ff=768, seq_len=256
            ),
            "probe": ProbeConfig(max_tokens=160),
        }
    )


def _tiny(name: str) -> RunConfig:
    """Seconds-long end-to-end run for tests and smoke checks; it trains, but learns little."""
    return RunConfig(
        name=name,
        preset="tiny",
        data=DataConfig(
            train=300,
            dev=30,
            test=30,
            holdout=30,
            templates=12,
            oov=6,
            probe_visible=6,
            probe_hidden=6,
            probe_templates=4,
            probe_oov=2,
            min_coverage=1,
            min_pair_coverage=0,
        ),
        tokenizer=TokenizerConfig(vocab_size=720),
        model=ModelSection(n_layer=1, d_model=32, n_head=2, n_kv_head=1, d_ff=64, seq_len=128),
        stages=[
            StageConfig(name="pretrain", tokens=8 * 128 * 6, batch_size=8, warmup_steps=0),
            StageConfig(
                name="sft", tokens=8 * 128 * 4, batch_size=8, warmup_steps=0, loss="target"
            ),
        ],
        # the CPU in fp32 on every machine, so tests can compare bytes
        train=TrainConfig(
            log_every=1, eval_every=2, checkpoint_every=3, device="cpu", precision="fp32"
        ),
        probe=ProbeConfig(max_tokens=24, batch_size=8),
    )


def _from_corpus(
    name: str,
    preset_name: str,
    task: Literal["glyph", "svg"],
    model: ModelSection,
    vocab_size: int,
    batch_size: int,
    probe: ProbeConfig,
    **data: int,
) -> RunConfig:
    """A run over a corpus `svglm init --fonts/--svg` imports into the run (corpus/): prompts
    of atoms only, no held-out templates or words, one 8M-token stage."""
    return RunConfig(
        name=name,
        preset=preset_name,
        task=TaskConfig(name=task, corpus="corpus", surfaces={"atoms": 1.0}),
        data=DataConfig(
            test=64,
            probe_visible=64,
            templates=0,
            oov=0,
            probe_templates=0,
            probe_oov=0,
            **data,
        ),
        tokenizer=TokenizerConfig(vocab_size=vocab_size),
        model=model,
        stages=[
            StageConfig(
                name="pretrain", tokens=8_000_000, lr=2e-3, batch_size=batch_size, loss="all"
            ),
        ],
        # compiled bf16 steps of a 6 x 256, 512-token model on packed icons: 11.1k against 9.0k
        # tokens/s for a cold compile of about 20 s, paid back in a few hundred steps of the
        # 8M-token stage (bench/README.md, "Precision and compile")
        train=TrainConfig(eval_every=100, checkpoint_every=200, compile=True),
        probe=probe,
    )


# Probes whose outputs run to hundreds of tokens decode 256 rows at a time: the whole probe took
# 11.1 s against 15.1 at 64 rows on a glyphs run, 8.7 s against 13.3 at 32 on an icons run
# (bench/README.md, "Probe batch size"). Short outputs gain nothing: the demo's stays at 64.
LONG_PROBE_BATCH = 256


def _glyphs(name: str) -> RunConfig:
    """Font glyphs from your fonts; the probe draws every glyph of the held-out fonts. A
    Qwen3-style 6 x 256 decoder on a 384-token context (the longest glyphs, '@' of italic serif
    faces, are left out with their reason); 27 minutes on 2 cores for 38 fonts, measured before
    the CPU attention path and compiling made training steps faster."""
    return _from_corpus(
        name,
        "glyphs",
        "glyph",
        ModelSection(n_layer=6, d_model=256, n_head=8, n_kv_head=2, d_ff=768, seq_len=384),
        vocab_size=512,
        batch_size=16,
        probe=ProbeConfig(max_tokens=376, batch_size=LONG_PROBE_BATCH),
        dev=1000,
        holdout=1000,
        probe_hidden=1000,
        min_pair_coverage=1,
    )


def _icons(name: str) -> RunConfig:
    """Your SVG icons as canonical raw SVG, asked for by name. A Qwen3-style 6 x 256 decoder on
    a 512-token context, 8M tokens (22 minutes on 2 cores for lucide-static before the CPU
    attention path; about 12.5 from the step rate measured since, compiled). Measured there:
    4 x 256 at 4M tokens rendered 0.927 of its probe freely and 0.983 under the grammar, at 8M
    0.972 and 0.983; 6 x 256 at 8M 0.978 and 0.994."""
    return _from_corpus(
        name,
        "icons",
        "svg",
        ModelSection(n_layer=6, d_model=256, n_head=8, n_kv_head=2, d_ff=768, seq_len=512),
        vocab_size=1024,
        batch_size=8,
        probe=ProbeConfig(max_tokens=512, batch_size=LONG_PROBE_BATCH),
        dev=200,
        holdout=200,
        probe_hidden=128,
        min_coverage=1,
        min_pair_coverage=0,
    )


PRESETS = {
    "demo": _demo,
    "scene-bundle": _scene_bundle,
    "scene-full": _scene_full,
    "tiny": _tiny,
    "glyphs": _glyphs,
    "icons": _icons,
}


def preset(name: str, run_name: str) -> RunConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    try:
        return PRESETS[name](run_name)
    except ValidationError as e:
        raise ConfigError(f"preset {name}: {validation_message(e)}") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice is an error, not a silent override."""


def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise ConfigError(f"key {key!r} appears twice (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_config(path: Path) -> RunConfig:
    try:
        raw = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except ConfigError as e:
        raise ConfigError(f"{path.name}: {e}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid YAML ({e.__class__.__name__})") from None
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        return RunConfig.model_validate(raw or {})
    except ValidationError as e:
        raise ConfigError(f"{path.name}: {validation_message(e)}") from None


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)


def apply_overrides(cfg: RunConfig, assignments: list[str]) -> RunConfig:
    """`KEY=VALUE` pairs such as `stages.0.lr=1e-3` or `model.n_layer=4` applied to a config.
    VALUE is read as YAML, so numbers, booleans and lists keep their types; the result is
    validated exactly as run.yaml is, and a problem names the key it came from."""
    tree = cfg.model_dump(mode="json")
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"--set {key}: {raw!r} is not a value") from None
        *path, last = key.split(".")
        node: Any = tree
        for i, part in enumerate([*path, last]):
            where = ".".join([*path, last][: i + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(
                        f"--set {key}: {where} is not an index of a {len(node)}-item list"
                    )
                part = int(part)
            elif not isinstance(node, dict) or part not in node:
                raise ConfigError(f"--set {key}: no such key {where!r}")
            if i == len(path):
                node[part] = value
            else:
                node = node[part]
    try:
        return RunConfig.model_validate(tree)
    except ValidationError as e:
        raise ConfigError(f"--set: {validation_message(e)}") from None
