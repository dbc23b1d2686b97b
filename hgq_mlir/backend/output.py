"""Writing output files: atomically, only on success, never outside the given paths.

- An existing regular file is replaced atomically (a temporary file in its folder, then
  `os.replace`) and keeps its permission bits; a new file gets the umask's mode (0666 & ~umask).
- A symlink is followed: its target is written (replaced as above).
- A character device (`/dev/null`, a terminal) or a FIFO is written to directly, never
  replaced; a socket, a block device or a directory is refused with a one-line `UserError`.
- `write_folder` writes a build's files into a folder, created only now (when every file's
  contents exist). Files of this build replace their earlier versions. If the folder holds
  an earlier build (a `report.json` naming a `<top>` whose `<top>.json` is there), the files
  of this tool's kinds that this build does not write are removed (`*.v`, `*.json`, `*.xdc`,
  `build_vivado.tcl`, `tb_*`, `*.hex`, the plots `*.png` and `report.html`); other files
  stay (hidden files too). A folder that holds other (non-hidden) files and no earlier build is refused unless `force`; with
  `force` this build's files are written and nothing else is touched.
"""

from __future__ import annotations

import fnmatch
import json
import os
import signal
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path

from hgq_mlir.backend.names import printable
from hgq_mlir.errors import UserError

OWN_KINDS = ("*.v", "*.json", "*.xdc", "build_vivado.tcl", "tb_*", "*.hex", "*.png", "report.html")


def _umask_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def _no_interrupt():
    """SIGINT waits until the block is done (a commit is all or nothing)."""
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    except (AttributeError, ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _write(out, text: str | list[str]) -> None:
    """A file's text, or its pieces in order."""
    if isinstance(text, str):
        out.write(text)
    else:
        out.writelines(text)


class _Plan:
    """One output path: staged into a temporary file (regular or new) or written directly."""

    def __init__(self, path: Path, text: str | list[str]) -> None:
        self.path, self.text = path, text
        self.tmp: str | None = None
        self.direct = False
        self.mode = _umask_mode()
        self.owner: tuple[int, int] | None = None
        shown = printable(str(path))
        try:
            st = os.stat(path)  # follows symlinks
        except FileNotFoundError:
            if os.path.islink(path):
                raise UserError(f"{shown}: a symlink to a missing file") from None
            parent = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(parent):
                raise UserError(f"{shown}: cannot write: folder {printable(parent)} does not exist") from None
            self.target = os.path.abspath(path)
            return
        except OSError as e:
            raise UserError(f"{shown}: cannot write: {e.strerror}") from None
        if stat.S_ISDIR(st.st_mode):
            raise UserError(f"{shown}: is a directory (give a file name)")
        if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            self.direct = True
            self.target = str(path)
            return
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{shown}: is a socket or block device: not written")
        if not os.access(path, os.W_OK):
            raise UserError(f"{shown}: cannot write: permission denied")
        self.target = os.path.realpath(path)
        self.mode = stat.S_IMODE(st.st_mode)
        self.owner = (st.st_uid, st.st_gid)

    def stage(self) -> None:
        if self.direct:
            return
        folder = os.path.dirname(self.target)
        try:
            fd, self.tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(self.target)}.")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                _write(out, self.text)
                os.fchmod(out.fileno(), self.mode)
                if self.owner is not None and os.geteuid() == 0:
                    os.fchown(out.fileno(), *self.owner)
        except OSError as e:
            self.discard()
            raise UserError(f"{printable(str(self.path))}: cannot write: {e.strerror}") from None

    def discard(self) -> None:
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None

    def commit(self) -> None:
        if self.direct:
            try:
                with open(self.target, "w", encoding="utf-8") as out:
                    _write(out, self.text)
            except OSError as e:
                raise UserError(f"{printable(str(self.path))}: cannot write: {e.strerror}") from None
        else:
            os.replace(self.tmp, self.target)
            self.tmp = None


def _commit(plans: list[_Plan], after=None) -> None:
    try:
        for p in plans:
            p.stage()
        with _no_interrupt():
            for p in plans:
                p.commit()
            if after is not None:
                after()
    finally:
        for p in plans:
            p.discard()


def write_file(path: str | os.PathLike, text: str) -> None:
    """Write one output file (see the module docstring)."""
    _commit([_Plan(Path(path), text)])


def _earlier_build(folder: Path) -> bool:
    try:
        report = json.loads((folder / "report.json").read_text())
        top = report["top"]
        return isinstance(top, str) and "/" not in top and (folder / f"{top}.json").is_file()
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _own_kind(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in OWN_KINDS)


def write_folder(out_dir: str | os.PathLike, files: dict[str, str | list[str]], force: bool = False,
                 replace_build: bool = True) -> None:
    """Write `files` (plain names -> text, or its pieces) into `out_dir` (see the module docstring).
    `replace_build=False` adds files to an existing build (nothing is removed)."""
    out = Path(out_dir)
    shown = printable(str(out_dir))
    for name in files:
        if not name or "/" in name or "\0" in name or name.startswith("."):
            raise ValueError(f"write_folder: {name!r} is not a plain file name")
    created: Path | None = None
    stale: list[Path] = []
    if os.path.lexists(out) and not out.is_dir():
        raise UserError(f"{shown}: exists and is not a directory")
    if out.is_dir():
        try:
            entries = [e for e in os.listdir(out) if e not in files and not e.startswith(".")]
        except OSError as e:
            raise UserError(f"{shown}: cannot read the folder: {e.strerror}") from None
        if replace_build and entries:
            if _earlier_build(out):
                stale = [out / e for e in entries if _own_kind(e) and not (out / e).is_dir()]
            elif not force:
                raise UserError(f"{shown}: the folder holds other files ({printable(sorted(entries)[0])}, ...) "
                                "and no earlier build: give an empty or new folder, or --force")
    else:
        parent = out.absolute().parent
        missing = [out.absolute()]
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        try:
            out.mkdir(parents=True)
        except OSError as e:
            raise UserError(f"{shown}: cannot create the folder: {e.strerror}") from None
        created = missing[-1]
    try:
        plans = [_Plan(out / name, text) for name, text in files.items()]

        def remove_stale() -> None:
            for p in stale:
                try:
                    os.unlink(p)
                except OSError:
                    pass

        _commit(plans, remove_stale)
    except BaseException:
        if created is not None:
            _remove_tree_we_made(created)
        raise


def _remove_tree_we_made(top: Path) -> None:
    """Remove folders this call created (empty ones only: nothing else was written there)."""
    for folder in sorted((p for p in [top, *top.rglob("*")] if p.is_dir()), key=lambda p: -len(p.parts)):
        try:
            folder.rmdir()
        except OSError:
            pass
