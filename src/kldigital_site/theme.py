"""The brand theme of ``site.yaml`` (``theme:``): colours checked for contrast, and their CSS.

Input: the brand and accent colours as CSS colour strings (``"#a3092b"``,
``rebeccapurple``, ``rgb(11 107 80)``) and the logo's path. Output: a ``Theme``
(colours as ``#rrggbb``), the text/background pairs the stylesheet makes of them
that fall short of WCAG 2.1 AA (``contrast_problems``), and the small stylesheet
that overrides the default theme's custom properties (``theme_css``).

The pairs are those of ``templates/assets/css/site.css``: wherever it uses
``--brand``, ``--brand-dark``, ``--tint`` or ``--smart`` for text or behind
text, the pair is listed in ``PAIRS``. A new such use in the stylesheet needs
its pair here, or a colour could pass the check and still fail on a page.
Colour parsing, mixing and the WCAG contrast formula come from ColorAide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from coloraide import Color


# The generated stylesheet, linked after the theme's own assets/css/site.css; its name
# among the theme's files (published with a hash in it, render/assets.py).
THEME_CSS = "css/marke.css"
# Normal-size text (badges are 14 px bold, below the "large text" of WCAG).
MINIMUM_CONTRAST = 4.5
WHITE = "#ffffff"
SOFT = "#f4f3f1"  # --soft in site.css: tiles, facts, breadcrumbs


@dataclass(frozen=True, slots=True)
class Theme:
    brand: str  # "#rrggbb"
    accent: str
    logo: str | None = None  # "medien/logo.svg", a path inside content/

    def properties(self) -> dict[str, str]:
        """The custom properties of site.css that follow from the two colours."""
        return {
            "--brand": self.brand,
            # Buttons and the current page: white text on a darker brand.
            "--brand-dark": _mix(self.brand, "black", 0.15),
            # Topic chips: brand text on a faint tint of itself.
            "--tint": _mix(self.brand, "white", 0.93),
            "--smart": self.accent,
        }


@dataclass(frozen=True, slots=True)
class Pair:
    """Text in one colour on a background in another, as the stylesheet uses them."""

    setting: str  # the theme key the pair follows from: "brand" or "accent"
    where: str  # German, for the error message; {text} and {background} are filled in
    text: str  # a custom property ("--brand") or a fixed colour
    background: str


PAIRS = (
    Pair("brand", "Links ({text}) auf Weiß ({background})", "--brand", WHITE),
    Pair("brand", "Links ({text}) auf hellgrauen Flächen ({background})", "--brand", SOFT),
    Pair(
        "brand", "Themen-Schlagworte ({text}) auf ihrer Tönung ({background})", "--brand", "--tint"
    ),
    Pair(
        "brand",
        "weiße Schrift ({text}) auf Schaltflächen ({background}, die Markenfarbe abgedunkelt)",
        WHITE,
        "--brand-dark",
    ),
    Pair(
        "accent",
        "weiße Schrift ({text}) im Smart-City-Kennzeichen ({background})",
        WHITE,
        "--smart",
    ),
)


@dataclass(frozen=True, slots=True)
class ContrastProblem:
    setting: str
    message: str


class NotAColour(ValueError):
    """A value that is no usable CSS colour (German message)."""


def _colour_class() -> type[Color]:
    # coloraide computes tables on import (~0.15 s): only sites with a brand theme
    # pay for it, not every build, `check` and preview start.
    from coloraide import Color

    return Color


def parse_colour(value: str) -> str:
    """A CSS colour as ``#rrggbb``; opaque, and within the colours a screen shows."""
    Color = _colour_class()
    try:
        colour = Color(value.strip())
    except ValueError:
        raise NotAColour(f'„{value}“ ist keine Farbe (z. B. "#a3092b")') from None
    if colour.alpha() < 1:
        raise NotAColour(f"„{value}“ ist durchscheinend; der Kontrast hinge vom Hintergrund ab")
    srgb = colour.convert("srgb")
    if not srgb.in_gamut():
        raise NotAColour(f"„{value}“ liegt außerhalb der Farben, die Bildschirme zeigen (sRGB)")
    return srgb.to_string(hex=True, compress=False)


def contrast_problems(theme: Theme) -> list[ContrastProblem]:
    """Every pair below WCAG AA, with its ratio, in ``PAIRS`` order."""
    colours = theme.properties()
    problems = []
    Color = _colour_class()
    for pair in PAIRS:
        text = colours.get(pair.text, pair.text)
        background = colours.get(pair.background, pair.background)
        ratio = Color(text).contrast(background, method="wcag21")
        if ratio < MINIMUM_CONTRAST:
            problems.append(
                ContrastProblem(
                    pair.setting,
                    "Zu wenig Kontrast: "
                    + pair.where.format(text=text, background=background)
                    + f" ergibt nur {_ratio(ratio)}:1, "
                    # Every pair puts the colour against white or near-white.
                    "WCAG AA verlangt mindestens 4,5:1. Bitte eine dunklere Farbe wählen.",
                )
            )
    return problems


def theme_css(theme: Theme) -> bytes:
    """The stylesheet linked after site.css: the theme's custom properties, nothing else."""
    lines = ["/* From theme: in content/site.yaml (generated by kldigital-site). */", ":root {"]
    lines += [f"  {name}: {value};" for name, value in theme.properties().items()]
    lines.append("}")
    return ("\n".join(lines) + "\n").encode()


def _mix(colour: str, other: str, amount: float) -> str:
    mixed = _colour_class()(colour).mix(other, amount, space="srgb")
    return str(mixed.to_string(hex=True, compress=False))


def _ratio(ratio: float) -> str:
    # Cut, not rounded: 4.47 must not read as "4,5".
    return f"{int(ratio * 100) / 100:.2f}".replace(".", ",")
