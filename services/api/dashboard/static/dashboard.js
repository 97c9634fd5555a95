// Tandem dashboard: asks for an API key once (kept in sessionStorage, for this tab only),
// reads /v1/stats/* with it and draws the figures as SVG charts with tables beside them.
// No library and no asset from anywhere but this server. Every value shown comes from the
// API; the page only lays it out, so what it shows can be checked against the endpoints.

const KEY_STORAGE = "tandem.dashboard.apiKey";
const SVG_NS = "http://www.w3.org/2000/svg";

const THEME_LABELS = {
  species: "Species",
  listings_nomenclature: "Listings and nomenclature",
  governing_bodies: "Governing bodies",
  nbsap: "NBSAPs",
  funding: "Funding",
  liaison: "Liaison",
  administration: "Administration",
  other: "Other",
};
const STATUS_COLOURS = {
  planned: "#0b5cad",
  ongoing: "#1a7f37",
  completed: "#52606d",
  dropped: "#b42318",
};

const $ = (selector) => document.querySelector(selector);

class KeyRefused extends Error {}

// ---- DOM helpers (text is always set as text, never parsed as HTML) ----

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined));
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined));
  return node;
}

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
}

const hoursFormat = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });
const percentFormat = new Intl.NumberFormat("en-GB", { style: "percent", maximumFractionDigits: 0 });
const fmtHours = (h) => hoursFormat.format(h);
const fmtPercent = (x) => (x === null || x === undefined ? "–" : percentFormat.format(x));
const themeLabel = (t) => THEME_LABELS[t] || t;

function table(caption, columns, rows) {
  // columns: [{label, num}], rows: [[cell, ...]] where a cell is text or a Node.
  return el(
    "table",
    {},
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", class: c.num ? "num" : null, text: c.label })))),
    el(
      "tbody",
      {},
      rows.map((cells) =>
        el(
          "tr",
          {},
          cells.map((cell, i) => {
            const attrs = { class: columns[i].num ? "num" : null };
            if (i === 0 && columns[0].header) attrs.scope = "row";
            const tag = i === 0 && columns[0].header ? "th" : "td";
            return typeof cell === "object" && cell !== null ? el(tag, attrs, cell) : el(tag, { ...attrs, text: cell });
          }),
        ),
      ),
    ),
  );
}

function legend(items) {
  return el(
    "ul",
    { class: "legend" },
    items.map(([label, colour]) =>
      el(
        "li",
        {},
        svg("svg", { class: "swatch", viewBox: "0 0 10 10", "aria-hidden": "true" }, svg("rect", { width: 10, height: 10, fill: colour })),
        label,
      ),
    ),
  );
}

function figure(value, label, attrs = {}) {
  return el("div", { class: "figure", ...attrs }, el("span", { class: "value", text: value }), el("span", { class: "label", text: label }));
}

// ---- API ----

function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

async function api(path, params = {}, key = apiKey()) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, value);
  }
  const response = await fetch(url, { headers: { Authorization: `Bearer ${key}`, Accept: "application/json" } });
  if (response.status === 401) throw new KeyRefused("This key is unknown or has been revoked.");
  if (response.status === 403) throw new KeyRefused("This key lacks the read scope.");
  if (!response.ok) {
    const problem = await response.json().catch(() => null);
    throw new Error(problem && problem.detail ? problem.detail : `${path} answered ${response.status}`);
  }
  return response.json();
}

async function allPages(path, params) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 20; page += 1) {
    const data = await api(path, { ...params, limit: 200, cursor });
    items.push(...data.items);
    if (!data.next_cursor) break;
    cursor = data.next_cursor;
  }
  return items;
}

// ---- key panel ----

function showKeyPanel(message = "") {
  $("#board").hidden = true;
  $("#forget-key").hidden = true;
  $("#key-panel").hidden = false;
  $("#key-error").textContent = message;
  $("#api-key").value = "";
  $("#api-key").focus();
}

