/* index-tabs.js: the ICD-10-CM Index on the codeset page, one tab per table (the Index to
 * Diseases and Injuries, the External Cause Index, the Table of Drugs and Chemicals, the
 * Neoplasm Table). It speaks the index op of the JSON API (POST /api/v1/index, docs/HTTP.md and
 * docs/PROTOCOL.md) and uses app.js's helpers ($, api, el, codeLink), loaded before it. Every
 * text from the server is written with textContent, never as HTML. */
"use strict";

const IX = {
  tables: {
    index: { label: "Index", name: "the Index to Diseases and Injuries",
             hint: "e.g. diabetes type 2" },
    eindex: { label: "External causes", name: "the External Cause Index",
              hint: "e.g. fall from ladder" },
    drug: { label: "Drugs", name: "the Table of Drugs and Chemicals", hint: "e.g. acetaminophen" },
    neoplasm: { label: "Neoplasms", name: "the Neoplasm Table", hint: "e.g. breast" },
  },
  STATES: {
    billable: "billable", header: "header", needs_7th: "needs 7th", needs_more: "needs more",
    none: "no code", unknown: "not in tabular",
  },
  LIMIT: 50,
  table: "index",
  loaded: null, /* null: not known yet; false: no index set; true: one is loaded */
  views: {},    /* table -> {q, walk: {code} | {path}} kept while another tab is shown */
  seq: 0,
  timer: 0,
};

/* The index op's release keys: the date of service, else the picked ICD-10-CM release's first
 * day (the index set in effect then), else none (the newest set). */
function ixContext() {
  if ($("date").value) return { date: $("date").value };
  const picked = $("release").value;
  const r = picked && (typeof state !== "undefined") &&
    state.releases.find((x) => x.system === $("system").value && x.release === picked);
  return r && r.effective_from ? { date: r.effective_from } : {};
}

function ixView() {
  if (!IX.views[IX.table]) IX.views[IX.table] = { q: "", walk: null, offset: 0 };
  return IX.views[IX.table];
}

/* ---- a code and its state ---- */

/* The billable codes under a header (or a code written with a final '-'), folded away: a
 * table row holds up to eight cells of them. */
function ixHint(codes) {
  const box = el("details", null, "hint");
  box.append(el("summary", "billable codes under it")); /* the first few: hint is capped */
  for (const c of codes) box.append(codeLink("icd10cm", c), document.createTextNode(" "));
  return box;
}

function ixCode(c) {
  const box = el("span", null, "ixcode");
  box.dataset.state = c.state;
  if (c.col) box.dataset.col = String(c.col);
  if (c.name && !c.col && c.name !== "code") {
    box.append(el("span", c.name.replace("_", " ") + " ", "muted"));
  }
  if (c.state === "none" || c.state === "unknown") box.append(el("span", c.text, "code"));
  else box.append(codeLink("icd10cm", c.code || c.text.replace(/[.-]+$/, ""), c.text));
  const badge = el("span", IX.STATES[c.state] || c.state, "badge state-" + c.state);
  if (c.title) badge.title = c.title;
  box.append(" ", badge);
  if (c.state === "needs_7th") {
    const more = (c.chars && c.chars.length ? "7th: " + c.chars.join(", ") : "") +
      (c.placeholder ? " after " + c.placeholder : "");
    if (more) box.append(" ", el("span", more, "chars"));
  } else if ((c.state === "header" || c.state === "needs_more") && c.hint && c.hint.length) {
    box.append(ixHint(c.hint));
  }
  return box;
}

/* ---- a row ---- */

function ixRefs(row) {
  const p = el("span", null, "refs");
  for (const [via, word] of [["see", "see"], ["see_also", "see also"]]) {
    if (!row[via]) continue;
    const b = el("button", word + " " + row[via], "linkish ref");
    b.type = "button";
    b.dataset.via = via;
    b.addEventListener("click", () => ixFollow(row, via));
    p.append(b, " ");
  }
  return p;
}

/* The term: the titles above it, then its title, a button that walks into it. */
function ixTerm(row) {
  const box = el("span", null, "term");
  if (row.table && row.table !== IX.table) {
    box.append(el("span", "[" + IX.tables[row.table].label + "] ", "muted"));
  }
  if (row.path && row.path.length) {
    box.append(el("span", row.path.join(" › ") + " › ", "muted path"));
  }
  const b = el("button", row.title, "linkish title");
  b.type = "button";
  b.title = row.subterms ? "show its subterms" : "show this term";
  b.addEventListener("click", () => ixWalk({ code: row.key }, row.table));
  box.append(b);
  if (row.subterms) box.append(el("span", " ▸", "muted"));
  if (row.via) {
    const how = (row.via === "see" ? "reached by see " : "reached by see also ") + row.ref +
      (row.partial ? " (only its start was found)" : "");
    box.append(" ", el("span", how, "badge via"));
  }
  if (row.warning) box.append(" ", el("span", row.warning, "warning"));
  return box;
}

