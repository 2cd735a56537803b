// The page's behaviour, installed once on load: scroll each new reply to its start,
// open citations in the document panel, plain-text copy, Esc closes the panel.
// Replies hold only data attributes (the chat sanitises HTML); everything happens here.
const style = document.createElement("style");
style.textContent = QA_CSS;
document.head.appendChild(style);
const seen = { answers: 0, view: null, sources: new WeakSet() };
// Only the newest answer keeps its sources open (a phone: none; one answer's five cards were
// ~2,400 px there): earlier ones fold when a new answer arrives and can be opened again.
const narrow = () => matchMedia("(max-width: 640px)").matches;
const foldSources = (grew) => {
  const all = [...document.querySelectorAll("#chat details.qa-sources")];
  all.forEach((d, i) => {
    const newest = i === all.length - 1;
    if (!seen.sources.has(d)) { seen.sources.add(d); if (!newest || narrow()) d.open = false; }
    else if (grew && !newest) d.open = false;
  });
};
const scrollToLatest = () => {
  const all = document.querySelectorAll("#chat .qa-answer");
  foldSources(all.length > seen.answers);
  if (all.length > seen.answers) {
    const last = all[all.length - 1];
    last.scrollIntoView({ block: "start" });
    setTimeout(() => last.isConnected && last.scrollIntoView({ block: "start" }), 250);
  }
  seen.answers = all.length;
  const hl = document.querySelector("#doc-view .qa-hl");
  if (hl && hl !== seen.view) {
    seen.view = hl;
    // the file's line stays under the header (page.css): measured once the header is drawn
    const pin = () => {
      const header = document.querySelector("#doc-header"), panel = document.querySelector("#doc-panel");
      if (header && panel) panel.style.setProperty("--qa-header-h", `${header.offsetHeight}px`);
    };
    setTimeout(() => { pin(); hl.scrollIntoView({ block: "center" }); }, 50);
    setTimeout(() => { pin(); if (hl.isConnected) hl.scrollIntoView({ block: "center" }); }, 400);
  }
};
new MutationObserver(scrollToLatest).observe(document.body, { childList: true, subtree: true });
document.addEventListener("click", (event) => {
  // A "Try" question once asked should not look chosen: Gradio's hover colours stay while the pointer does.
  const tried = event.target.closest && event.target.closest("#examples .gallery-item");
  if (tried) tried.classList.add("qa-asked");
  const cite = event.target.closest && event.target.closest(".qa-cite");
  if (cite) {
    event.preventDefault();
    window.__qaCite = decodeURIComponent(cite.getAttribute("href").replace(/^#qa-cite=/, ""));
    seen.view = null;
    const open = document.querySelector("#cite-open");
    if (open) open.click();
    return;
  }
  const copy = event.target.closest && event.target.closest(".qa-copy");
  if (copy) {
    event.preventDefault();
    const plain = copy.parentElement.querySelector(".qa-plain");
    const text = plain ? plain.textContent : "";
    window.__qaCopied = text;
    const done = () => { copy.textContent = "Copied"; setTimeout(() => (copy.textContent = "Copy answer"), 1500); };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, done); else done();
  }
});
document.addEventListener("keydown", (event) => {
  const panel = document.querySelector("#doc-panel");
  // shown? (offsetParent is null for a fixed element, as the panel is on a phone)
  if (event.key === "Escape" && panel && panel.getClientRects().length > 0) {
    const close = document.querySelector("#doc-close");
    if (close) close.click();
  }
});
document.addEventListener("pointerout", (event) => {
  const tried = event.target.closest && event.target.closest(".qa-asked");
  if (tried && !tried.contains(event.relatedTarget)) tried.classList.remove("qa-asked");
});