async function onKeySubmit(event) {
  event.preventDefault();
  const key = $("#api-key").value.trim();
  if (!key) {
    $("#key-error").textContent = "Enter an API key.";
    return;
  }
  $("#key-error").textContent = "Checking the key…";
  try {
    await api("/v1/stats/activities", { species_limit: 1 }, key);
  } catch (error) {
    $("#key-error").textContent = error.message;
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  $("#api-key").value = "";
  await showBoard();
}

function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
  showKeyPanel("The key was forgotten.");
}

// ---- the board ----

async function showBoard() {
  $("#key-panel").hidden = true;
  $("#forget-key").hidden = false;
  $("#board").hidden = false;
  $("#board").focus();
  await refresh();
}

async function loadSecretariats() {
  const select = $("#f-secretariat");
  if (select.options.length > 1) return;
  const { items } = await api("/v1/secretariats");
  for (const s of items) select.append(el("option", { value: s.code, text: s.code }));
}

function filters() {
  const form = new FormData($("#filters"));
  return {
    from: form.get("from"),
    to: form.get("to"),
    secretariat: form.get("secretariat"),
    kind: form.get("kind"),
  };
}

async function refresh(event) {
  if (event) event.preventDefault();
  const f = filters();
  const main = $("#main");
  main.dataset.state = "loading";
  main.setAttribute("aria-busy", "true");
  $("#status").textContent = "Loading…";
  try {
    await loadSecretariats();
    const today = document.body.dataset.today;
    const [activityStats, upcoming] = await Promise.all([
      api("/v1/stats/activities", { from: f.from, to: f.to, secretariat: f.secretariat }),
      allPages("/v1/meetings", { from: today, status: "scheduled", secretariat: f.secretariat }),
    ]);
    renderActivities(activityStats);
    await renderNextMeeting(upcoming, today);
    $("#status").textContent = `Updated at ${new Date().toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" })}`;
    main.dataset.state = "ready";
  } catch (error) {
    if (error instanceof KeyRefused) {
      sessionStorage.removeItem(KEY_STORAGE);
      showKeyPanel(error.message);
    } else {
      $("#status").textContent = `Could not load the figures: ${error.message}`;
    }
    main.dataset.state = "error";
  } finally {
    main.removeAttribute("aria-busy");
  }
}

// ---- charts ----

// Horizontal stacked bars: one row per category, one segment per series.
function stackedBars({ id, title, rows, series, unit }) {
  const rowHeight = 26;
  const labelWidth = 190;
  const width = 640;
  const barWidth = width - labelWidth - 50;
  const max = Math.max(1, ...rows.map((r) => r.total));
  const height = rows.length * rowHeight + 8;
  const titleId = `${id}-title`;
  const chart = svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": titleId, id },
    svg("title", { id: titleId, text: title }),
  );
  rows.forEach((row, i) => {
    const y = i * rowHeight + 4;
    chart.append(svg("text", { x: labelWidth - 8, y: y + 15, "text-anchor": "end", text: row.label }));
    let x = labelWidth;
    for (const s of series) {
      const value = row.values[s.key] || 0;
      if (value > 0) {
        const w = (value / max) * barWidth;
        chart.append(
          svg(
            "rect",
            { x, y, width: Math.max(w, 1), height: rowHeight - 8, fill: s.colour, "data-row": row.key, "data-series": s.key, "data-value": value },
            svg("title", { text: `${row.label}, ${s.label}: ${value} ${unit}` }),
          ),
        );
        x += w;
      }
    }
    chart.append(svg("text", { x: x + 6, y: y + 15, "data-total": row.key, text: String(row.total) }));
  });
  return chart;
}

// ---- panels ----