function ixListRows(rows) {
  const ul = el("ul", null, "ixrows");
  for (const row of rows) {
    const li = el("li");
    li.dataset.key = row.key;
    li.append(ixTerm(row));
    const codes = el("span", null, "codes");
    for (const c of row.codes || []) codes.append(ixCode(c), " ");
    li.append(" ", codes, ixRefs(row));
    ul.append(li);
  }
  return ul;
}

function ixTableRows(columns, rows) {
  const t = el("table", null, "ixtable");
  const head = el("tr");
  for (const c of columns) { const th = el("th", c); th.scope = "col"; head.append(th); }
  t.createTHead().append(head);
  const body = t.createTBody();
  for (const row of rows) {
    const tr = el("tr");
    tr.dataset.key = row.key;
    const first = el("td");
    first.append(ixTerm(row), " ", ixRefs(row));
    tr.append(first);
    const cells = columns.slice(1).map(() => el("td"));
    for (const c of row.codes || []) {
      if (c.col >= 2 && c.col <= columns.length) cells[c.col - 2].append(ixCode(c));
      else first.append(" ", ixCode(c));
    }
    for (let i = 0; i < cells.length; i++) cells[i].dataset.head = columns[i + 1];
    tr.append(...cells);
    body.append(tr);
  }
  return t;
}

/* ---- asking ---- */

function ixStatus(text) { $("ix-status").textContent = text; }

function ixCrumbs(reply, walk) {
  const ol = $("ix-crumbs");
  const top = el("li");
  const all = el("button", "all terms", "linkish");
  all.type = "button";
  all.addEventListener("click", () => { ixView().q = ""; $("ix-q").value = ""; ixWalk(null); });
  top.append(all);
  const items = [top];
  const first = walk && reply.rows[0];
  if (first) {
    const titles = (first.path || []).concat([first.title]);
    titles.forEach((t, i) => {
      const li = el("li");
      if (i === titles.length - 1 && reply.found !== false) li.append(el("span", t));
      else {
        const b = el("button", t, "linkish");
        b.type = "button";
        b.addEventListener("click", () => ixWalk({ path: titles.slice(0, i + 1) }));
        li.append(b);
      }
      items.push(li);
    });
  }
  ol.replaceChildren(...items);
}

async function ixShow() {
  const v = ixView();
  const seq = ++IX.seq;
  const body = { ...ixContext(), system: "icd10cm", table: IX.table, limit: IX.LIMIT,
                 offset: v.offset };
  if (v.walk) Object.assign(body, v.walk);
  else if (v.q.trim()) body.q = v.q.trim();
  if (IX.loaded === false) { ixNone(); return; }
  try {
    const reply = await api("index", body);
    if (seq !== IX.seq) return;
    ixRender(reply, v.walk);
    /* what the rows answer (tests wait for it): the words, or the term walked to */
    $("ix-rows").dataset.q = v.walk ? "" : v.q.trim();
  } catch (e) {
    if (seq !== IX.seq) return;
    $("ix-rows").replaceChildren();
    $("ix-crumbs").replaceChildren();
    ixStatus(e.message);
  }
}

function ixRender(reply, walk) {
  const rows = reply.rows || [];
  const view = reply.columns ? ixTableRows(reply.columns, rows) : ixListRows(rows);
  $("ix-rows").replaceChildren(view);
  ixCrumbs(reply, walk);
  const tab = reply.tabular ? "codes checked in ICD-10-CM " + reply.tabular
                            : "no ICD-10-CM release loaded: codes not checked";
  let what;
  if (walk && reply.found === false) {
    what = "the path goes astray after its first " + reply.matched + " terms: the subterms there";
  } else if (walk) {
    what = rows.length === 0 ? "no such term"
         : reply.total === 0 ? "the term (no subterms)"
         : "the term and " + ixRange(reply.total) + " subterms";
  } else if (rows.length === 0) {
    what = "no match";
  } else {
    what = ixRange(reply.total) + (!ixView().q.trim() ? " main terms"
                                   : reply.total === 1 ? " match" : " matches");
  }
  ixStatus(what + " · index set " + reply.release + ", " + tab);
  ixPager(reply.total);
}

/* "51-100 of 230" when paged, else the total. */
function ixRange(total) {
  const at = ixView().offset;
  if (total <= IX.LIMIT && at === 0) return String(total);
  return (at + 1) + "–" + Math.min(total, at + IX.LIMIT) + " of " + total;
}

