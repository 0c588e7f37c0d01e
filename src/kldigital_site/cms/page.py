"""The admin page, its Content-Security-Policy and the Decap bundle it loads.

Input: the site root (where ``make cms`` put the bundle) and the hosts the CMS
may talk to. Output: the HTML of ``/admin/`` (or, without the bundle, a German
page that says what to install), the CSP header of everything under
``/admin/``, and the bundle's files by name.

The bundle is the npm package ``decap-cms`` at the version pinned in
``cms/install.sh``, installed into ``cms/decap/``: nothing comes from a CDN.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from pathlib import Path

BUNDLE_SCRIPT = "decap-cms.js"
OWN_SCRIPT = "kldigital-cms.js"
_BUNDLE_NAME = re.compile(r"^(?:\d+\.)?decap-cms\.js$|^[0-9a-f]+\.wasm$|^LICENSE$|^[\w.-]+\.txt$")
_TOOL_REPO = Path(__file__).resolve().parents[3]


def bundle_dir(site_root: Path) -> Path | None:
    """Where ``make cms`` installed Decap: the site's checkout, else the tool's."""
    for root in (site_root, _TOOL_REPO):
        folder = root / "cms" / "decap"
        if (folder / BUNDLE_SCRIPT).is_file():
            return folder
    return None


def bundle_file(bundle: Path, name: str) -> Path | None:
    """A file of the bundle by its name; only names the bundle is made of."""
    if not _BUNDLE_NAME.match(name):
        return None
    path = bundle / name
    return path if path.is_file() else None


def content_security_policy(connect: Iterable[str] = (), *, meta: bool = False) -> str:
    """The CSP of /admin/: what Decap needs, and no other host than ``connect``.

    Decap compiles its configuration schema at run time (``unsafe-eval``),
    styles its components with inline styles (emotion), shows uploads as
    ``blob:`` and ``data:`` images and renders the preview in a frame; the
    public pages forbid all of that and keep their own, stricter policy.
    ``meta``: for a ``<meta>`` tag, which cannot carry ``frame-ancestors``.
    """
    hosts = " ".join(sorted(set(connect)))
    extra = f" {hosts}" if hosts else ""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob:{extra}",
            "media-src 'self' blob:",
            "font-src 'self' data:",
            f"connect-src 'self'{extra}",
            "frame-src 'self' blob:",
            "worker-src 'self' blob:",
            "manifest-src 'self'",
            "base-uri 'self'",
            "form-action 'none'",
            *(() if meta else ("frame-ancestors 'none'",)),
        )
    )


def admin_page(site_title: str) -> str:
    title = html.escape(f"Redaktion – {site_title}")
    return f"""<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{title}</title>
<link rel="icon" href="data:,">
<link href="config.yml" type="text/yaml" rel="cms-config-url">
</head>
<body>
<script src="{BUNDLE_SCRIPT}"></script>
<script src="{OWN_SCRIPT}"></script>
</body>
</html>
"""


# Decap makes a new entry's file name from its title with lodash's deburr
# ("Bürgerbüro" → "burgerburo"); the contract transliterates (ä → ae, ß → ss,
# slugs.py). Filling the optional ``slug`` field before the first save, which
# is the collections' identifier_field, gives the file name and the URL the
# site would give. Served as a file: the admin CSP allows no inline script.
ADMIN_SCRIPT = """// kldigital-site: German slugs for new entries (as slugs.py makes them).
(function () {
  "use strict";
  var letters = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                 "ß": "ss", "ẞ": "SS"};
  function slugify(text) {
    return String(text).normalize("NFC")
      .replace(/[äöüÄÖÜßẞ]/g, function (c) { return letters[c]; })
      .normalize("NFKD").replace(/[^\\x00-\\x7f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  }
  window.CMS.registerEventListener({
    name: "preSave",
    handler: function (event) {
      var entry = event.entry;
      var data = entry.get("data");
      if (entry.get("newRecord") && !data.get("slug") && data.get("title")) {
        return data.set("slug", slugify(data.get("title")));
      }
      return data;
    }
  });
})();
"""

MISSING_BUNDLE_PAGE = """<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Redaktion – Decap CMS fehlt</title>
</head>
<body>
<main>
<h1>Die Redaktionsoberfläche ist noch nicht installiert</h1>
<p>Für das Bearbeiten im Browser braucht die Vorschau das Programm
<strong>Decap CMS</strong>. Es wird einmalig aus dem npm-Verzeichnis geladen,
nicht bei jedem Aufruf aus dem Internet.</p>
<p>So wird es installiert (im Ordner der Website, mit <code>npm</code>;
unter Debian/Ubuntu: <code>sudo apt-get install npm</code>):</p>
<pre><code>make cms</code></pre>
<p>Danach diese Seite neu laden. Bis dahin lassen sich alle Inhalte weiterhin
als Dateien im Ordner <code>content/</code> bearbeiten.</p>
</main>
</body>
</html>
"""
