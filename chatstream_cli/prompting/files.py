"""``-f/--file`` and ``--sf/--system-file``: text files as context, each with its path.

A path names a file, a directory or a glob (``-`` is stdin). A directory or a glob expands to the text
files under it, sorted, leaving out what a ``.gitignore`` excludes (those of the directory and of its
parents up to the git work tree's top), the ``.git`` folder, binary files and files over
``MAX_EXPANDED_BYTES``; the files left out for being binary or large are named in a notice. A file
named on its own is always read, and must be UTF-8 text.

Layout (stable, documented in docs/giving-more.md): each file as ::

    <file path="src/app.py">
    ...the file's text...
    </file>

one after another, a blank line between them, before the prompt's words (see ``assemble.Prompt``).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .media import sniff_media_type
from .stdin import decode_text

if TYPE_CHECKING:
    from .stdin import Stdin

MAX_EXPANDED_BYTES = 256 * 1024
"""A file found by expanding a directory or glob is left out above this size (a file named alone is not)."""

_BINARY_PROBE = 8192
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class ContextFile:
    """One file's text and the path it is shown under."""

    path: str
    text: str
    size: int

    def block(self) -> str:
        body = self.text if self.text.endswith("\n") or not self.text else self.text + "\n"
        return f'<file path="{self.path}">\n{body}</file>'


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str


def gather_files(specs: tuple[str, ...], stdin: Stdin) -> tuple[list[ContextFile], list[Skipped]]:
    """The files ``-f`` names, expanded, each read once; plus what the expansion left out and why."""
    files: list[ContextFile] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for spec in specs:
        if spec == "-":
            files.append(_context_file("stdin", stdin.take("-f -")))
            continue
        for path, explicit in _expand(spec):
            key = os.path.realpath(path)
            if key in seen:
                continue
            seen.add(key)
            found = _read_found(path) if not explicit else _context_file(str(path), _read_bytes(path))
            if isinstance(found, Skipped):
                skipped.append(found)
            else:
                files.append(found)
    return files, skipped


def system_file_text(spec: str, stdin: Stdin) -> str:
    """The text of a ``--sf`` file (``-``: stdin), to append to the system prompt."""
    data = stdin.take("--sf -") if spec == "-" else _read_bytes(Path(spec))
    return decode_text(data, "stdin" if spec == "-" else spec, "--sf")


def _context_file(path: str, data: bytes) -> ContextFile:
    return ContextFile(path, decode_text(data, path), len(data))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory", "-f expands directories; --sf and -a take files") from None
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file", "check the path") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", "check the path and its permissions") from None


def _read_found(path: Path) -> ContextFile | Skipped:
    """A file a directory or glob expanded to: its text, or why it is left out."""
    try:
        if path.stat().st_size > MAX_EXPANDED_BYTES:
            return Skipped(str(path), f"over {MAX_EXPANDED_BYTES // 1024} KB")
        data = path.read_bytes()
    except OSError:  # a broken link, a file without read permission: the rest of the directory still counts
        return Skipped(str(path), "unreadable")
    if b"\0" in data[:_BINARY_PROBE]:
        return Skipped(str(path), "binary")
    try:
        return ContextFile(str(path), data.decode("utf-8"), len(data))
    except UnicodeDecodeError:
        return Skipped(str(path), "binary" if sniff_media_type(data) else "not UTF-8")


def _expand(spec: str) -> Iterator[tuple[Path, bool]]:
    """``(path, named_alone)`` for each file ``spec`` stands for."""
    path = Path(spec)
    if path.is_dir():
        found = list(_walk(path, IgnoreRules(path)))
        if not found:
            raise UsageError(f"no text files in {spec}", "-f skips what .gitignore excludes and binary files")
        yield from ((file, False) for file in found)
        return
    if path.exists() or not _GLOB_CHARS & set(spec):
        yield path, True
        return
    matches = sorted(glob.glob(spec, recursive=True))
    if not matches:
        raise UsageError(f"no files match {spec}", "check the pattern (quote it so the shell leaves it alone)")
    rules = IgnoreRules(_literal_prefix(spec))
    for match in map(Path, matches):
        if match.is_dir():
            yield from ((file, False) for file in _walk(match, rules))
        elif not rules.ignored(match, is_dir=False):
            yield match, False


def _walk(root: Path, rules: IgnoreRules) -> Iterator[Path]:
    for directory, subdirs, names in os.walk(root):
        here = Path(directory)
        subdirs[:] = sorted(d for d in subdirs if d != ".git" and not rules.ignored(here / d, is_dir=True))
        for name in sorted(names):
            if not rules.ignored(here / name, is_dir=False):
                yield here / name


def _literal_prefix(pattern: str) -> Path:
    """The directory part of a glob before its first wildcard."""
    literal: list[str] = []
    for part in Path(pattern).parts:
        if _GLOB_CHARS & set(part):
            break
        literal.append(part)
    return Path(*literal) if literal else Path(".")


class IgnoreRules:
    """What the ``.gitignore`` files of ``root``, its subdirectories and its parents up to the work tree's
    top exclude; a deeper file's rule wins over a shallower one's, as in git."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.top = _work_tree_top(self.root) or self.root
        self._specs: dict[Path, Any] = {}

    def ignored(self, path: Path, *, is_dir: bool) -> bool:
        path = path.resolve()
        verdict = None
        for directory in _dirs_between(self.top, path.parent):
            spec = self._spec(directory)
            if spec is None:
                continue
            relative = path.relative_to(directory).as_posix() + ("/" if is_dir else "")
            result = spec.check_file(relative).include
            if result is not None:
                verdict = result
        return bool(verdict)

    def _spec(self, directory: Path) -> Any:
        if directory not in self._specs:
            self._specs[directory] = _load_gitignore(directory / ".gitignore")
        return self._specs[directory]


def _load_gitignore(path: Path) -> Any:
    if not path.is_file():
        return None
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(path.read_text("utf-8", errors="replace").splitlines())


def _dirs_between(top: Path, deepest: Path) -> Iterator[Path]:
    """``top``, then each directory down to ``deepest`` (only ``deepest`` when it is not under ``top``)."""
    try:
        parts = deepest.relative_to(top).parts
    except ValueError:
        yield deepest
        return
    yield top
    current = top
    for part in parts:
        current = current / part
        yield current


def _work_tree_top(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def skipped_notice(skipped: list[Skipped], limit: int = 5) -> str:
    """One line naming what ``-f`` left out, e.g. ``-f left out 2 files: logo.png (binary), big.log (over 256 KB)``."""
    shown = ", ".join(f"{item.path} ({item.reason})" for item in skipped[:limit])
    more = f" and {len(skipped) - limit} more" if len(skipped) > limit else ""
    return f"-f left out {len(skipped)} file{'s' if len(skipped) != 1 else ''}: {shown}{more}"