/* Previous and next pages of the rows (or of a term's subterms). */
function ixPager(total) {
  const v = ixView();
  const nav = el("p", null, "pager");
  const pages = [["‹ previous", v.offset - IX.LIMIT], ["next ›", v.offset + IX.LIMIT]];
  for (const [label, to] of pages) {
    if (to < 0 || to >= total) continue;
    const b = el("button", label, "linkish");
    b.type = "button";
    b.addEventListener("click", () => { v.offset = to; ixShow(); });
    nav.append(b, " ");
  }
  if (nav.childNodes.length) $("ix-rows").append(nav);
}

function ixWalk(walk, table) {
  if (table && table !== IX.table) ixSelect(table, false);
  ixView().walk = walk;
  ixView().offset = 0;
  ixShow();
}

/* A see or see also of row, followed on request: the term it reaches, walked into. */
async function ixFollow(row, via) {
  const table = row.table || IX.table;
  try {
    const reply = await api("index", { ...ixContext(), system: "icd10cm", table, code: row.key,
                                       follow: true, limit: 1 });
    const hit = (reply.rows || []).find((r) => r.from === row.key && r.via === via);
    if (hit) { ixWalk({ code: hit.key }, hit.table || table); return; }
    const un = (reply.unfollowed || []).find((u) => u.from === row.key && u.via === via);
    if (un && IX.tables[un.why]) {
      ixSelect(un.why, false);
      ixView().walk = null;
      ixView().offset = 0;
      ixView().q = row.title.replace(/\s*\(.*\)\s*/g, " ").trim();
      $("ix-q").value = ixView().q;
      ixShow();
      return;
    }
    const why = !un ? "not followed" : un.why === "not_found" ? "not found in this table" : un.why;
    ixStatus("\u201c" + row[via] + "\u201d: " + why);
  } catch (e) {
    ixStatus(e.message);
  }
}

function ixNone() {
  $("ix-rows").replaceChildren();
  $("ix-crumbs").replaceChildren();
  ixStatus("No ICD-10-CM Index is loaded on this server: load the CDC's index files with the " +
           "icd10cm-index loader to use this tab.");
}

/* ---- tabs ---- */

function ixSelect(table, focus) {
  IX.table = table;
  for (const t of document.querySelectorAll("#ix-tabs [role=tab]")) {
    const on = t.dataset.table === table;
    t.setAttribute("aria-selected", on ? "true" : "false");
    t.tabIndex = on ? 0 : -1;
    if (on && focus) t.focus();
  }
  $("ix-panel").setAttribute("aria-labelledby", "tab-" + table);
  $("ix-q-label").textContent = "Search " + IX.tables[table].name;
  $("ix-q").placeholder = IX.tables[table].hint;
  $("ix-q").value = ixView().q;
}

function ixTabs() {
  const tabs = $("ix-tabs");
  for (const [table, t] of Object.entries(IX.tables)) {
    const b = el("button", t.label);
    b.type = "button";
    b.id = "tab-" + table;
    b.dataset.table = table;
    b.setAttribute("role", "tab");
    b.setAttribute("aria-controls", "ix-panel");
    b.addEventListener("click", () => { ixSelect(table, false); ixShow(); });
    tabs.append(b);
  }
  tabs.addEventListener("keydown", (ev) => {
    const names = Object.keys(IX.tables);
    let i = names.indexOf(IX.table);
    if (ev.key === "ArrowRight") i = (i + 1) % names.length;
    else if (ev.key === "ArrowLeft") i = (i + names.length - 1) % names.length;
    else if (ev.key === "Home") i = 0;
    else if (ev.key === "End") i = names.length - 1;
    else return;
    ev.preventDefault();
    ixSelect(names[i], true);
    ixShow();
  });
}

async function ixInit() {
  ixTabs();
  ixSelect("index", false);
  $("ix-q").addEventListener("input", () => {
    ixView().q = $("ix-q").value;
    ixView().walk = null;
    ixView().offset = 0;
    clearTimeout(IX.timer);
    IX.timer = setTimeout(ixShow, 150);
  });
  $("ix-q").addEventListener("keydown", (ev) => { if (ev.key === "Enter") ev.preventDefault(); });
  for (const id of ["date", "release"]) $(id).addEventListener("change", ixShow);
  try {
    const r = await api("releases", { system: "icd10cm-index" });
    IX.loaded = r.releases.some((x) => x.status === "active");
  } catch (e) {
    IX.loaded = false;
  }
  ixShow();
}

document.addEventListener("DOMContentLoaded", ixInit);
