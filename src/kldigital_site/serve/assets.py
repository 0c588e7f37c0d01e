"""The two files the dev server adds to every served page: script and overlay style.

Output: ``LIVERELOAD_JS`` and ``OVERLAY_CSS``, served under ``/__kldigital__/``
by ``serve/server.py`` and never written into a site. Kept in Python strings so the
package needs no data files.

Pages carry a strict Content-Security-Policy without 'unsafe-inline', so the
script is external (``script-src 'self'`` allows it), it builds the overlay
with DOM methods and ``textContent`` (no inline styles, no ``innerHTML``), and
it talks to the server by loading further scripts (a JSONP long-poll) rather
than with ``fetch``, so it works even where ``connect-src`` is locked down.
"""

from __future__ import annotations

PREFIX = "/__kldigital__/"
SCRIPT_URL = PREFIX + "livereload.js"
STYLE_URL = PREFIX + "livereload.css"
POLL_URL = PREFIX + "poll.js"
CALLBACK = "__kldigitalLivereload"

LIVERELOAD_JS = (
    """\
/* kldigital-site serve: reloads this tab after every rebuild and shows build
   errors over the last good page. Injected by the dev server only. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || window.CALLBACK) { return; }
  var site = me.getAttribute("data-site");
  var state = -1;
  var retry = 500;
  var hidden = false;

  function poll() {
    var s = document.createElement("script");
    s.src = "POLL_URL?since=" + encodeURIComponent(state) + "&t=" + Date.now();
    s.async = true;
    s.onload = function () { s.remove(); };
    s.onerror = function () {
      // Server stopped or restarting: try again, ever more slowly.
      s.remove();
      retry = Math.min(retry * 2, 5000);
      window.setTimeout(poll, retry);
    };
    document.head.appendChild(s);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function stylesheet() {
    if (document.getElementById("kldigital-dev-style")) { return; }
    var link = document.createElement("link");
    link.id = "kldigital-dev-style";
    link.rel = "stylesheet";
    link.href = "STYLE_URL";
    document.head.appendChild(link);
  }

  function show(problems) {
    var old = document.getElementById("kldigital-dev-overlay");
    if (old) { old.remove(); }
    if (!problems.length || hidden) { return; }
    stylesheet();
    var box = el("div", "kldigital-dev-overlay");
    box.id = "kldigital-dev-overlay";
    box.setAttribute("role", "alert");
    var inner = el("div", "kldigital-dev-box");
    inner.appendChild(el("h2", "kldigital-dev-title",
      problems.length === 1 ? "Fehler beim Erzeugen der Website"
                            : problems.length + " Fehler beim Erzeugen der Website"));
    inner.appendChild(el("p", "kldigital-dev-text",
      "Die Vorschau zeigt den letzten fehlerfreien Stand. Sobald die Datei " +
      "korrigiert und gespeichert ist, verschwindet diese Meldung von selbst."));
    var list = el("ul", "kldigital-dev-list");
    problems.forEach(function (p) {
      var item = el("li", "kldigital-dev-problem");
      item.appendChild(el("code", "kldigital-dev-where", p.where));
      item.appendChild(document.createTextNode(": " + p.message));
      list.appendChild(item);
    });
    inner.appendChild(list);
    var close = el("button", "kldigital-dev-close", "Ausblenden");
    close.type = "button";
    close.addEventListener("click", function () { hidden = true; box.remove(); });
    inner.appendChild(close);
    box.appendChild(inner);
    document.body.insertBefore(box, document.body.firstChild);
  }

  // The way into the CMS (kldigital_site.cms): the editor is in the preview anyway.
  function adminLink() {
    if (document.getElementById("kldigital-dev-admin")) { return; }
    stylesheet();
    var link = el("a", "kldigital-dev-admin", "Admin");
    link.id = "kldigital-dev-admin";
    link.href = "/admin/";
    link.title = "Inhalte im Browser bearbeiten";
    document.body.appendChild(link);
  }

  window.CALLBACK = function (data) {
    retry = 500;
    if (String(data.site) !== site) { window.location.reload(); return; }
    if (data.state !== state) { hidden = false; }
    state = data.state;
    show(data.problems);
    poll();
  };

  function start() { adminLink(); poll(); }
  // After "load": a pending long-poll must not keep the page loading.
  if (document.readyState === "complete") { start(); }
  else { window.addEventListener("load", start); }
})();
""".replace("CALLBACK", CALLBACK)
    .replace("POLL_URL", POLL_URL)
    .replace("STYLE_URL", STYLE_URL)
)

OVERLAY_CSS = """\
/* kldigital-site serve: the build error overlay. */
.kldigital-dev-overlay {
  position: fixed;
  inset: 0;
  z-index: 2147483647;
  overflow: auto;
  padding: 2rem 1rem;
  background: rgba(20, 20, 20, 0.55);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
.kldigital-dev-box {
  max-width: 60rem;
  margin: 0 auto;
  padding: 1.25rem 1.5rem;
  background: #fff;
  color: #1a1a1a;
  border-top: 0.5rem solid #b00020;
  border-radius: 0.25rem;
  box-shadow: 0 0.5rem 2rem rgba(0, 0, 0, 0.4);
}
.kldigital-dev-title {
  margin: 0 0 0.5rem;
  font-size: 1.35rem;
  color: #b00020;
}
.kldigital-dev-text { margin: 0 0 1rem; }
.kldigital-dev-list { margin: 0 0 1rem; padding-left: 1.25rem; }
.kldigital-dev-problem { margin: 0 0 0.5rem; overflow-wrap: anywhere; }
.kldigital-dev-where {
  font: 600 0.95em/1.4 ui-monospace, "DejaVu Sans Mono", monospace;
  color: #1a1a1a;
  background: #f3e6e8;
  padding: 0 0.25em;
}
.kldigital-dev-close {
  font: inherit;
  padding: 0.3rem 0.9rem;
  border: 1px solid #1a1a1a;
  border-radius: 0.25rem;
  background: #fff;
  color: #1a1a1a;
  cursor: pointer;
}
.kldigital-dev-close:focus-visible { outline: 3px solid #005fcc; outline-offset: 2px; }
/* The link into the CMS: a corner, above the page, below the overlay. */
.kldigital-dev-admin {
  position: fixed;
  right: 1rem;
  bottom: 1rem;
  z-index: 2147483646;
  padding: 0.4rem 0.9rem;
  border-radius: 0.25rem;
  background: #1a1a1a;
  color: #fff;
  font: 600 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  text-decoration: none;
  box-shadow: 0 0.25rem 1rem rgba(0, 0, 0, 0.3);
}
.kldigital-dev-admin:hover { text-decoration: underline; }
.kldigital-dev-admin:focus-visible { outline: 3px solid #005fcc; outline-offset: 2px; }
"""
