"""Tollway's favicon: a blue rounded square with a white "T", drawn here as a 32×32 PNG inside an
ICO container, so that no page logs a 404 for ``/favicon.ico`` and no binary file is shipped."""

from __future__ import annotations

import struct
import zlib

SIZE = 32
BLUE = (27, 100, 218, 255)
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)


def _pixel(x: int, y: int) -> tuple[int, int, int, int]:
    radius = 7
    cx = min(max(x, radius), SIZE - 1 - radius)
    cy = min(max(y, radius), SIZE - 1 - radius)
    if (x - cx) ** 2 + (y - cy) ** 2 > radius**2:
        return CLEAR
    if (7 <= y <= 11 and 7 <= x <= 24) or (7 <= y <= 25 and 14 <= x <= 17):
        return WHITE
    return BLUE


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png() -> bytes:
    rows = b"".join(b"\x00" + b"".join(bytes(_pixel(x, y)) for x in range(SIZE)) for y in range(SIZE))
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")
    )


def ico() -> bytes:
    image = png()
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(image), 22) + image


FAVICON = ico()
