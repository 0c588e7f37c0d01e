// Full-text search on /suche/: a small, accessible UI on Pagefind's JS API.
//
// The page (templates/search.html) works without this script: it then shows
// links to the lists. This script hides them, shows the form, loads Pagefind
// from the address in data-pagefind-url (it includes the base path, so the
// search works under a sub-path), merges the further shards of the index
// listed in data-pagefind-merge (if any) and keeps ?q=…&typ=…&thema=… in the
// address bar in sync (history.replaceState), so a search can be linked.
// No inline styles and no eval: the site's Content-Security-Policy allows
// scripts from 'self' only, plus 'wasm-unsafe-eval' for Pagefind's engine.

const PAGE_SIZE = 10;
const TYPING_DELAY_MS = 250;
const EXCERPT_WORDS = 28;

const root = document.querySelector("[data-search]");
if (root) {
  start(root);
}

async function start(root) {
  const fallback = root.querySelector("[data-search-fallback]");
  const fallbackText = root.querySelector("[data-search-fallback-text]");
  const app = root.querySelector("[data-search-app]");
  const form = root.querySelector("[data-search-form]");
  const input = root.querySelector("[data-search-input]");
  const status = root.querySelector("[data-search-status]");
  const list = root.querySelector("[data-search-results]");
  const more = root.querySelector("[data-search-more]");
  const boxes = Array.from(root.querySelectorAll("[data-search-filter]"));

  const filterPanel = root.querySelector("[data-search-filters]");
  const chosen = root.querySelector("[data-search-chosen]");

  const section = list.closest("section");
  fallback.hidden = true;
  readAddress(input, boxes);
  // Room for the results before they come, so the filters and the footer below
  // them do not jump down when they arrive (cumulative layout shift).
  const searching = () => section.classList.add("is-searching");
  if (input.value.trim() || boxes.some((box) => box.checked)) {
    searching();
  }
  app.hidden = false;
  // Beside the results on a wide screen the filters are open; on a phone they
  // come after the results, folded, and say how many are chosen.
  const wide = window.matchMedia("(min-width: 56em)");
  filterPanel.open = wide.matches;
  wide.addEventListener("change", () => {
    filterPanel.open = wide.matches;
  });

  let pagefind;
  try {
    pagefind = await import(root.dataset.pagefindUrl);
    const options = { baseUrl: root.dataset.baseUrl, excerptLength: EXCERPT_WORDS };
    await pagefind.options(options);
    await pagefind.init();
    // A large site's index comes in shards (docs/search.md): the first is the
    // bundle just loaded, the others are merged into it. Options are per
    // shard in Pagefind, so each gets the same ones; searches and filter
    // counts then run over all shards together.
    const shards = JSON.parse(root.dataset.pagefindMerge || "[]");
    await Promise.all(shards.map((url) => pagefind.mergeIndex(url, options)));
    hideUnusedFilters(boxes, await pagefind.filters());
  } catch (error) {
    // No index (e.g. a page opened from disk): say so and offer the lists.
    console.error("Suche nicht verfügbar:", error);
    app.hidden = true;
    fallbackText.textContent =
      "Die Suche ist gerade nicht verfügbar. Alle Inhalte finden Sie auch über diese Übersichten:";
    fallback.hidden = false;
    return;
  }

  let generation = 0; // newer searches win over slower older ones
  let results = [];
  let shown = 0;
  let timer = 0;

  async function run() {
    window.clearTimeout(timer);
    const current = ++generation;
    const term = input.value.trim();
    const filters = selectedFilters(boxes);
    writeAddress(term, boxes);
    if (!term && Object.keys(filters).length === 0) {
      results = [];
      shown = 0;
      list.replaceChildren();
      more.hidden = true;
      showCounts(boxes, null);
      status.textContent = "Geben Sie einen Suchbegriff ein oder wählen Sie einen Filter.";
      return;
    }
    searching();
    list.setAttribute("aria-busy", "true");
    const search = await relatedSearch(pagefind, term, filters);
    if (current !== generation || !search) {
      return;
    }
    results = search.results;
    shown = 0;
    list.replaceChildren();
    showCounts(boxes, search.filters);
    await showMore(current, false);
    list.removeAttribute("aria-busy");
    status.textContent = summary(results.length, term, Object.keys(filters).length > 0);
  }

  async function showMore(current, moveFocus) {
    const batch = results.slice(shown, shown + PAGE_SIZE);
    const data = await Promise.all(batch.map((result) => result.data()));
    if (current !== generation) {
      return;
    }
    const items = data.map(renderResult);
    list.append(...items);
    shown += batch.length;
    more.hidden = shown >= results.length;
    if (moveFocus && items.length) {
      // Keyboard users continue where the new results start.
      items[0].querySelector("a").focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(run, TYPING_DELAY_MS);
  });
  const showChosen = () => {
    const count = boxes.filter((box) => box.checked).length;
    chosen.textContent = count === 0 ? "" : count === 1 ? "(1 gewählt)" : `(${count} gewählt)`;
  };
  for (const box of boxes) {
    box.addEventListener("change", () => {
      showChosen();
      run();
    });
  }
  showChosen();
  more.addEventListener("click", () => showMore(generation, true));

  await run();
}

