"""The project's own error types.

An `SvglmError` is a problem the user can act on (a bad run.yaml, a DSL text that breaks the
grammar, a dataset or tokenizer gate that failed, a checkpoint that cannot be loaded): the
command line prints its message as one line and exits with code 2. Any other exception is a
bug in svglm and keeps its traceback.
"""

from __future__ import annotations


class SvglmError(Exception):
    """A user-facing error; its message is one line, e.g. `run.yaml: seed: ...`."""


class ConfigError(SvglmError):
    """A run.yaml or command-line value that cannot be used."""


class DSLError(SvglmError):
    """A DSL text that breaks the grammar; the message names the offending atom."""


class DataError(SvglmError):
    """A dataset that cannot be generated, or that failed its QC or coverage gate."""


class TokenizerError(SvglmError):
    """A tokenizer that does not reproduce the corpus exactly or splits a reserved atom."""


class PlanError(SvglmError):
    """The preflight plan's verdict is FAIL; the message lists every failed check."""


class CheckpointError(SvglmError):
    """A checkpoint or pretrained model that is missing, unreadable or unsupported."""


class ExportError(SvglmError):
    """A model that cannot be exported in the requested format."""


class DependencyError(SvglmError):
    """An optional package that a feature needs is not installed."""


class ArtifactError(SvglmError):
    """A run artifact that is missing, unreadable or not of its schema."""


class TrainError(SvglmError):
    """Training that cannot go on: a loss that stays non-finite, a disk that is full."""


class RunLockedError(SvglmError):
    """Another process is driving this run."""


class StorageError(SvglmError):
    """A file that cannot be written: a full disk, a read-only folder."""
