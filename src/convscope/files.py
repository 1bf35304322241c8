"""Writing files safely: whatever is at the path, nothing of the user's is replaced by
surprise and a failure leaves the old file as it was.

What :func:`save_atomic` does with what it finds at the path:

* nothing, or a regular file: the new content goes to a temporary file in the same folder
  (named ``.<name>.convscope-tmp-XXXXXXXX<suffix>``), then a rename replaces the file in one
  step, so that a reader never sees half a file. An existing file keeps its permission
  bits; a read-only file (no write permission bit, or none for this user) is refused;
* a regular file with other hard links: written in place (truncated, then written), since
  a rename would cut it off from its other names; a file owned by another user (root
  writing) keeps its owner and group;
* a symlink: it is followed (through any chain) and the file it points to is written as
  above, in *that* file's folder; the link itself is never replaced. A dangling link
  creates the file it names;
* a FIFO or a character device (``/dev/null``, a terminal): written in place, never
  replaced: opened for writing without creating or truncating anything. A FIFO is opened
  without blocking first, so a FIFO that nobody reads gives a clear error instead of a
  hang; the content is prepared in a temporary file of the system's temporary folder and
  then copied in;
* a block device (a disk) or a socket: refused (a report written over a disk is never
  what was meant, and a socket cannot be opened as a file);
* a folder: refused.

Every failure is a :class:`ConvscopeError` naming the path, what was expected and why it
failed; never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import ConvscopeError

#: the marker in the names of convscope's temporary files (and only of those)
TMP_MARK = ".convscope-tmp-"
_STALE = re.compile(r"\..+" + re.escape(TMP_MARK) + r"[A-Za-z0-9_]{8}(\.[^/]*)?")


def temporary_name_prefix(name: str) -> str:
    return f".{name}{TMP_MARK}"


def _fail(path: str | Path, what: str) -> ConvscopeError:
    return ConvscopeError(f"{path}: cannot write the file: {what}")


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def _refuse_read_only(path: str | Path, st: os.stat_result, real: str) -> None:
    if not st.st_mode & 0o222 or not os.access(real, os.W_OK):
        raise _fail(path, f"it is read-only (mode {stat.filemode(st.st_mode)}); expected a "
                    "writable file: make it writable (chmod u+w) or choose another path")


def save_atomic(path: str | Path, write: Callable[[str], object]) -> Path:
    """Call ``write(temporary_path)``, then put the result at ``path`` (see the module
    docstring for symlinks, FIFOs, devices and read-only files). Returns ``path``."""
    if not str(path):
        raise ConvscopeError("cannot write the file: the path is empty; expected a file name")
    if str(path).endswith(("/", os.sep)) and not os.path.isdir(path):
        raise _fail(path, "the path ends with '/', which names a folder; expected a file name")
    target = Path(path)
    try:
        st: os.stat_result | None = os.stat(target)  # follows symlinks
    except FileNotFoundError:
        st = None
    except OSError as err:  # e.g. a path through a regular file, a symlink loop
        raise _fail(path, f"{_reason(err)}; expected a path to a file in a folder") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise _fail(path, "it is a folder; expected a file name (e.g. "
                    f"{target / ('out' + (target.suffix or '.txt'))})")
    if st is not None and not stat.S_ISREG(st.st_mode):
        _write_in_place(path, target, st, write)
        return target
    real = Path(os.path.realpath(target)) if target.is_symlink() else target
    if st is not None:
        _refuse_read_only(path, st, str(real))
        if st.st_nlink > 1:  # a rename would leave the other names with the old content
            _write_in_place(path, real, st, write)
            return target
    _replace(path, real, write, st)
    return target


def _short(text: str, limit: int) -> str:
    """At most ``limit`` bytes of UTF-8 (names in temporary files stay within NAME_MAX)."""
    return text.encode()[:limit].decode(errors="ignore")


def _replace(path: str | Path, real: Path, write: Callable[[str], object],
             st: os.stat_result | None) -> None:
    """A temporary file beside ``real``, then a rename over it (mode, and the owner when
    root writes another user's file, kept)."""
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=real.parent,
                                   prefix=temporary_name_prefix(_short(real.name, 120)),
                                   suffix=_short(real.suffix, 20) or ".tmp")
    except OSError as err:
        raise _fail(path, f"{_reason(err)} (in the folder {real.parent}); expected a "
                    "folder this user can write into") from None
    try:
        os.close(fd)
        write(tmp)
        if st is None:  # a new file: as an ordinary file, not mkstemp's 0600
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        else:
            mode = stat.S_IMODE(st.st_mode)
            if os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0):
                os.chown(tmp, st.st_uid, st.st_gid)
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except OSError as err:
        raise _fail(path, _reason(err)) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _open_in_place(path: str | Path, target: Path, st: os.stat_result) -> int:
    kind = stat.S_IFMT(st.st_mode)
    if kind == stat.S_IFBLK:
        raise _fail(path, "it is a block device (a disk); convscope writes regular files, "
                    "FIFOs and character devices, and never over a disk")
    if kind == stat.S_IFREG:  # a hard-linked file: truncated and written, links kept
        try:
            return os.open(target, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0))
        except OSError as err:
            raise _fail(path, _reason(err)) from None
    if kind not in (stat.S_IFIFO, stat.S_IFCHR):
        what = "a socket" if kind == stat.S_IFSOCK else "not a regular file"
        raise _fail(path, f"it is {what}; expected a regular file, a FIFO or a character "
                    "device")
    flags = os.O_WRONLY | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    if kind == stat.S_IFIFO:
        flags |= os.O_NONBLOCK  # fails at once (ENXIO) when no process reads the FIFO
    try:
        fd = os.open(target, flags)  # neither O_CREAT nor O_TRUNC: nothing is replaced
    except OSError as err:
        if err.errno == errno.ENXIO and kind == stat.S_IFIFO:
            raise _fail(path, "it is a FIFO that no process is reading; start the reader "
                        "first (convscope does not wait for one)") from None
        raise _fail(path, _reason(err)) from None
    if kind == stat.S_IFIFO:  # the reader is there: write with ordinary blocking writes
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    return fd


def _write_in_place(path: str | Path, target: Path, st: os.stat_result,
                    write: Callable[[str], object]) -> None:
    """A FIFO, a character device or a hard-linked file: the content is prepared in a
    temporary file of the system's temporary folder first, then copied in; the file stays
    what it is (and a failure while preparing leaves it untouched)."""
    tmp = None
    try:
        tmp_fd, tmp = tempfile.mkstemp(prefix=temporary_name_prefix(_short(target.name, 120)),
                                       suffix=_short(target.suffix, 20) or ".tmp")
        os.close(tmp_fd)
        write(tmp)
        fd = _open_in_place(path, target, st)
        try:
            with open(tmp, "rb") as source:
                while chunk := source.read(1 << 16):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    except OSError as err:
        raise _fail(path, _reason(err)) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def remove_stale_temporaries(folder: Path) -> None:
    """Temporary files left by a convscope process killed in the middle of a write: only
    regular files named ``.<name>.convscope-tmp-XXXXXXXX[.suffix]``, never anything else
    (a user's hidden ``.<name>.*`` file, an editor's swap file, a symlink)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for stale in entries:
        if _STALE.fullmatch(stale.name) and stale.is_file() and not stale.is_symlink():
            with contextlib.suppress(OSError):
                stale.unlink()


def write_text_atomic(path: str | Path, text: str) -> Path:
    return save_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
