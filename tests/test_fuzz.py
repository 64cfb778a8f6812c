"""Fuzzing the readers of untrusted input: any input either loads or raises the project's own
error type (an SvglmError, one line at the command line), never another exception, never a
hang (each example has a deadline).

SVGLM_FUZZ_EXAMPLES sets the examples per target (default 100; raise it to fuzz longer by hand).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import struct
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import gguf
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svglm.artifacts import CheckpointManifest, ProbeContract, read_artifact
from svglm.config import dump_config, load_config, preset
from svglm.dsl.bundle import parse_bundle, print_bundle
from svglm.dsl.scene import parse_scene, print_scene
from svglm.dsl.vocabulary import closed_atoms
from svglm.errors import CheckpointError, SvglmError
from svglm.model.config import architecture_config
from svglm.model.hf import hf_config_dict, read_hf_config

EXAMPLES = int(os.environ.get("SVGLM_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# JSON-like values, including the awkward ones: huge numbers, NaN, deep nesting, odd strings.
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def loads_or_refuses(read, *args) -> None:
    try:
        read(*args)
    except SvglmError as e:
        assert "\n" not in str(e)  # one line


def mutate(rng, tree):
    """The same structure with one leaf replaced, one key dropped or one key added."""
    if isinstance(tree, dict) and tree:
        key = rng.choice(sorted(tree, key=str))
        choice = rng.random()
        if choice < 0.2:
            return {k: v for k, v in tree.items() if k != key}
        if choice < 0.3:
            return {**tree, "extra": 1}
        return {**tree, key: mutate(rng, tree[key])}
    if isinstance(tree, list) and tree:
        i = rng.randrange(len(tree))
        return [*tree[:i], mutate(rng, tree[i]), *tree[i + 1 :]]
    return rng.choice([None, -1, 0, 10**12, 1.5, float("nan"), "x", "../..", [], {}, True])


# -- the DSL ------------------------------------------------------------------------------------
ATOM_WORDS = st.sampled_from(
    closed_atoms()
    + ["[stage:stages.0]", "[arrow]", "[from:9]", "[to:0]", "[segment:segments.1]", "[x:y]"]
    + ["[title:title]", "[/bundle]", "[scene]", "]", "[", "[a:b:c]", "[stage:..]", ""]
)


@FUZZ
@given(st.lists(ATOM_WORDS, max_size=30), st.sampled_from(["bundle", "scene"]))
def test_dsl_parsers_parse_or_refuse_atom_soup(words, level):
    text = " ".join([f"[{level}]", *words, f"[/{level}]"])
    parse, show = (parse_bundle, print_bundle) if level == "bundle" else (parse_scene, print_scene)
    try:
        parsed = parse(text)
    except SvglmError:
        return
    assert parse(show(parsed)) == parsed  # anything accepted is canonical-printable


@FUZZ
@given(st.text(max_size=200))
def test_dsl_parsers_parse_or_refuse_any_text(text):
    loads_or_refuses(parse_bundle, text)
    loads_or_refuses(parse_scene, text)


# -- run.yaml -----------------------------------------------------------------------------------
@FUZZ
@given(st.text(max_size=300))
def test_run_yaml_loads_or_refuses_any_text(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    loads_or_refuses(load_config, path)


@FUZZ
@given(st.randoms(use_true_random=False), st.integers(1, 4))
def test_run_yaml_loads_or_refuses_a_damaged_config(tmp_path, rng, edits):
    tree = yaml.safe_load(dump_config(preset("tiny", "t")))
    for _ in range(edits):
        tree = mutate(rng, tree)
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(tree))
    loads_or_refuses(load_config, path)


# -- manifest and probe contract ----------------------------------------------------------------
VALID_MANIFEST = {
    "schema": "svglm.checkpoints/2",
    "fingerprint": "abc",
    "checkpoints": [
        {
            "name": "sft-final",
            "stage": "sft",
            "stage_index": 1,
            "step": 4,
            "final": True,
            "sha256": {"model.safetensors": "00", "state.pt": "11"},
        }
    ],
}
VALID_CONTRACT = {
    "schema": "svglm.probe_contract/1",
    "task": "scene",
    "cases": [
        {
            "id": "visible-000",
            "split": "visible",
            "family": "timeline",
            "form": "stage_sequence",
            "surface": "explicit",
            "prompt": "[task:scene] [OUT]",
            "expected": "[bundle] [/bundle]",
        }
    ],
}


@FUZZ
@given(st.randoms(use_true_random=False), st.integers(1, 4), VALUES)
def test_manifest_and_contract_readers_load_or_refuse(tmp_path, rng, edits, noise):
    for valid, model in ((VALID_MANIFEST, CheckpointManifest), (VALID_CONTRACT, ProbeContract)):
        tree = valid
        for _ in range(edits):
            tree = mutate(rng, tree)
        for content in (json.dumps(tree), json.dumps(noise), json.dumps(tree)[: rng.randrange(80)]):
            path = tmp_path / "artifact.json"
            path.write_text(content)
            loads_or_refuses(read_artifact, path, model)


# -- pretrained checkpoints ---------------------------------------------------------------------
def hf_config(architecture: str) -> dict:
    cfg = architecture_config(
        architecture,
        vocab_size=64,
        n_layer=2,
        d_model=16,
        n_head=2,
        n_kv_head=1,
        d_ff=32,
        seq_len=32,
    )
    return hf_config_dict(cfg, 1, 2, 0)


@FUZZ
@given(
    st.randoms(use_true_random=False),
    st.sampled_from(["llama", "qwen2", "qwen3", "gemma3", "qwen35"]),
    st.integers(1, 4),
)
def test_hf_config_reader_loads_or_refuses(tmp_path, rng, architecture, edits):
    tree = hf_config(architecture)
    for _ in range(edits):
        tree = mutate(rng, tree)
    (tmp_path / "config.json").write_text(json.dumps(tree))
    loads_or_refuses(read_hf_config, tmp_path)


@pytest.mark.parametrize(
    "architecture, edits",
    [
        ("gemma3", {"query_pre_attn_scalar": 0.0}),  # found by the test above: 0 ** -0.5
        ("gemma3", {"query_pre_attn_scalar": -4}),  # would make a complex softmax scale
        ("gemma3", {"query_pre_attn_scalar": float("nan")}),
        ("gemma3", {"num_attention_heads": 0, "head_dim": None}),  # head size by division
        ("qwen35", {"hidden_size": float("inf"), "head_dim": None}),  # int(inf)
    ],
)
def test_hf_configs_with_impossible_numbers_are_refused(tmp_path, architecture, edits):
    (tmp_path / "config.json").write_text(json.dumps(hf_config(architecture) | edits))
    with pytest.raises(CheckpointError) as refused:
        read_hf_config(tmp_path)
    assert "\n" not in str(refused.value)


class Blob(bytes):
    def __repr__(self) -> str:  # hypothesis prints its inputs; the bytes are not worth it
        return f"<{len(self)} bytes of a valid GGUF file>"


@pytest.fixture(scope="module")
def gguf_bytes(tiny_run, tmp_path_factory) -> bytes:
    from svglm.model.gguf_io import export_gguf
    from svglm.train.checkpoint import load_trained

    model, tok = load_trained(tiny_run, tiny_run.config())
    path = tmp_path_factory.mktemp("gguf") / "m.gguf"
    return Blob(export_gguf(model, tok.to_json(), tok.specials, path).read_bytes())


@FUZZ
@given(st.randoms(use_true_random=False), st.integers(1, 6))
def test_gguf_readers_load_or_refuse_damaged_files(tmp_path, gguf_bytes, rng, damage):
    from svglm.model.gguf_io import read_gguf, read_gguf_config, read_gguf_tokenizer

    data = bytearray(gguf_bytes)
    for _ in range(damage):
        if len(data) < 64:
            break
        kind = rng.random()
        if kind < 0.4:  # a header count or a length field somewhere in the metadata
            at = rng.choice([8, 16, rng.randrange(24, min(len(data), 4096) - 8)])
            data[at : at + 8] = struct.pack(
                "<Q", rng.choice([0, 1, 2**31, 2**62, rng.randrange(2**64)])
            )
        elif kind < 0.8:
            at = rng.randrange(len(data))
            data[at] ^= 1 << rng.randrange(8)
        else:
            del data[rng.randrange(len(data)) :]
    path = tmp_path / "damaged.gguf"
    path.write_bytes(bytes(data))
    for read in (read_gguf_config, read_gguf_tokenizer, read_gguf):
        loads_or_refuses(read, path)


# Reads a GGUF file three ways and prints each refusal: run in a child process whose address
# space is capped, so that a reader looping without end fails the test instead of exhausting
# the machine (the bug below took a `make test` to 24 GB before the kernel killed it).
READ_GGUF = """
import sys
from pathlib import Path
from svglm.errors import SvglmError
from svglm.model.gguf_io import read_gguf, read_gguf_config, read_gguf_tokenizer
for read in (read_gguf_config, read_gguf_tokenizer, read_gguf):
    try:
        read(Path(sys.argv[1]))
    except SvglmError as e:
        print(e)