// The index knows compounds whole and in parts (src/kldigital_site/search/compounds.py
// puts a "^" between the parts), so "Beleuchtung" finds "Straßenbeleuchtung".
// Pagefind on its own answers a query word that no indexed word begins with by
// the longest indexed word that begins it ("Baumkataster" by "Baum", found in an
// unrelated image description), and drops a query word it does not find at all
// when another one is found. Here every query word must be on the page: a word
// matched only by its beginning counts when its rest is on the page too
// ("Mobilitätsdaten": "Mobilität" and "Daten"); otherwise there are no results.
const INFLECTION = 3; // "Treffpunkten" may match "Treffpunkte": an ending, not a word
const LINKS = ["", "s", "es", "n", "en"]; // linking letters: "Mobilität-s-daten"
const COVERED = "covered";
const MISSING = "missing";

async function relatedSearch(pagefind, term, filters) {
  const search = await pagefind.search(term || null, { filters });
  if (!term || !search || search.results.length === 0) {
    return search;
  }
  const matched = matchedWords(await search.results[0].data());
  const choices = [];
  let changed = false;
  for (const word of term.split(/\s+/).map(normalise).filter(Boolean)) {
    const found = coverage(word, matched);
    if (found === COVERED) {
      choices.push([word]);
    } else if (found === MISSING) {
      return noResults(search);
    } else {
      changed = true;
      const rest = word.slice(found.length);
      const readings = LINKS.filter((link) => rest.startsWith(link) && rest.length - link.length >= 3);
      choices.push(readings.map((link) => `${found} ${rest.slice(link.length)}`));
    }
  }
  if (!changed) {
    return search;
  }
  // A compound's rest is tried with each linking letter (at most three readings per word).
  for (const attempt of combinations(choices)) {
    const retry = await pagefind.search(attempt, { filters });
    if (retry && retry.results.length > 0) {
      const again = matchedWords(await retry.results[0].data());
      if (attempt.split(" ").every((word) => coverage(word, again) === COVERED)) {
        return retry;
      }
    }
  }
  return noResults(search);
}

function noResults(search) {
  return { ...search, results: [], unfilteredResultCount: 0, filters: zeroCounts(search.filters) };
}

function* combinations(choices) {
  if (choices.length === 0) {
    yield "";
    return;
  }
  const [head, ...rest] = choices;
  for (const option of head.slice(0, 3)) {
    for (const tail of combinations(rest)) {
      yield tail ? `${option} ${tail}` : option;
    }
  }
}

// COVERED if `word` (or a form of it) is among the matched words; else the longest
// matched word that is only its beginning; else MISSING.
function coverage(word, matched) {
  let prefix = null;
  for (const found of matched) {
    for (const part of [found.replaceAll("^", ""), ...found.split("^")]) {
      if (part.startsWith(word) || (word.startsWith(part) && word.length - part.length <= INFLECTION)) {
        return COVERED;
      }
      if (part.length > 0 && word.startsWith(part) && (prefix === null || part.length > prefix.length)) {
        prefix = part;
      }
    }
  }
  return prefix === null ? MISSING : prefix;
}

// The words of a result that the search matched, as Pagefind indexed them, and
// the words of its metadata (a match in the title or an image's alt text has no
// location in the text).
function matchedWords(data) {
  const words = (data.content || "").split(/\s+/);
  const found = (data.locations || []).map((location) => words[location] || "");
  const meta = Object.values(data.meta || {}).join(" ").split(/\s+/);
  return [...found, ...meta].map(normalise).filter(Boolean);
}

// Lower case without diacritics (as Pagefind compares), letters and compound marks only.
function normalise(word) {
  return word
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}^]/gu, "");
}

function zeroCounts(filters) {
  const zero = {};
  for (const [name, values] of Object.entries(filters || {})) {
    zero[name] = Object.fromEntries(Object.keys(values).map((value) => [value, 0]));
  }
  return zero;
}

// The index's "^" between the parts of a compound is not shown.
function unmark(text) {
  return text.replace(/(\p{L})\^(?=\p{L})/gu, "$1");
}

