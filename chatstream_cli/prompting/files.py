"""``-f/--file`` and ``--sf/--system-file``: text files as context, each with its path.

A path names a file, a directory or a glob (``-`` is stdin). A directory or a glob expands to the text
files under it, sorted, leaving out what a ``.gitignore`` excludes (those of the directory and of its
parents up to the git work tree's top), the ``.git`` folder, dot-files and dot-directories,
``node_modules``, ``__pycache__`` and virtual environments (inside a git work tree or not), binary
files and files over ``MAX_EXPANDED_BYTES``; all but the ignored ones are named in a notice. A file
named on its own is always read, and must be UTF-8 text. All the files together may come to at most
the limit given (config.toml's ``max_files_size``): over it is a usage error with the total.

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

from ..errors import NetworkError, UsageError
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
    path: str  # a folder's ends in "/"
    reason: str


_DEPENDENCY_DIRS = {"node_modules": "dependencies", "__pycache__": "bytecode"}
_ENVIRONMENT_MARKS = ("pyvenv.cfg", "conda-meta")  # what a virtual environment (venv, virtualenv, conda) holds


def gather_files(
    specs: tuple[str, ...], stdin: Stdin, limit: int | None = None, timeout: float | None = None
) -> tuple[list[ContextFile], list[Skipped]]:
    """The files ``-f`` names, expanded, each read once (a URL fetched, within ``timeout``); plus what the
    expansion left out and why. A usage error when they come to more than ``limit`` bytes in all."""
    files: list[ContextFile] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for spec in specs:
        if spec == "-":
            files.append(_context_file("stdin", stdin.take("-f -")))
            continue
        if spec.startswith(("http://", "https://")):
            if spec not in seen:
                seen.add(spec)
                files.append(fetch_text(spec, timeout, limit))
            continue
        for item in _expand(spec):
            if isinstance(item, Skipped):
                skipped.append(item)
                continue
            path, explicit = item
            key = os.path.realpath(path)
            if key in seen:
                continue
            seen.add(key)
            found = _read_found(path) if not explicit else _context_file(str(path), _read_bytes(path))
            if isinstance(found, Skipped):
                skipped.append(found)
            else:
                files.append(found)
    if limit is not None:
        check_total(files, limit)
    return files, skipped


def check_total(files: list[ContextFile], limit: int) -> None:
    """A usage error, with the total and how to raise the limit, when the files come to more than ``limit``."""
    total = sum(file.size for file in files)
    if total <= limit:
        return
    raise UsageError(
        f"the -f files come to {_size(total)} ({len(files)} file{'s' if len(files) != 1 else ''}), "
        f"over the {_size(limit)} limit",
        f"name fewer files, or raise the limit: chatstream config set max_files_size {_mib_above(total)}MiB",
    )


MAX_REDIRECTS = 10
_TEXT_TYPES = ("application/json", "application/xml", "application/yaml", "application/toml")


def fetch_text(url: str, timeout: float | None, limit: int | None) -> ContextFile:
    """The text at ``url`` (GET), as ``-a URL`` fetches: redirects followed to https only, at most ``limit``
    bytes read, and only a text or JSON answer (anything else is a usage error pointing at ``-a``)."""
    import httpx

    from .. import tls

    given = url  # what the model is shown, wherever it redirects
    try:
        with httpx.Client(timeout=timeout, verify=tls.context()) as client:
            for _ in range(MAX_REDIRECTS + 1):
                with client.stream("GET", url, headers={"accept": "text/*, application/json;q=0.9, */*;q=0.1"}) as got:
                    if got.next_request is None:
                        return _text_answer(given, url, got, limit)
                    url = _redirect_target(url, got.next_request.url)
    except httpx.HTTPError as exc:
        raise NetworkError(
            f"cannot fetch {url}: {exc or type(exc).__name__}", "check the URL and your connection"
        ) from None
    raise UsageError(f"{url} redirects more than {MAX_REDIRECTS} times", "give -f the final URL")


def _redirect_target(url: str, target: Any) -> str:
    if target.scheme != "https":
        raise UsageError(f"{url} redirects to {target}, which is not https", "-f follows redirects to https only")
    return str(target)


def _text_answer(given: str, url: str, response: Any, limit: int | None) -> ContextFile:
    if response.status_code != 200:
        raise UsageError(f"{url} answered HTTP {response.status_code}", "check the URL")
    media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if not _is_text_type(media_type):
        raise UsageError(
            f"{url} is {media_type or 'of no stated type'}, not text or JSON", "images and PDFs go in with -a URL"
        )
    length = response.headers.get("content-length", "")
    if limit is not None and length.isdigit() and int(length) > limit:
        raise _over_limit(url, int(length), limit)
    data = bytearray()
    for piece in response.iter_bytes():
        data += piece
        if limit is not None and len(data) > limit:
            raise _over_limit(url, None, limit)
    try:
        text = bytes(data).decode(response.encoding or "utf-8")
    except (LookupError, UnicodeDecodeError):
        raise UsageError(f"{url} is not {response.encoding or 'UTF-8'} text", "check what the URL serves") from None
    return ContextFile(given, text.removeprefix("\ufeff"), len(data))


def _is_text_type(media_type: str) -> bool:
    return media_type.startswith("text/") or media_type in _TEXT_TYPES or media_type.endswith(("+json", "+xml"))


def _over_limit(url: str, size: int | None, limit: int) -> UsageError:
    said = f"is {_size(size)}" if size is not None else "is more than that"
    return UsageError(
        f"{url} {said}, over the {_size(limit)} limit of -f",
        f"raise the limit: chatstream config set max_files_size {_mib_above(size or limit + 1)}MiB",
    )


def _mib_above(size: int) -> int:
    """The power of two MiB that holds ``size`` bytes, for a limit that would."""
    return (1 << max(20, (size - 1).bit_length())) >> 20


def _size(count: int) -> str:
    if count >= 1 << 20:
        return f"{count / (1 << 20):.1f} MiB".replace(".0 ", " ")
    return f"{count / 1024:.1f} KiB".replace(".0 ", " ") if count >= 1024 else f"{count} bytes"


def left_out_folder(directory: Path) -> str | None:
    """Why a directory met while expanding ``-f`` is left out (None: it is not): what nobody means to send."""
    if directory.name.startswith("."):
        return "hidden"
    if directory.name in _DEPENDENCY_DIRS:
        return _DEPENDENCY_DIRS[directory.name]
    if any((directory / mark).exists() for mark in _ENVIRONMENT_MARKS):
        return "a virtual environment"
    return None


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


def _expand(spec: str) -> Iterator[tuple[Path, bool] | Skipped]:
    """``(path, named_alone)`` for each file ``spec`` stands for, and what its expansion left out."""
    path = Path(spec)
    if path.is_dir():
        found = list(_walk(path, IgnoreRules(path)))
        if not any(isinstance(item, Path) for item in found):
            raise UsageError(
                f"no text files in {spec}",
                "-f skips what .gitignore excludes, dot-files, node_modules, virtual environments and binary files",
            )
        yield from ((item, False) if isinstance(item, Path) else item for item in found)
        return
    if path.exists() or not _GLOB_CHARS & set(spec):
        yield path, True
        return
    matches = sorted(glob.glob(spec, recursive=True))
    if not matches:
        raise UsageError(f"no files match {spec}", "check the pattern (quote it so the shell leaves it alone)")
    prefix = _literal_prefix(spec)
    rules = IgnoreRules(prefix)
    left_out: set[Path] = set()
    for match in map(Path, matches):
        folder = _left_out_between(prefix, match if match.is_dir() else match.parent)
        if folder is not None:
            if folder not in left_out:
                left_out.add(folder)
                yield Skipped(f"{folder}/", left_out_folder(folder) or "")
        elif match.is_dir():
            yield from ((item, False) if isinstance(item, Path) else item for item in _walk(match, rules))
        elif match.name.startswith(".") and not Path(spec).name.startswith("."):
            yield Skipped(str(match), "hidden")
        elif not rules.ignored(match, is_dir=False):
            yield match, False


def _left_out_between(prefix: Path, directory: Path) -> Path | None:
    """The first folder below the glob's literal part, down to ``directory``, that -f leaves out."""
    try:
        parts = directory.relative_to(prefix).parts
    except ValueError:
        return None
    current = prefix
    for part in parts:
        current = current / part
        if left_out_folder(current) is not None:
            return current
    return None


