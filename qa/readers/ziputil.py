"""Opening zip-based formats (DOCX, EPUB) without trusting them: sizes are checked before anything is inflated.

A zip bomb declares small members that inflate to gigabytes. Python's zipfile
never returns more than a member's declared size (and fails its CRC check if
the data would run on), so checking the declared sizes bounds the memory any
later reader can use.
"""

from __future__ import annotations

import io
import zipfile
import zlib

from .base import Unreadable

MIB = 1024 * 1024
MAX_MEMBERS = 10_000
# Deflate cannot do better than about 1:1032; XML rarely beats 1:100. A large member
# beyond this ratio is built to inflate, not to be read.
MAX_RATIO = 300


def open_zip(data: bytes, what: str, max_total: int) -> zipfile.ZipFile:
    """The archive, or `Unreadable` if it is damaged, encrypted or would inflate past `max_total` bytes."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, IndexError):
        raise Unreadable(f"damaged {what}, or not a {what} at all (it is not a readable zip archive)") from None
    if len(infos) > MAX_MEMBERS:
        raise Unreadable(f"{what} with {len(infos)} parts, more than a document has (limit {MAX_MEMBERS})")
    total = sum(i.file_size for i in infos)
    if total > max_total:
        raise Unreadable(
            f"{what} would expand to {total / MIB:.0f} MiB, over the {max_total / MIB:.0f} MiB limit "
            "(a zip bomb, or a file packed with media)"
        )
    for i in infos:
        if i.flag_bits & 0x1:
            raise Unreadable(f"encrypted {what} (password-protected); save a copy without the password")
        if i.file_size > MIB and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise Unreadable(f"{what} looks like a zip bomb ({i.filename!r} inflates {i.file_size // max(i.compress_size, 1)}:1)")
    return zf


def read_member(zf: zipfile.ZipFile, name: str, cap: int) -> bytes:
    """One member's bytes, refusing more than `cap` (the declared size may lie low; zipfile then fails the CRC)."""
    try:
        with zf.open(name) as f:
            data = f.read(cap + 1)
    except KeyError:
        raise Unreadable(f"missing part {name!r}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise Unreadable(f"damaged part {name!r} ({exc})") from None
    if len(data) > cap:
        raise Unreadable(f"part {name!r} is larger than {cap // MIB} MiB")
    return data
