"""Check 8: brand images."""

from __future__ import annotations

from pathlib import Path
import struct
import zlib

from .core import Integration, Report

# ---- 8. brand images ----------------------------------------------------------------------------------------

# name -> (min width, max width, min height, max height); icons are square.
BRAND_FILES: dict[str, tuple[int, int, int, int]] = {
    "icon.png": (256, 256, 256, 256),
    "icon@2x.png": (512, 512, 512, 512),
    "logo.png": (128, 1024, 128, 256),
    "logo@2x.png": (256, 2048, 256, 512),
}
OPTIONAL_DARK = ("dark_icon.png", "dark_icon@2x.png", "dark_logo.png", "dark_logo@2x.png")


def png_info(path: Path) -> tuple[int, int, int] | str:
    """Return (width, height, color type) of a PNG after checking its chunks' CRCs, or why it is invalid."""
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "is not a PNG (bad signature)"
    offset, header, seen_end, has_data = 8, None, False, False
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        crc_bytes = data[offset + 8 + length : offset + 12 + length]
        if len(body) != length or len(crc_bytes) != 4:
            return "is truncated"
        if zlib.crc32(kind + body) != struct.unpack(">I", crc_bytes)[0]:
            return f"has a corrupt {kind.decode('latin-1')} chunk"
        if kind == b"IHDR":
            header = struct.unpack(">IIBB", body[:10])
        has_data |= kind == b"IDAT"
        offset += 12 + length
        if kind == b"IEND":
            seen_end = True
            break
    if header is None or not has_data or not seen_end:
        return "is incomplete (no IHDR, IDAT or IEND)"
    width, height, _depth, color_type = header
    return width, height, color_type


def check_brand(integration: Integration, report: Report) -> None:
    """Check the brand images HA 2026.3+ shows for custom integrations (custom_components/X/brand/)."""
    check = "brand"
    folder = integration.path / "brand"
    for name in (*BRAND_FILES, *OPTIONAL_DARK):
        path = folder / name
        rel = integration.rel(path)
        light = name.removeprefix("dark_")
        if not path.is_file():
            if name in BRAND_FILES:
                report.add(check, rel, "is missing")
            continue
        info = png_info(path)
        if isinstance(info, str):
            report.add(check, rel, info)
            continue
        width, height, color_type = info
        min_w, max_w, min_h, max_h = BRAND_FILES[light]
        if light.startswith("icon") and (width, height) != (min_w, min_h):
            report.add(check, rel, f"is {width}x{height}; it must be {min_w}x{min_h}")
        elif light.startswith("logo"):
            shortest = min(width, height)
            if not min_h <= shortest <= max_h:
                report.add(
                    check, rel, f"is {width}x{height}; its shortest side must be {min_h} to {max_h} pixels"
                )
            if width > max_w:
                report.add(check, rel, f"is {width} pixels wide; at most {max_w}")
        if color_type not in {4, 6}:
            report.add(check, rel, "has no alpha channel; brand images need a transparent background")
    if folder.is_dir() and not any(folder.glob("*.svg")):
        report.add(check, integration.rel(folder), "keep the SVG source of the images beside them")
