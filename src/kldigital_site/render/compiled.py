"""Compiled templates kept between builds, in ``.kldigital-cache/templates/``.

Input: the folder and whether this build may write to it (``check`` and a build
without the cache do not). Output: a Jinja ``BytecodeCache`` for
``render/templates.py make_environment``. Jinja compiles each template to Python
code on its first load in a process: about 0.1 s for the theme in every build,
the main process's and each worker's (issue 15). Kept as code, a template is
loaded in a fraction of that.

One file per template (named after its name and path, as Jinja's own
``FileSystemBytecodeCache`` names them), holding:

* the checksum of the source it was compiled from (Jinja's ``Bucket`` compares it);
* the environment it was compiled by (``environment_key``): compiled code
  depends on the Jinja and Python versions, on the environment's settings and on
  the names of the filters and tests it knew (an unknown filter is an error when
  compiling, not when rendering), and so on the tool's own code;
* the templates it names (``{% extends %}``, ``{% include %}``, ``{% import %}``),
  which the environment otherwise learns from parsing it: a template loaded as
  code is not parsed (``RecordingEnvironment._referenced``);
* the code, as ``marshal`` writes it. Loading it runs it: whoever can write to
  ``.kldigital-cache/`` is trusted already (docs/security.md).

A file that does not match is ignored and written again after compiling. The path of
the template is part of a file's name because the code carries it: a template error
is reported at the file of that path (``render_template``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import marshal
import os
import sys
import tempfile
from pathlib import Path
from types import CodeType
from typing import Protocol, runtime_checkable

import jinja2
from jinja2.bccache import Bucket

from kldigital_site.cache import tool_fingerprint

# The folder in ``.kldigital-cache/``.
COMPILED_DIR = "templates"
# The first line of every file: another format is another magic.
_MAGIC = b"kldigital-site compiled template 1\n"


@runtime_checkable
class KnowsNames(Protocol):
    """An environment that knows which templates each template names."""

    def named_by(self, name: str) -> frozenset[str] | None: ...

    def note_named(self, name: str, named: frozenset[str]) -> None: ...


class _NamedBucket(Bucket):
    """Jinja's bucket with the template's name: written beside the code are its names."""

    def __init__(self, environment: jinja2.Environment, key: str, checksum: str, name: str):
        super().__init__(environment, key, checksum)
        self.name = name


def environment_key(env: jinja2.Environment) -> str:
    """Everything besides a template's source that the code Jinja compiles from it follows
    from."""
    settings = (
        tool_fingerprint(),  # the tool's code and the libraries' versions
        jinja2.__version__,
        sys.version,  # marshal's format
        sorted(env.filters),
        sorted(env.tests),
        sorted(env.extensions),
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        env.optimized,
        env.is_async,
        env.finalize is not None,
    )
    return hashlib.sha256(repr(settings).encode()).hexdigest()


class CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's bytecode cache in ``directory`` (module docstring); ``write=False`` only
    reads it."""

    def __init__(self, directory: Path, *, write: bool) -> None:
        self.directory = directory
        self.write = write

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        key = self.get_cache_key(name, filename)
        bucket = _NamedBucket(environment, key, self.get_source_checksum(source), name)
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        env = bucket.environment
        if not isinstance(bucket, _NamedBucket) or not isinstance(env, KnowsNames):
            return
        try:
            data = (self.directory / bucket.key).read_bytes()
        except OSError:
            return  # not compiled yet, or unreadable: compiled now
        if not data.startswith(_MAGIC):
            return
        header, _, code_data = data[len(_MAGIC) :].partition(b"\n")
        try:
            known = json.loads(header)
            if not isinstance(known, dict):
                return
            environment, checksum, named = known["environment"], known["checksum"], known["names"]
        except (ValueError, KeyError):
            return
        if checksum != bucket.checksum or environment != environment_key(bucket.environment):
            return
        if not isinstance(named, list) or not all(isinstance(n, str) for n in named):
            return
        try:
            code = marshal.loads(code_data)
        except (EOFError, ValueError, TypeError):
            return
        if not isinstance(code, CodeType):
            return
        env.note_named(bucket.name, frozenset(named))
        bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        env = bucket.environment
        if not self.write or bucket.code is None or not isinstance(bucket, _NamedBucket):
            return
        named = env.named_by(bucket.name) if isinstance(env, KnowsNames) else None
        if named is None:
            return  # what it names is not known: compiled again next time
        header = {
            "environment": environment_key(env),
            "checksum": bucket.checksum,
            "names": sorted(named),
        }
        data = b"".join((_MAGIC, json.dumps(header).encode(), b"\n", marshal.dumps(bucket.code)))
        _write_atomically(self.directory / bucket.key, data)


def _write_atomically(path: Path, data: bytes) -> None:
    """``data`` as ``path``, whole or not at all: the workers of a build may write the
    same template at once. A file that cannot be written is compiled again next time,
    as if never written: the build does not fail for its cache."""
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
