#!/usr/bin/env python3
"""Draws Fieldbrief's app icon (a note with summary lines on a teal tile) as a 1024x1024 PNG,
with nothing but the standard library. `npx tauri icon` turns it into the bundle icons:

    python3 assets/icons/make-icon.py /tmp/icon.png && (cd ui && npx tauri icon /tmp/icon.png -o ../assets/icons)
"""
import struct
import sys
import zlib

N = 1024
SS = 4  # supersampling per axis, for smooth edges


def rounded(x, y, x0, y0, x1, y1, r):
    if x < x0 or x > x1 or y < y0 or y > y1:
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def colour(x, y):
    # Tile.
    if not rounded(x, y, 64, 64, 960, 960, 200):
        return None
    # The page, with a folded corner.
    if rounded(x, y, 270, 190, 754, 834, 40) and not (x > 620 and y < 190 + (x - 620)):
        # Summary lines: one accent line, then three plain ones.
        for i, (x1, accent) in enumerate([(690, True), (690, False), (640, False), (560, False)]):
            ly = 330 + i * 110
            if rounded(x, y, 334, ly, x1, ly + 44, 22):
                return (224, 122, 31) if accent else (60, 76, 92)
        return (248, 250, 251)
    t = y / N
    return (int(18 + 10 * t), int(110 - 30 * t), int(120 - 25 * t))


def main(path):
    rows = []
    for py in range(N):
        row = bytearray([0])
        for px in range(N):
            acc = [0, 0, 0, 0]
            for sy in range(SS):
                for sx in range(SS):
                    c = colour(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS)
                    if c:
                        acc[0] += c[0]; acc[1] += c[1]; acc[2] += c[2]; acc[3] += 255
            n = SS * SS
            a = acc[3] // n
            if a:
                k = acc[3] // 255
                row += bytes([acc[0] // k, acc[1] // k, acc[2] // k, a])
            else:
                row += bytes(4)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", N, N, 8, 6, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "icon.png")
