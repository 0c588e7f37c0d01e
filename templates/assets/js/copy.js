// "Text kopieren" on a press release: copies the release's text version
// (pressemitteilung.txt, the same file the link next to the button opens) to
// the clipboard, so a journalist can paste clean text into their system.
//
// The button ships hidden: without this script the page still offers the
// link to the .txt file. No inline code, nothing from elsewhere: the site's
// Content-Security-Policy allows scripts and fetches from 'self' only.

for (const button of document.querySelectorAll("[data-copy-source]")) {
  const status = button.closest(".press-tools")?.querySelector(".press-tools-status");
  button.hidden = false;
  button.addEventListener("click", () => copy(button, status));
}

async function copy(button, status) {
  const source = button.dataset.copySource;
  const say = (text) => {
    if (status) {
      status.textContent = text;
    }
  };
  say("");
  try {
    await write(source);
    say("Der Text der Pressemitteilung ist in der Zwischenablage.");
  } catch {
    say("Kopieren war nicht möglich. Bitte den Text über den Link „Text als Datei“ öffnen.");
  }
}

async function fetchText(source) {
  const response = await fetch(source, { credentials: "same-origin" });
  if (!response.ok) {
    throw new Error(`HTTP ${response.status}`);
  }
  return response.text();
}

async function write(source) {
  if (!navigator.clipboard) {
    throw new Error("no clipboard");
  }
  try {
    // Chrome and Firefox: the click's permission to write lasts while the file loads.
    await navigator.clipboard.writeText(await fetchText(source));
  } catch (error) {
    // Safari ends that permission at the first await; it accepts a pending item.
    if (typeof ClipboardItem === "undefined") {
      throw error;
    }
    const blob = fetchText(source).then((text) => new Blob([text], { type: "text/plain" }));
    await navigator.clipboard.write([new ClipboardItem({ "text/plain": blob })]);
  }
}