function renderActivities(stats) {
  const body = $("#activities .body");
  const statuses = stats.by_status.map((s) => s.status);
  const byStatus = Object.fromEntries(stats.by_status.map((s) => [s.status, s.activities]));
  const rows = stats.by_theme.map((t) => ({ key: t.theme, label: themeLabel(t.theme), total: t.activities, values: t.by_status }));
  const series = statuses.map((s) => ({ key: s, label: s, colour: STATUS_COLOURS[s] }));
  const leads = stats.by_lead_secretariat.map((l) => `${l.secretariat} ${l.activities}`).join(", ") || "none";
  body.replaceChildren(
    el(
      "div",
      { class: "figures" },
      figure(String(stats.total), "activities in the period", { "data-figure": "activities-total" }),
      figure(String(byStatus.ongoing || 0), "ongoing", { "data-figure": "activities-ongoing" }),
      figure(String(byStatus.planned || 0), "planned", { "data-figure": "activities-planned" }),
    ),
    legend(series.map((s) => [s.label, s.colour])),
    stackedBars({
      id: "activities-chart",
      title: `Joint activities by theme and status: ${stats.total} in all`,
      rows,
      series,
      unit: "activities",
    }),
    el("p", { text: `Lead secretariat: ${leads}.` }),
    el(
      "details",
      {},
      el("summary", { text: "The figures as a table" }),
      table(
        "Joint activities by theme and status",
        [{ label: "Theme", header: true }, ...statuses.map((s) => ({ label: s, num: true })), { label: "All", num: true }],
        stats.by_theme.map((t) => [themeLabel(t.theme), ...statuses.map((s) => String(t.by_status[s])), String(t.activities)]),
      ),
    ),
    el("h3", { text: "Species most often covered" }),
    stats.species.length
      ? el(
          "ol",
          { id: "species-list" },
          stats.species.map((s) =>
            el("li", { "data-species": s.species }, el("i", { text: s.species }), ` — ${s.activities} ${s.activities === 1 ? "activity" : "activities"}`),
          ),
        )
      : el("p", { class: "empty", text: "No species in the activities of the period." }),
  );
}

function nextMeeting(upcoming, today) {
  const ahead = upcoming.filter((m) => m.end_date >= today);
  ahead.sort((a, b) => (a.start_date < b.start_date ? -1 : a.start_date > b.start_date ? 1 : a.code.localeCompare(b.code)));
  return ahead[0] || null;
}

async function renderNextMeeting(upcoming, today) {
  const body = $("#next-meeting .body");
  const meeting = nextMeeting(upcoming, today);
  if (!meeting) {
    body.replaceChildren(el("p", { class: "empty", text: "No meeting is scheduled." }));
    return;
  }
  const report = await api(`/v1/meetings/${encodeURIComponent(meeting.code)}/activities`);
  const days = Math.round((Date.parse(meeting.start_date) - Date.parse(today)) / 86400000);
  const when = days > 0 ? `in ${days} day${days === 1 ? "" : "s"}` : "under way";
  body.replaceChildren(
    el("h3", { id: "next-meeting-code", "data-code": meeting.code, text: `${meeting.code}: ${meeting.title}` }),
    el("p", { text: `${meeting.start_date} to ${meeting.end_date}, ${meeting.location} (${when}).` }),
    report.total
      ? el(
          "div",
          { id: "next-meeting-activities" },
          report.themes.map((group) => [
            el("h4", { text: `${themeLabel(group.theme)} (${group.activities.length})` }),
            el(
              "ul",
              { class: "plain" },
              group.activities.map((a) =>
                el(
                  "li",
                  { "data-activity": a.id },
                  a.title,
                  " ",
                  el("span", { class: "tag", text: `${a.lead_secretariat} lead · ${a.status}` }),
                ),
              ),
            ),
          ]),
        )
      : el("p", { class: "empty", text: "No joint activity is reported to it yet." }),
  );
}

// ---- start ----

document.addEventListener("DOMContentLoaded", () => {
  $("#key-form").addEventListener("submit", onKeySubmit);
  $("#filters").addEventListener("submit", refresh);
  $("#forget-key").addEventListener("click", forgetKey);
  if (apiKey()) showBoard();
  else showKeyPanel();
});
