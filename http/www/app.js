/* app.js: the codeset page: search as you type, a code's detail, claim validation.
 * It speaks the JSON API (POST /api/v1/<op>, docs/HTTP.md) and writes every text from the
 * server with textContent, never as HTML. */
"use strict";

const $ = (id) => document.getElementById(id);
const state = { releases: [], hits: [], active: -1, seq: 0, timer: 0 };
const NOTE_NAMES = {
  includes: "Includes", inclusion_terms: "Inclusion terms", excludes1: "Excludes1",
  excludes2: "Excludes2", code_first: "Code first", use_additional_code: "Use additional code",
  code_also: "Code also", seven_chr_note: "7th character note",
};

async function api(op, body) {
  const r = await fetch("api/v1/" + op, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const reply = await r.json();
  if (!reply.ok) {
    throw new Error(reply.error ? reply.error.message : "request failed (" + r.status + ")");
  }
  return reply;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/* The release keys of every request: the picked release, else the date of service. */
function context() {
  const c = { system: $("system").value };
  if ($("release").value) c.release = $("release").value;
  else if ($("date").value) c.date = $("date").value;
  return c;
}

function codeLink(system, code, text) {
  const a = el("a", text || code, "code");
  a.href = "#/" + encodeURIComponent(system) + "/" + encodeURIComponent(code);
  return a;
}

/* ---- releases ---- */

async function loadReleases() {
  const reply = await api("releases", {});
  /* the index set has its own tabs (index-tabs.js): its term keys are no codes to pick */
  state.releases = reply.releases.filter((r) => r.status === "active" && r.codes > 0 &&
                                                r.system !== "icd10cm-index");
  const systems = [...new Set(state.releases.map((r) => r.system))];
  const sel = $("system");
  sel.replaceChildren(...systems.map((s) => el("option", s)));
  if (systems.includes("icd10cm")) sel.value = "icd10cm";
  fillReleases();
}

function fillReleases() {
  const sel = $("release");
  const opts = [el("option", "in effect")];
  opts[0].value = "";
  for (const r of state.releases.filter((x) => x.system === $("system").value)) {
    const o = el("option", r.release + " (from " + r.effective_from + ")");
    o.value = r.release;
    opts.push(o);
  }
  sel.replaceChildren(...opts);
}

/* ---- search ---- */

function showHits(hits, total) {
  const list = $("hits");
  state.hits = hits;
  state.active = -1;
  list.replaceChildren(...hits.map((h, i) => {
    const li = el("li");
    li.id = "hit-" + i;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", "false");
    li.append(el("span", h.code, "code"), el("span", h.title));
    if (h.billable) li.append(el("span", "billable", "badge billable"));
    li.addEventListener("mousedown", (ev) => { ev.preventDefault(); openHit(i); });
    return li;
  }));
  list.hidden = hits.length === 0;
  $("q").setAttribute("aria-expanded", hits.length ? "true" : "false");
  $("hits-status").textContent = $("q").value.trim() === "" ? "" :
    hits.length ? hits.length + " of " + total + " matches" : "no match";
}

async function search() {
  const q = $("q").value.trim();
  const seq = ++state.seq;
  if (q === "") { showHits([], 0); return; }
  try {
    const reply = await api("search", { ...context(), q, limit: 20 });
    if (seq === state.seq) showHits(reply.hits, reply.total);
  } catch (e) {
    if (seq === state.seq) { showHits([], 0); $("hits-status").textContent = e.message; }
  }
}

function highlight(i) {
  const items = $("hits").children;
  if (items.length === 0) return;
  $("hits").hidden = false;
  $("q").setAttribute("aria-expanded", "true");
  i = (i + items.length) % items.length;
  if (state.active >= 0 && items[state.active]) items[state.active].setAttribute("aria-selected", "false");
  state.active = i;
  items[i].setAttribute("aria-selected", "true");
  items[i].scrollIntoView({ block: "nearest" });
  $("q").setAttribute("aria-activedescendant", items[i].id);
}

/* Fold the list away (its hits stay: ArrowDown shows them again). */
function foldHits() {
  $("hits").hidden = true;
  $("q").setAttribute("aria-expanded", "false");
}

function openHit(i) {
  const h = state.hits[i];
  if (!h) return;
  foldHits();
  location.hash = "#/" + encodeURIComponent($("system").value) + "/" + encodeURIComponent(h.code);
}

/* ---- a code ---- */

function fact(dl, name, value) {
  if (value === undefined || value === null || value === "") return;
  dl.append(el("dt", name), el("dd", String(value)));
}

function notesBlock(system, notes) {
  const box = el("div", null, "notes");
  for (const [key, items] of Object.entries(notes || {})) {
    if (key === "seven_chr_def") {
      box.append(el("h4", "7th characters"));
      const ul = el("ul");
      for (const [c, meaning] of Object.entries(items)) ul.append(el("li", c + ": " + meaning));
      box.append(ul);
      continue;
    }
    const h = el("h4", NOTE_NAMES[key] || key);
    h.dataset.note = key;
    const ul = el("ul");
    ul.dataset.note = key;
    for (const text of items) ul.append(el("li", text));
    box.append(h, ul);
  }
  return box;
}

async function openCode(system, code) {
  const d = $("detail");
  try {
    const c = await api("lookup", { ...context(), system, code,
                                    include: ["notes", "children", "ancestors"] });
    d.hidden = false;
    if (!c.found) {
      $("d-code").textContent = code;
      $("d-text").textContent = c.reason === "malformed" ? "is not a code of " + system
                                                         : "is not in this release";
      for (const id of ["crumbs", "d-flags", "d-facts", "d-notes", "d-attrs", "d-children"]) $(id).replaceChildren();
      $("d-children-h").hidden = true;
      return;
    }
    $("d-code").textContent = c.code;
    $("d-text").textContent = c.title;
    const crumbs = (c.ancestors || []).slice().reverse().map((a) => {
      const li = el("li");
      li.append(codeLink(system, a.code, a.code + " " + (a.title || "")));
      return li;
    });
    crumbs.push(el("li", c.code));
    $("crumbs").replaceChildren(...crumbs);
    $("d-flags").replaceChildren(c.billable ? el("span", "billable", "badge billable")
                                            : el("span", "not billable (header)", "badge header-code"));
    const dl = $("d-facts");
    dl.replaceChildren();
    fact(dl, "Short title", c.short);
    fact(dl, "Kind", c.kind);
    fact(dl, "Release", c.release);
    fact(dl, "Valid from", c.valid_from);
    fact(dl, "Valid to", c.valid_to);
    fact(dl, "Releases holding it", await holders(system, c.code));
    $("d-notes").replaceChildren(notesBlock(system, c.notes));
    const attrs = el("dl", null, "facts");
    for (const [k, v] of Object.entries(c.attributes || {})) fact(attrs, k.replace(/_/g, " "), v);
    $("d-attrs").replaceChildren(attrs);
    const kids = (c.children || []).map((k) => {
      const li = el("li");
      li.append(codeLink(system, k.code), document.createTextNode(" " + k.title + " "));
      if (k.billable) li.append(el("span", "billable", "badge billable"));
      return li;
    });
    $("d-children").replaceChildren(...kids);
    $("d-children-h").hidden = kids.length === 0;
  } catch (e) {
    d.hidden = false;
    $("d-code").textContent = code;
    $("d-text").textContent = e.message;
  }
}

/* The labels of the active releases of system that hold code. */
async function holders(system, code) {
  const labels = state.releases.filter((r) => r.system === system).map((r) => r.release);
  const found = await Promise.all(labels.map((release) =>
    api("lookup", { system, code, release }).then((r) => r.found).catch(() => false)));
  return labels.filter((_, i) => found[i]).join(", ");
}

function route() {
  const m = location.hash.match(/^#\/([^/]+)\/(.+)$/);
  if (!m) { $("detail").hidden = true; return; }
  foldHits();
  const system = decodeURIComponent(m[1]);
  if ([...$("system").options].some((o) => o.value === system) && $("system").value !== system) {
    $("system").value = system;
    fillReleases();
  }
  openCode(system, decodeURIComponent(m[2]));
}

/* ---- a claim ---- */

async function validateClaim() {
  const codes = $("claim").value.split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== "");
  const body = $("claim-results").tBodies[0];
  body.replaceChildren();
  $("claim-results").hidden = true;
  if (codes.length === 0) { $("claim-status").textContent = "no code to validate"; return; }
  $("claim-status").textContent = "validating " + codes.length + " codes...";
  try {
    const reply = await api("validate", { ...context(), codes });
    let bad = 0;
    for (const r of reply.results) {
      const tr = el("tr");
      tr.dataset.input = r.input;
      tr.append(el("td", r.input, "code"));
      tr.append(el("td", r.valid ? "valid" : "invalid", r.valid ? "ok" : "bad"));
      tr.append(el("td", r.reason || ""));
      const msg = el("td", r.valid ? r.title : r.message);
      const links = (r.hint || []).concat(r.replaced_by || []);
      if (links.length) {
        const p = el("p");
        for (const c of links) { p.append(codeLink($("system").value, c), document.createTextNode(" ")); }
        msg.append(p);
      }
      tr.append(msg);
      body.append(tr);
      bad += r.valid ? 0 : 1;
    }
    $("claim-results").hidden = false;
    $("claim-status").textContent = "release " + reply.release + ": " +
      (bad ? bad + " of " + codes.length + " invalid" : "all " + codes.length + " valid");
  } catch (e) {
    $("claim-status").textContent = e.message;
  }
}

/* ---- wiring ---- */

function init() {
  const q = $("q");
  q.addEventListener("input", () => { clearTimeout(state.timer); state.timer = setTimeout(search, 150); });
  q.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown") { ev.preventDefault(); highlight(state.active + 1); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); highlight(state.active - 1); }
    else if (ev.key === "Enter") { ev.preventDefault(); openHit(state.active >= 0 ? state.active : 0); }
    else if (ev.key === "Escape") { foldHits(); }
  });
  $("system").addEventListener("change", () => { fillReleases(); search(); });
  $("release").addEventListener("change", search);
  $("date").addEventListener("change", search);
  $("validate").addEventListener("click", validateClaim);
  $("context").addEventListener("submit", (ev) => ev.preventDefault());
  window.addEventListener("hashchange", route);
  loadReleases().then(route).catch((e) => { $("hits-status").textContent = e.message; });
}

document.addEventListener("DOMContentLoaded", init);
