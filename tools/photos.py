"""Photo-like pictures painted by Pillow: sample content and the benchmark's photo corpus.

Input: a scene name, a seed and a size. Output: an RGB ``Image`` of a street, a
square, a hall or a park — sky, buildings with windows, trees, people, light
and grain — that a JPEG encoder treats like a photograph (nothing can be
downloaded here, and a flat test pattern would compress and decode unlike a photo).
"""

from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageFilter

SCENES = ("street", "square", "hall", "park", "evening")

_FACADES = ["#c9b79c", "#d8cfc0", "#b4875d", "#e2d6b8", "#9c8f84", "#c4a484", "#a3092b"]


def paint(scene: str, seed: int, size: tuple[int, int] = (1440, 960)) -> Image.Image:
    rng = random.Random(f"{scene}:{seed}")
    width, height = size
    evening = scene == "evening"
    indoor = scene == "hall"
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    horizon = int(height * rng.uniform(0.52, 0.62))

    top, bottom = (
        ((38, 52, 96), (236, 150, 92))
        if evening
        else ((92, 94, 98), (150, 150, 146))
        if indoor
        else ((96, 150, 214), (206, 226, 242))
    )
    for y in range(horizon):
        t = y / max(1, horizon)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    if not indoor:
        for _ in range(rng.randint(2, 5)):  # clouds
            cx, cy = rng.uniform(0, width), rng.uniform(0, horizon * 0.5)
            for _ in range(6):
                r = rng.uniform(0.03, 0.07) * width
                ox, oy = rng.uniform(-2, 2) * r, rng.uniform(-0.4, 0.4) * r
                shade = 250 if not evening else 200
                draw.ellipse(
                    [cx + ox - r, cy + oy - r * 0.6, cx + ox + r, cy + oy + r * 0.6],
                    fill=(shade, shade, shade - 5),
                )

    # Buildings along the horizon, or the hall's shelves.
    x = -rng.uniform(0, 0.1) * width
    while x < width:
        w = rng.uniform(0.08, 0.2) * width
        h = rng.uniform(0.2, 0.45) * height
        colour = (
            rng.choice(_FACADES) if not indoor else rng.choice(["#6d6a66", "#7b746b", "#5d6168"])
        )
        draw.rectangle([x, horizon - h, x + w, horizon], fill=colour)
        draw.polygon(
            [
                (x - 4, horizon - h),
                (x + w / 2, horizon - h - rng.uniform(0.03, 0.09) * height),
                (x + w + 4, horizon - h),
            ],
            fill="#5b3a32" if not indoor else "#4a4a4a",
        )
        step_x, step_y = w / rng.randint(3, 6), h / rng.randint(3, 6)
        window = (255, 214, 120) if evening else (70, 90, 120) if not indoor else (180, 120, 60)
        for wx in range(int(w // step_x)):
            for wy in range(int(h // step_y) - 1):
                if rng.random() < 0.85:
                    left, up = (
                        x + wx * step_x + step_x * 0.25,
                        horizon - h + wy * step_y + step_y * 0.3,
                    )
                    draw.rectangle([left, up, left + step_x * 0.5, up + step_y * 0.45], fill=window)
        x += w + rng.uniform(0, 0.02) * width

    # Ground: pavement with perspective lines.
    ground = (70, 66, 62) if evening else (128, 124, 118) if not indoor else (150, 146, 140)
    draw.rectangle([0, horizon, width, height], fill=ground)
    for i in range(-12, 13):
        draw.line(
            [(width / 2 + i * width * 0.02, horizon), (width / 2 + i * width * 0.25, height)],
            fill=tuple(c - 12 for c in ground),
            width=max(1, width // 600),
        )
    for j in range(1, 14):
        y = horizon + (height - horizon) * (j / 14) ** 1.7
        draw.line(
            [(0, y), (width, y)], fill=tuple(c - 10 for c in ground), width=max(1, width // 800)
        )

    if scene in ("park", "square", "street"):
        for _ in range(rng.randint(3, 7)):  # trees
            tx = rng.uniform(0, width)
            base = horizon + rng.uniform(0.02, 0.25) * height
            scale = (base - horizon) / height + 0.15
            trunk = scale * height * 0.35
            draw.rectangle([tx - scale * 10, base - trunk, tx + scale * 10, base], fill="#4b3621")
            for _ in range(14):
                r = rng.uniform(0.4, 0.8) * scale * height * 0.25
                ox, oy = rng.uniform(-1, 1) * r, rng.uniform(-1.2, 0.2) * r
                g = rng.randint(90, 150)
                draw.ellipse(
                    [tx + ox - r, base - trunk + oy - r, tx + ox + r, base - trunk + oy + r],
                    fill=(40, g, 50),
                )

    for _ in range(rng.randint(4, 10)):  # people: near ones larger
        px = rng.uniform(0.05, 0.95) * width
        base = horizon + rng.uniform(0.05, 0.4) * height
        s = (base - horizon) / height * 1.6 + 0.05
        body = rng.choice(["#1f3b73", "#7a1f2b", "#2f5d3a", "#d9a441", "#333333", "#8a8f98"])
        draw.rectangle([px - s * 28, base - s * 260, px + s * 28, base - s * 110], fill=body)
        draw.rectangle([px - s * 22, base - s * 110, px + s * 22, base], fill="#2a2a30")
        draw.ellipse(
            [px - s * 22, base - s * 310, px + s * 22, base - s * 262],
            fill=rng.choice(["#e0b48f", "#8d5a3b", "#c68e62", "#f1d0b0"]),
        )
    if scene in ("street", "hall"):  # a cargo bike
        bx, by, s = rng.uniform(0.25, 0.6) * width, horizon + 0.3 * height, width / 1400
        for wx in (bx, bx + 260 * s):
            draw.ellipse(
                [wx - 45 * s, by - 45 * s, wx + 45 * s, by + 45 * s],
                outline="#111111",
                width=int(8 * s) or 1,
            )
        draw.rectangle([bx - 60 * s, by - 130 * s, bx + 110 * s, by - 40 * s], fill="#0b6b50")
        draw.line(
            [(bx + 110 * s, by - 40 * s), (bx + 260 * s, by), (bx + 230 * s, by - 150 * s)],
            fill="#222222",
            width=int(10 * s) or 1,
        )

    image = image.filter(ImageFilter.GaussianBlur(radius=max(0.6, width / 1800)))
    light = Image.radial_gradient("L").resize(size)  # a vignette, as a lens gives
    image = Image.composite(
        image, Image.new("RGB", size, (20, 18, 16)), light.point(lambda v: 255 - v // 3)
    )
    grain = Image.effect_noise(size, 14).convert("RGB")
    return Image.blend(image, grain, 0.06)