def _walk(root: Path, rules: IgnoreRules) -> Iterator[Path | Skipped]:
    """The files under ``root`` that -f sends, and the files and folders it leaves out (not those ignored)."""
    for directory, subdirs, names in os.walk(root):
        here = Path(directory)
        kept = []
        for name in sorted(subdirs):
            if name == ".git" or rules.ignored(here / name, is_dir=True):
                continue
            reason = left_out_folder(here / name)
            if reason is None:
                kept.append(name)
            else:
                yield Skipped(f"{here / name}/", reason)
        subdirs[:] = kept
        for name in sorted(names):
            if rules.ignored(here / name, is_dir=False):
                continue
            yield Skipped(str(here / name), "hidden") if name.startswith(".") else here / name


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
    """One line naming what ``-f`` left out, e.g. ``-f left out 2 files: logo.png (binary), big.log (over 256 KB)``
    (``... 1 file and 1 folder: .env (hidden), node_modules/ (dependencies)``)."""
    shown = ", ".join(f"{item.path} ({item.reason})" for item in skipped[:limit])
    more = f" and {len(skipped) - limit} more" if len(skipped) > limit else ""
    folders = sum(item.path.endswith("/") for item in skipped)
    counts = [_count(len(skipped) - folders, "file"), _count(folders, "folder")]
    return f"-f left out {' and '.join(count for count in counts if count)}: {shown}{more}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}" if number else ""
