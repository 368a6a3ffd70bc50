"""Input files read as streams: JSONL split on "\\n" only, bounded lines, bounded documents, no devices.

`str.splitlines()` also breaks at U+2028, U+2029, U+0085 and other separators that a JSON
string may hold raw, so a record would be cut in two, lost, and every line number after it
shifted. JSON Lines are separated by "\\n" alone, and that is the only split made here.

Nothing is read whole to find a line: a JSONL file is read one line at a time, and a line
(one document) or a text file (one document) longer than `MAX_DOCUMENT_BYTES` is refused
after reading at most that much. Character and block devices (`/dev/zero`) and sockets are
refused before reading; a pipe is read like a file, within the same bound.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
from collections.abc import Iterator
from typing import Any, BinaryIO

from .errors import DocumentError

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # one text file, or one JSONL line: far beyond any article
SKIP_CHUNK = 1024 * 1024  # an over-long line is passed over this much at a time, never held

# Byte-order marks, longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def bom_codec(head: bytes) -> str | None:
    """The codec a byte-order mark at the start of `head` names, or None without one."""
    return next((codec for bom, codec in _BOMS if head.startswith(bom)), None)


def codec_label(codec: str) -> str:
    """How a codec is named in messages ("UTF-8", "UTF-16")."""
    return "UTF-8" if codec == "utf-8-sig" else codec.upper()


def size_text(n: int) -> str:
    """A byte count for messages: "64 MiB", "20.0 GiB"."""
    if n >= 1024**3:
        return f"{n / 1024**3:.1f} GiB"
    return f"{n / 1024**2:.0f} MiB" if n >= 1024**2 else f"{n:,} bytes"


def check_not_device(handle: BinaryIO, name: str) -> os.stat_result:
    """The file's status; a `DocumentError` for a device or socket, which has no end to read to."""
    info = os.fstat(handle.fileno())
    if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) or stat.S_ISSOCK(info.st_mode):
        kind = "socket" if stat.S_ISSOCK(info.st_mode) else "device"
        raise DocumentError(f"{name}: is a {kind}, not a file of documents")
    return info


def read_document_bytes(handle: BinaryIO, name: str, info: os.stat_result | None = None) -> bytes:
    """The whole content of one document's file, refused (unread) when over `MAX_DOCUMENT_BYTES`."""
    limit = MAX_DOCUMENT_BYTES
    if info is not None and stat.S_ISREG(info.st_mode) and info.st_size > limit:
        raise DocumentError(f"{name}: the file is {size_text(info.st_size)}; one document may be at most "
                            f"{size_text(limit)}")
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise DocumentError(f"{name}: more than {size_text(limit)}; one document may be at most {size_text(limit)}")
    return data


def jsonl_lines(handle: io.BufferedReader[Any], name: str) -> Iterator[tuple[int, str | DocumentError]]:
    """Numbered lines of a JSONL file, split on "\\n" only; a line that cannot be read is a `DocumentError`.

    An error numbered 0 is about the whole file.

    UTF-8 by default (a UTF-8 byte-order mark is dropped); UTF-16 and UTF-32 when a byte-order
    mark says so. A file whose first 8 KiB hold a NUL byte without such a mark is binary: one
    error, nothing else read. A line over `MAX_DOCUMENT_BYTES` is skipped with an error, read
    past in chunks rather than held.
    """
    head = handle.peek(8192)[:8192]
    codec = bom_codec(head)
    if codec is None and b"\x00" in head:
        yield 0, DocumentError(f"{name}: binary file, not text", path=name)  # line 0: the whole file
        return
    if codec in (None, "utf-8-sig"):
        yield from utf8_lines(handle, name)
    else:
        yield from _wide_lines(handle, name, str(codec))


def utf8_lines(
    handle: io.BufferedReader[Any], name: str, first_line: int = 1, stop: int | None = None
) -> Iterator[tuple[int, str | DocumentError]]:
    """Numbered lines of UTF-8 JSONL from the handle's position, split on "\n" only, up to byte `stop` (or the end).

    The first line read is numbered `first_line` (a worker reading a share of a big file
    numbers its lines as the whole file would); lines are bounded as in `jsonl_lines`.
    """
    number = first_line - 1
    while stop is None or handle.tell() < stop:
        raw = handle.readline(MAX_DOCUMENT_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_DOCUMENT_BYTES and not raw.endswith(b"\n"):
            _skip_line(handle)
            yield number, DocumentError(f"{name}:{number}: the line is longer than {size_text(MAX_DOCUMENT_BYTES)} "
                                        "(one document may be at most that): skipped", path=name)
            continue
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, DocumentError(f"{name}:{number}: not UTF-8 (invalid byte at offset {exc.start} of the line)",
                                        path=name)


def _skip_line(handle: io.BufferedReader[Any]) -> None:
    while True:
        chunk = handle.readline(SKIP_CHUNK)
        if not chunk or chunk.endswith(b"\n"):
            return


def _wide_lines(handle: io.BufferedReader[Any], name: str, codec: str) -> Iterator[tuple[int, str | DocumentError]]:
    # newline="\n": only "\n" ends a line (no translation, no other separators).
    text = io.TextIOWrapper(handle, encoding=codec, errors="strict", newline="\n")
    limit = MAX_DOCUMENT_BYTES // 2  # characters: at least two bytes each in UTF-16 and UTF-32
    number = 0
    try:
        while True:
            line = text.readline(limit + 1)
            if not line:
                return
            number += 1
            if len(line) > limit and not line.endswith("\n"):
                while (more := text.readline(SKIP_CHUNK)) and not more.endswith("\n"):
                    pass
                yield number, DocumentError(f"{name}:{number}: the line is longer than {size_text(MAX_DOCUMENT_BYTES)}"
                                            ": skipped", path=name)
                continue
            yield number, line
    except UnicodeDecodeError:
        yield number + 1, DocumentError(f"{name}:{number + 1}: not {codec_label(codec)}: the rest of the file is "
                                        "not read", path=name)
    finally:
        text.detach()
