"""Draw LiveOne's mark (a sun over a battery holding a bolt) as SVG and render the PNGs with Pillow."""

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "custom_components" / "liveone" / "brand"
SUN = "#F9A825"
THEMES = {
    "": {"body": "#1E5AA8", "text": "#1E5AA8", "fill": "#1E5AA81A"},
    "dark_": {"body": "#64B5F6", "text": "#E3F2FD", "fill": "#64B5F633"},
}
# Geometry on a 256x256 canvas.
BODY = (38, 112, 198, 232)  # battery body (outer edge of the stroke box centre line)
BODY_R, STROKE = 20, 14
TERM = (198, 150, 218, 194)
BOLT = [(138, 126), (100, 178), (126, 178), (114, 222), (160, 164), (134, 164), (150, 126)]
SUN_C, SUN_R, RAY_IN, RAY_OUT, RAY_W = (128, 58), 24, 34, 48, 10
RAYS = [a for a in range(0, 360, 45) if a != 270]  # none pointing straight down into the battery


def rays():
    for a in RAYS:
        t = math.radians(a)
        yield (
            (SUN_C[0] + RAY_IN * math.cos(t), SUN_C[1] - RAY_IN * math.sin(t)),
            (SUN_C[0] + RAY_OUT * math.cos(t), SUN_C[1] - RAY_OUT * math.sin(t)),
        )


def svg_mark(theme):
    c = THEMES[theme]
    x0, y0, x1, y1 = BODY
    parts = [
        f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="{BODY_R}" fill="{c["fill"]}" stroke="{c["body"]}" stroke-width="{STROKE}"/>',
        f'<rect x="{TERM[0]}" y="{TERM[1]}" width="{TERM[2] - TERM[0]}" height="{TERM[3] - TERM[1]}" rx="6" fill="{c["body"]}"/>',
        '<polygon points="' + " ".join(f"{x},{y}" for x, y in BOLT) + f'" fill="{SUN}"/>',
        f'<circle cx="{SUN_C[0]}" cy="{SUN_C[1]}" r="{SUN_R}" fill="{SUN}"/>',
    ]
    for (ax, ay), (bx, by) in rays():
        parts.append(
            f'<line x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by:.1f}" stroke="{SUN}" stroke-width="{RAY_W}" stroke-linecap="round"/>'
        )
    return "\n  ".join(parts)


def hexa(color):
    color = color.lstrip("#")
    vals = [int(color[i : i + 2], 16) for i in range(0, len(color), 2)]
    return tuple(vals) if len(vals) == 4 else (*vals, 255)


def draw_mark(img, theme, scale, ox=0, oy=0):
    c = THEMES[theme]
    d = ImageDraw.Draw(img)
    S = lambda v: v * scale
    x0, y0, x1, y1 = BODY
    h = STROKE / 2
    d.rounded_rectangle(
        [S(x0 - h) + ox, S(y0 - h) + oy, S(x1 + h) + ox, S(y1 + h) + oy],
        radius=S(BODY_R + h),
        fill=hexa(c["body"]),
    )
    d.rounded_rectangle(
        [S(x0 + h) + ox, S(y0 + h) + oy, S(x1 - h) + ox, S(y1 - h) + oy],
        radius=S(BODY_R - h),
        fill=(0, 0, 0, 0),
    )
    # the translucent fill inside
    inner = Image.new("RGBA", img.size, (0, 0, 0, 0))
    ImageDraw.Draw(inner).rounded_rectangle(
        [S(x0 + h) + ox, S(y0 + h) + oy, S(x1 - h) + ox, S(y1 - h) + oy],
        radius=S(BODY_R - h),
        fill=hexa(c["fill"]),
    )
    img.alpha_composite(inner)
    d = ImageDraw.Draw(img)
    d.rounded_rectangle(
        [S(TERM[0]) + ox, S(TERM[1]) + oy, S(TERM[2]) + ox, S(TERM[3]) + oy],
        radius=S(6),
        fill=hexa(c["body"]),
    )
    d.polygon([(S(x) + ox, S(y) + oy) for x, y in BOLT], fill=hexa(SUN))
    cx, cy = SUN_C
    d.ellipse(
        [S(cx - SUN_R) + ox, S(cy - SUN_R) + oy, S(cx + SUN_R) + ox, S(cy + SUN_R) + oy], fill=hexa(SUN)
    )
    for (ax, ay), (bx, by) in rays():
        d.line([S(ax) + ox, S(ay) + oy, S(bx) + ox, S(by) + oy], fill=hexa(SUN), width=round(S(RAY_W)))
        for px, py in ((ax, ay), (bx, by)):
            r = S(RAY_W / 2)
            d.ellipse([S(px) + ox - r, S(py) + oy - r, S(px) + ox + r, S(py) + oy + r], fill=hexa(SUN))


# The mark's bounding box on the 256 canvas, used to trim and centre.
MX0, MY0, MX1, MY1 = 31, 5, 218, 239
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def icon(theme, size):
    ss = 4
    big = size * ss
    span = max(MX1 - MX0, MY1 - MY0)
    scale = big * 0.98 / span
    ox = (big - (MX1 - MX0) * scale) / 2 - MX0 * scale
    oy = (big - (MY1 - MY0) * scale) / 2 - MY0 * scale
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw_mark(img, theme, scale, ox, oy)
    return img.resize((size, size), Image.LANCZOS)


def logo(theme, height):
    ss = 4
    H = height * ss
    scale = H / (MY1 - MY0)
    mark_w = (MX1 - MX0) * scale
    font = ImageFont.truetype(FONT, int(H * 0.52))
    text = "LiveOne"
    tb = font.getbbox(text)
    gap = H * 0.12
    W = int(mark_w + gap + (tb[2] - tb[0]) + 2)
    img = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    draw_mark(img, theme, scale, -MX0 * scale, -MY0 * scale)
    d = ImageDraw.Draw(img)
    ty = (H - (tb[3] - tb[1])) / 2 - tb[1]
    d.text((mark_w + gap - tb[0], ty), text, font=font, fill=hexa(THEMES[theme]["text"]))
    return img.resize((round(W / ss), height), Image.LANCZOS), W / ss


for theme in THEMES:
    icon(theme, 256).save(OUT / f"{theme}icon.png", optimize=True)
    icon(theme, 512).save(OUT / f"{theme}icon@2x.png", optimize=True)
    img, _ = logo(theme, 128)
    img.save(OUT / f"{theme}logo.png", optimize=True)
    img, _ = logo(theme, 256)
    img.save(OUT / f"{theme}logo@2x.png", optimize=True)
    mark = svg_mark(theme)
    vb = f"{MX0} {MY0} {MX1 - MX0} {MY1 - MY0}"
    (OUT / f"{theme}icon.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{vb}" width="256" height="256">\n'
        f"  <!-- LiveOne: a sun over a battery holding a bolt. PNGs are rendered from this geometry. -->\n  {mark}\n</svg>\n"
    )
    h = MY1 - MY0
    tw = 0.52 * h * 3.9
    (OUT / f"{theme}logo.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{MX0} {MY0} {MX1 - MX0 + 0.12 * h + tw:.0f} {h}">\n  {mark}\n'
        f'  <text x="{MX1 + 0.12 * h:.0f}" y="{MY0 + h * 0.69:.0f}" font-family="DejaVu Sans, Verdana, sans-serif" '
        f'font-weight="bold" font-size="{0.52 * h:.0f}" fill="{THEMES[theme]["text"]}">LiveOne</text>\n</svg>\n'
    )
print(sorted(p.name for p in OUT.iterdir()))