function readAddress(input, boxes) {
  const params = new URLSearchParams(window.location.search);
  input.value = params.get("q") || "";
  for (const box of boxes) {
    box.checked = params.getAll(box.name).includes(box.value);
  }
}

function writeAddress(term, boxes) {
  const params = new URLSearchParams();
  if (term) {
    params.set("q", term);
  }
  for (const box of boxes) {
    if (box.checked) {
      params.append(box.name, box.value);
    }
  }
  const query = params.toString();
  const address = window.location.pathname + (query ? `?${query}` : "");
  if (address !== window.location.pathname + window.location.search) {
    window.history.replaceState(null, "", address);
  }
}

// { typ: { any: ["Projekt"] }, thema: { any: [...] } }: any of the values
// within one group, every group that has a choice.
function selectedFilters(boxes) {
  const filters = {};
  for (const box of boxes) {
    if (box.checked) {
      const name = box.dataset.searchFilter;
      filters[name] = filters[name] || { any: [] };
      filters[name].any.push(box.value);
    }
  }
  return filters;
}

// Options that no indexed page has (e.g. a topic used only by drafts) are not offered.
function hideUnusedFilters(boxes, available) {
  for (const box of boxes) {
    const count = (available[box.dataset.searchFilter] || {})[box.value] || 0;
    const option = box.closest("[data-search-option]");
    option.hidden = count === 0;
    if (count === 0) {
      box.checked = false;
    }
  }
  for (const group of document.querySelectorAll("[data-search-filter-group]")) {
    group.hidden = !group.querySelector("[data-search-option]:not([hidden])");
  }
}

function showCounts(boxes, counts) {
  for (const box of boxes) {
    const target = box.closest("[data-search-option]").querySelector("[data-search-count]");
    if (!counts) {
      target.textContent = "";
      continue;
    }
    const count = (counts[box.dataset.searchFilter] || {})[box.value] || 0;
    target.textContent = `(${count})`;
  }
}

function summary(count, term, filtered) {
  const hits = count === 1 ? "1 Treffer" : `${count.toLocaleString("de-DE")} Treffer`;
  const scope = filtered ? (term ? " mit den gewählten Filtern" : " für die gewählten Filter") : "";
  if (count === 0) {
    return term
      ? `Keine Treffer für „${term}“${scope}. Versuchen Sie ein anderes Wort oder weniger Filter.`
      : "Keine Treffer für die gewählten Filter.";
  }
  return term ? `${hits} für „${term}“${scope}.` : `${hits}${scope}.`;
}

function renderResult(data) {
  const item = element("li", "search-result");
  const title = element("h3", "search-result-title");
  const link = element("a");
  link.href = data.url;
  link.textContent = unmark(data.meta.title || data.url);
  title.append(link);
  item.append(title);

  const meta = element("p", "search-result-meta");
  if (data.meta.hinweis) {
    // Only the preview indexes drafts and embargoed items (docs/search.md).
    meta.append(element("span", "badge badge-notice", data.meta.hinweis));
  }
  const type = data.meta.typ || (data.filters.typ || [])[0];
  if (type) {
    meta.append(element("span", "badge badge-type", type));
  }
  if ((data.filters.smart_city || []).length) {
    meta.append(element("span", "badge badge-smart-city", "Smart City"));
  }
  if (data.meta.datum) {
    const time = element("time", "search-result-date", data.meta.datum);
    if (data.meta.datum_iso) {
      time.dateTime = data.meta.datum_iso;
    }
    meta.append(time);
  } else if (data.meta.zeitraum) {
    meta.append(element("span", "search-result-date", `Laufzeit: ${data.meta.zeitraum}`));
  }
  if (meta.childNodes.length) {
    item.append(meta);
  }

  const excerpt = element("p", "search-result-excerpt");
  appendExcerpt(excerpt, data.excerpt);
  item.append(excerpt);
  return item;
}

// Pagefind's excerpt is HTML text with <mark> around the matches. It is parsed
// in an inert document and copied as text and <mark> elements only, so no
// markup from the index can reach the page.
function appendExcerpt(target, html) {
  const parsed = new DOMParser().parseFromString(`<p>${unmark(html)}</p>`, "text/html");
  const source = parsed.body.firstChild;
  if (!source) {
    return;
  }
  for (const node of source.childNodes) {
    if (node.nodeType === Node.ELEMENT_NODE && node.nodeName === "MARK") {
      target.append(element("mark", "", node.textContent));
    } else {
      target.append(document.createTextNode(node.textContent));
    }
  }
}

function element(name, className = "", text = "") {
  const node = document.createElement(name);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}