"""


def test_a_gguf_array_longer_than_its_file_is_refused(tmp_path, gguf_bytes):
    """Found by the fuzzer above: one damaged byte turned `general.architecture` from a string
    into an array whose length field claimed 7.9e18 int32s. gguf's reader reads an empty array
    past the end of a file and carried on, once per claimed element."""
    data = bytearray(gguf_bytes)
    at = data.index(b"general.architecture") + len(b"general.architecture")
    array, int32 = int(gguf.GGUFValueType.ARRAY), int(gguf.GGUFValueType.INT32)
    data[at : at + 16] = struct.pack("<IIQ", array, int32, 2**62)  # type, item type, length
    path = tmp_path / "long.gguf"
    path.write_bytes(bytes(data))
    cap = 4 << 30  # bytes of address space; importing torch takes about 0.7 GB of it
    child = subprocess.run(
        [sys.executable, "-c", READ_GGUF, str(path)],
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard only: capped, a looping reader fails within a minute
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap)),
    )
    assert child.returncode == 0, child.stderr[-2000:]
    refusals = child.stdout.splitlines()
    # from the bounded read: a runaway reader's MemoryError is also refused in one line
    assert len(refusals) == 3
    assert all(r.endswith("not a readable GGUF file (ValueError)") for r in refusals), refusals


def test_fuzz_targets_reject_something(tmp_path):
    """The fuzzers above only prove something if bad input is actually refused."""
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(SvglmError):
        read_hf_config(tmp_path)
    with pytest.raises(SvglmError):
        parse_bundle("[bundle] [/bundle]")
    path = tmp_path / "m.json"
    path.write_text(json.dumps({**VALID_MANIFEST, "checkpoints": [{"name": "../x"}]}))
    with pytest.raises(SvglmError):
        read_artifact(path, CheckpointManifest)
    shutil.rmtree(tmp_path)
    assert not Path(tmp_path).exists()
