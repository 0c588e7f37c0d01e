"""``make bench``, photo part: the image stage against a plain Pillow script.

On top of the 1,000-item corpus (bench/corpus.py) it paints ``--photos`` camera-sized
JPEGs (4000 × 3000, tools/photos.py, cached in bench/work/) and gives every tenth
release three of them as press photos. It measures, each build in a fresh process:

- the cold build's image stage (``BuildResult.timings["media"]``) against a plain
  Pillow script that makes the same variants (same widths, formats, qualities, social
  crop, draft mode) over the same number of processes, in the same run (target:
  within 1.3 × of it);
- the no-op build with the photos against the same corpus without them (target:
  +0.2 s at most);
- the peak memory of the cold build with photos (largest process; target: under
  300 MB).

    python bench/photos.py --items 1000 --photos 300
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from multiprocessing import Pool
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

import PIL  # noqa: E402
from bench.corpus import generate  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402
from tools.photos import SCENES, paint  # noqa: E402

from kldigital_site.media.variants import (  # noqa: E402
    JPEG_OPTIONS,
    OG_SIZE,
    WEBP_OPTIONS,
    target_widths,
)

PHOTO_SIZE = (4000, 3000)


def _paint_one(args: tuple[int, Path]) -> None:
    number, target = args
    if target.is_file():
        return
    # Painted small and scaled up, then grain at full size: decodes and encodes like
    # a camera JPEG (about 2 MB), made in a fraction of the time.
    small = paint(SCENES[number % len(SCENES)], number, (1000, 750))
    image = small.resize(PHOTO_SIZE, Image.Resampling.BICUBIC)
    grain = Image.effect_noise(PHOTO_SIZE, 10).convert("RGB")
    image = Image.blend(image, grain, 0.05)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    target.write_bytes(buffer.getvalue())


def make_photos(count: int, folder: Path, jobs: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"foto-{n:04d}.jpg" for n in range(count)]
    with Pool(jobs) as pool:
        pool.map(_paint_one, list(enumerate(paths)), chunksize=1)
    return paths


def attach_photos(site: Path, photos: list[Path]) -> None:
    """Copy the photos into medien/ and give every tenth release three of them."""
    media = site / "content" / "medien" / "fotos"
    media.mkdir(parents=True, exist_ok=True)
    for photo in photos:
        target = media / photo.name
        if not target.exists():
            os.link(photo, target)
    releases = sorted((site / "content" / "presse").glob("*.md"))
    groups = [photos[i : i + 3] for i in range(0, len(photos), 3)]
    for release, group in zip(releases[::10], groups, strict=False):
        text = release.read_text(encoding="utf-8")
        head, _, body = text.partition("\n---\n")
        lines = ["images:"]
        for photo in group:
            lines += [
                f"  - src: medien/fotos/{photo.name}",
                "    alt: Ein Platz in der Innenstadt",
                "    caption: Bildunterschrift",
                '    credit: "Foto: Stadt Kaiserslautern / Jana Beispiel"',
            ]
        release.write_text(head + "\n" + "\n".join(lines) + "\n---\n" + body, encoding="utf-8")


def _baseline_one(path: Path) -> None:
    """What a plain Pillow script does for one photo: the same variants, nothing else."""
    with Image.open(path) as image:
        width, height = image.size
        widths = target_widths(width)
        scale = min(1.0, max(max(max(widths), OG_SIZE[0]) / width, OG_SIZE[1] / height))
        image.draft("RGB", (int(width * scale) + 1, int(height * scale) + 1))
        image = ImageOps.exif_transpose(image.convert("RGB"))
    current = image
    for w in sorted(widths, reverse=True):
        current = current.resize((w, round(image.height * w / image.width)), Image.LANCZOS)
        current.save(io.BytesIO(), "WEBP", **WEBP_OPTIONS)
        current.save(io.BytesIO(), "JPEG", **JPEG_OPTIONS)
    crop = ImageOps.fit(image, OG_SIZE, Image.LANCZOS, centering=(0.5, 0.4))
    crop.save(io.BytesIO(), "JPEG", **JPEG_OPTIONS)


def baseline(photos: list[Path], jobs: int) -> float:
    started = time.perf_counter()
    with Pool(jobs) as pool:
        pool.map(_baseline_one, photos, chunksize=1)
    return time.perf_counter() - started


_PROBE = textwrap.dedent(
    """
    import datetime as dt, json, resource, sys, time
    from pathlib import Path
    from kldigital_site.build import build
    from kldigital_site.config import load_config
    site, templates, output = (Path(a) for a in sys.argv[1:4])
    jobs = int(sys.argv[4])
    started = time.perf_counter()
    config = load_config(site / "content", templates, output)
    result = build(config, now=dt.datetime.now(dt.timezone.utc), jobs=jobs)
    elapsed = time.perf_counter() - started
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(json.dumps({"total": elapsed, "media": result.timings.get("media", 0.0),
                      "decoded": len(result.decoded), "memory_mb": peak}))
    """
)


def run_build(site: Path, templates: Path, output: Path, jobs: int) -> dict[str, float]:
    command = [sys.executable, "-c", _PROBE, str(site), str(templates), str(output), str(jobs)]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(command, capture_output=True, text=True, cwd=site, env=env)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _clean(site: Path, output: Path) -> None:
    shutil.rmtree(output, ignore_errors=True)
    shutil.rmtree(site / ".kldigital-cache", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workdir", type=Path, default=HERE / "work")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS-photos.md")
    args = parser.parse_args()
    work, jobs = args.workdir, args.jobs
    work.mkdir(parents=True, exist_ok=True)
    templates = work / "templates-photos"
    shutil.rmtree(templates, ignore_errors=True)
    shutil.copytree(REPO / "templates", templates)

    print(f"== {args.photos} Fotos {PHOTO_SIZE[0]} × {PHOTO_SIZE[1]} malen …", flush=True)
    photos = make_photos(args.photos, work / "photo-corpus", jobs)
    size_mb = sum(p.stat().st_size for p in photos) / 1e6
    plain, with_photos = work / f"site-{args.items}-plain", work / f"site-{args.items}-photos"
    generate(args.items, plain)
    generate(args.items, with_photos)
    attach_photos(with_photos, photos)

    figures: dict[str, list[float]] = {}

    def note(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)
        print(f"   {name}: {value:.2f}", flush=True)

    for _ in range(args.runs):
        note("Pillow-Skript (gleiche Varianten)", baseline(photos, jobs))
        out = work / "output-photos"
        _clean(with_photos, out)
        cold = run_build(with_photos, templates, out, jobs)
        note("kalt: Bildstufe", cold["media"])
        note("kalt: gesamt", cold["total"])
        note("Speicher (MB)", cold["memory_mb"])
        noop = run_build(with_photos, templates, out, jobs)
        assert noop["decoded"] == 0, noop
        note("unverändert mit Fotos", noop["total"])
        out_plain = work / "output-plain"
        if not out_plain.exists():
            run_build(plain, templates, out_plain, jobs)
        note("unverändert ohne Fotos", run_build(plain, templates, out_plain, jobs)["total"])

    median = {name: statistics.median(values) for name, values in figures.items()}
    ratio = median["kalt: Bildstufe"] / median["Pillow-Skript (gleiche Varianten)"]
    extra = median["unverändert mit Fotos"] - median["unverändert ohne Fotos"]
    lines = [
        "# Benchmark: photos",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, Pillow {PIL.__version__}; "
        f"`--jobs {jobs}`; median of {args.runs} run(s); written by `make bench`.",
        f"System load (1-minute average) when the run ended: {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs; the ratios, measured in the same run, say more than the seconds.",
        "",
        f"Corpus: {args.items} items plus {len(photos)} JPEGs of {PHOTO_SIZE[0]} × "
        f"{PHOTO_SIZE[1]} px ({size_mb:.0f} MB), three press photos on every tenth release.",
        "",
        "| figure | value | target |",
        "|---|---:|---|",
        f"| plain Pillow script, same variants, {jobs} processes | "
        f"{median['Pillow-Skript (gleiche Varianten)']:.2f} s | |",
        f"| cold build: image stage | {median['kalt: Bildstufe']:.2f} s "
        f"({ratio:.2f} × the script) | ≤ 1.3 × |",
        f"| cold build: total | {median['kalt: gesamt']:.2f} s | |",
        f"| no-op build with photos | {median['unverändert mit Fotos']:.2f} s | |",
        f"| no-op build without photos | {median['unverändert ohne Fotos']:.2f} s | |",
        f"| no-op: cost of the photos | {extra:+.2f} s | ≤ +0.2 s |",
        f"| peak memory, cold build with photos | {median['Speicher (MB)']:.0f} MB | < 300 MB |",
        "",
    ]
    args.results.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
