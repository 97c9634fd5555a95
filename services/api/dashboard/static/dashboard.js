// Tandem dashboard: asks for an API key once (kept in sessionStorage, for this tab only),
// reads /v1/stats/* with it and draws the figures as SVG charts with tables beside them.
// No library and no asset from anywhere but this server. Every value shown comes from the
// API; the page only lays it out, so what it shows can be checked against the endpoints.
// Chart marks carry their exact value in data-* attributes (tests and curious readers).

const KEY_STORAGE = "tandem.dashboard.apiKey";
const SVG_NS = "http://www.w3.org/2000/svg";
const DAY_MS = 86400000;
const DECISIONS_SHOWN = 12;

// Marks a message for the catalogues where it is written; t() translates it where it is shown.
function N_(message) {
  return message;
}

const THEME_LABELS = {
  species: N_("Species"),
  listings_nomenclature: N_("Listings and nomenclature"),
  governing_bodies: N_("Governing bodies"),
  nbsap: N_("NBSAPs"),
  funding: N_("Funding"),
  liaison: N_("Liaison"),
  administration: N_("Administration"),
  other: N_("Other"),
};
const STATUS_COLOURS = {
  planned: "#0b5cad",
  ongoing: "#1a7f37",
  completed: "#52606d",
  dropped: "#b42318",
};
const HOURS = {
  requested: { label: N_("requested"), colour: "#e4e7eb", stroke: "#52606d" },
  proposed: { label: N_("proposed, awaiting a decision"), colour: "#b35c00" },
  accepted: { label: N_("accepted"), colour: "#1a7f37" },
};
const MODES = {
  remote: { label: N_("remote"), colour: "#0b5cad" },
  on_site: { label: N_("on site"), colour: "#7b3fa0" },
  travel: { label: N_("on site, after travel"), colour: "#b42318" },
};
const PRIORITY_ORDER = { critical: 0, high: 1, normal: 2, low: 3 };

const $ = (selector) => document.querySelector(selector);

// ---- language: the server picks it (?lang= or Accept-Language) and hands the catalogue over ----

const LANG = document.documentElement.lang || "en";
const LOCALE = { en: "en-GB", fr: "fr-FR", es: "es-ES" }[LANG] || "en-GB";
const MESSAGES = JSON.parse(document.getElementById("messages").textContent || "{}");

// The translation of an English message, with {name} placeholders filled in.
function t(message, values = {}) {
  const text = MESSAGES[message] || message;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

class KeyRefused extends Error {}

// ---- DOM helpers (text is always set as text, never parsed as HTML) ----

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

// Replace a node's children; arrays are flattened and absent parts (null, false) skipped.
function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
}

const wholeFormat = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const percentFormat = new Intl.NumberFormat(LOCALE, { style: "percent", maximumFractionDigits: 0 });
const fmtHours = (h) => t("{hours} h", { hours: wholeFormat.format(h) });
const fmtNumber = (n) => wholeFormat.format(n);
const fmtPercent = (x) => (x === null || x === undefined ? "–" : percentFormat.format(x));
const themeLabel = (theme) => t(THEME_LABELS[theme] || theme);
const words = (s) => s.replaceAll("_", " ");
const STATUS_LABELS = {
  open: N_("open"),
  partially_matched: N_("partially matched"),
  matched: N_("matched"),
  fulfilled: N_("fulfilled"),
  cancelled: N_("cancelled"),
  expired: N_("expired"),
  planned: N_("planned"),
  ongoing: N_("ongoing"),
  completed: N_("completed"),
  dropped: N_("dropped"),
  proposed: N_("proposed"),
  accepted: N_("accepted"),
  declined: N_("declined"),
  active: N_("active"),
  withdrawn: N_("withdrawn"),
  queued: N_("queued"),
  running: N_("running"),
  succeeded: N_("succeeded"),
  failed: N_("failed"),
  created: N_("created"),
  updated: N_("updated"),
  figures_updated: N_("figures updated"),
  dropped_by_matching: N_("dropped"),
};
const statusLabel = (status) => t(STATUS_LABELS[status] || words(status));

function parseDay(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return Date.UTC(y, m - 1, d);
}

function isoDay(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

function mondayOf(iso) {
  const ms = parseDay(iso);
  const weekday = (new Date(ms).getUTCDay() + 6) % 7;
  return ms - weekday * DAY_MS;
}

function shortDate(iso) {
  return new Date(parseDay(iso)).toLocaleDateString(LOCALE, { day: "numeric", month: "short", timeZone: "UTC" });
}

function table(caption, columns, rows, attrs = {}) {
  // columns: [{label, num, header}], rows: [[cell, ...]] where a cell is text or a Node.
  return el(
    "table",
    attrs,
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
            const header = i === 0 && columns[0].header;
            const attrs = { class: columns[i].num ? "num" : null, scope: header ? "row" : null };
            const tag = header ? "th" : "td";
            return typeof cell === "object" && cell !== null ? el(tag, attrs, cell) : el(tag, { ...attrs, text: cell });
          }),
        ),
      ),
    ),
  );
}

function swatch(colour, stroke) {
  return svg(
    "svg",
    { class: "swatch", viewBox: "0 0 10 10", "aria-hidden": "true" },
    svg("rect", { width: 10, height: 10, fill: colour, stroke: stroke || null }),
  );
}

function legend(items) {
  return el("ul", { class: "legend" }, items.map(({ label, colour, stroke }) => el("li", {}, swatch(colour, stroke), t(label))));
}

function figure(value, label, name) {
  return el("div", { class: "figure", "data-figure": name }, el("span", { class: "value", text: value }), el("span", { class: "label", text: label }));
}

function details(summary, ...content) {
  return el("details", {}, el("summary", { text: summary }), ...content);
}

function empty(text) {
  return el("p", { class: "empty", text });
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
  if (response.status === 401) throw new KeyRefused(t("This key is unknown or has been revoked."));
  if (response.status === 403) throw new KeyRefused(t("This key lacks the read scope."));
  if (!response.ok) {
    const problem = await response.json().catch(() => null);
    throw new Error(problem && problem.detail ? problem.detail : t("{path} answered {status}", { path, status: response.status }));
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
  $("#who").hidden = true;
  $("#key-panel").hidden = false;
  $("#key-error").textContent = message;
  $("#api-key").value = "";
  $("#api-key").focus();
}

async function onKeySubmit(event) {
  event.preventDefault();
  const key = $("#api-key").value.trim();
  if (!key) {
    $("#key-error").textContent = t("Enter an API key.");
    return;
  }
  $("#key-error").textContent = t("Checking the key…");
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
  stopFollowing();
  sessionStorage.removeItem(KEY_STORAGE);
  showKeyPanel(t("The key was forgotten."));
}

// ---- the board ----

async function showBoard() {
  $("#key-panel").hidden = true;
  $("#forget-key").hidden = false;
  $("#board").hidden = false;
  $("#board").focus();
  try {
    await loadIdentity();
    await loadSecretariats();
  } catch (error) {
    if (error instanceof KeyRefused) {
      sessionStorage.removeItem(KEY_STORAGE);
      showKeyPanel(error.message);
      return;
    }
  }
  // The key's secretariat is the view it opens on, unless the address asks for another.
  applyAddress();
  await refresh();
  startFollowing();
  showDetail();
}

async function loadSecretariats() {
  const select = $("#f-secretariat");
  if (select.options.length > 1) return;
  const { items } = await api("/v1/secretariats");
  for (const s of items) select.append(el("option", { value: s.code, text: s.code }));
}

// The meetings to filter by: those still to come in the chosen weeks, and the one chosen.
async function loadMeetingChoices(f) {
  const select = $("#f-meeting");
  const meetings = await allPages("/v1/meetings", { from: f.from, to: f.to });
  meetings.sort((a, b) => a.start_date.localeCompare(b.start_date) || a.code.localeCompare(b.code));
  const chosen = select.value;
  meetingsByCode = new Map(meetings.map((m) => [m.code, m]));
  if (chosen && !meetingsByCode.has(chosen)) meetingsByCode.set(chosen, await api(`/v1/meetings/${encodeURIComponent(chosen)}`));
  fill(select, el("option", { value: "", text: t("All meetings") }), [...meetingsByCode.values()].map((m) => el("option", { value: m.code, text: `${m.code} · ${shortDate(m.start_date)}` })));
  select.value = chosen;
}

let meetingsByCode = new Map();

function filters() {
  const form = new FormData($("#filters"));
  return {
    from: form.get("from"),
    to: form.get("to"),
    secretariat: form.get("secretariat"),
    kind: form.get("kind"),
    meeting: form.get("meeting"),
  };
}

// ---- the address: #/<panel>?<filters>, so a filtered view or an object's panel is a link ----

function parseHash() {
  const raw = window.location.hash.replace(/^#/, "");
  const mark = raw.indexOf("?");
  return mark < 0 ? { path: raw, params: new URLSearchParams() } : { path: raw.slice(0, mark), params: new URLSearchParams(raw.slice(mark + 1)) };
}

function hashFor(path, params) {
  const query = params.toString();
  return `#${path || "/"}${query ? `?${query}` : ""}`;
}

// The filters as the address holds them: only what differs from the default view (the weeks
// around today, and the key's own secretariat; "all" when an admin-like view is chosen).
function filterParams() {
  const f = filters();
  const params = new URLSearchParams();
  if (f.from !== $("#f-from").defaultValue) params.set("from", f.from);
  if (f.to !== $("#f-to").defaultValue) params.set("to", f.to);
  if (f.secretariat !== defaultSecretariat()) params.set("secretariat", f.secretariat || "all");
  if (f.kind) params.set("kind", f.kind);
  if (f.meeting) params.set("meeting", f.meeting);
  return params;
}

const defaultSecretariat = () => (me && me.secretariat) || "";

// Sets the filter fields from the address; whether they changed.
function applyAddress() {
  const { params } = parseHash();
  const wanted = {
    "#f-from": params.get("from") || $("#f-from").defaultValue,
    "#f-to": params.get("to") || $("#f-to").defaultValue,
    "#f-secretariat": params.get("secretariat") === "all" ? "" : params.get("secretariat") || defaultSecretariat(),
    "#f-kind": params.get("kind") || "",
    "#f-meeting": params.get("meeting") || "",
  };
  let changed = false;
  for (const [selector, value] of Object.entries(wanted)) {
    const field = $(selector);
    if (field.tagName === "SELECT" && value && ![...field.options].some((o) => o.value === value)) field.append(el("option", { value, text: value }));
    if (field.value !== value) {
      field.value = value;
      changed = true;
    }
  }
  return changed;
}

// A link to an object's panel that keeps the filters of the address.
function objectHref(kind, id) {
  return hashFor(`/${kind}/${encodeURIComponent(id)}`, parseHash().params);
}

function onFiltersSubmit(event) {
  event.preventDefault();
  history.pushState(null, "", hashFor(parseHash().path, filterParams()));
  refresh();
}

async function onAddressChange() {
  if (applyAddress()) await refresh();
  await showDetail();
}

async function refresh(event) {
  if (event) event.preventDefault();
  const main = $("#main");
  main.dataset.state = "loading";
  main.setAttribute("aria-busy", "true");
  $("#status").textContent = t("Loading…");
  try {
    await loadSecretariats();
    let f = filters();
    if (f.from && f.to && f.to < f.from) throw new Error(t("the range ends before it starts."));
    await loadMeetingChoices(f);
    f = filters();
    const today = document.body.dataset.today;
    const support = { from: f.from, to: f.to, secretariat: f.secretariat, kind: f.kind };
    const [workload, exchange, capacity, unmet, activities, meetings, upcoming, decisions] = await Promise.all([
      api("/v1/stats/workload", support),
      api("/v1/stats/exchange", support),
      api("/v1/stats/capacity", support),
      api("/v1/stats/unmet-skills", { ...support, limit: 8, requests_per_skill: 3 }),
      api("/v1/stats/activities", { from: f.from, to: f.to, secretariat: f.secretariat }),
      allPages("/v1/meetings", { from: f.from, to: f.to, status: "scheduled" }),
      allPages("/v1/meetings", { from: today, status: "scheduled", secretariat: f.secretariat }),
      openRequests(f, today),
      loadMyDecisions(),
      loadMine(),
      loadSuggestions(),
      loadMatchingStatus(),
    ]);
    const [discrepancyCounts, discrepancies, shortfall] = await Promise.all([
      api("/v1/listings/discrepancies/counts"),
      api("/v1/listings/discrepancies", { limit: 6 }),
      api("/v1/forecast/shortfall", { from: today, secretariat: f.secretariat }),
    ]);
    // A chosen meeting takes the place of the next one.
    const next = f.meeting ? meetingsByCode.get(f.meeting) : nextMeeting(upcoming, today);
    const meetingStats = next ? await api(`/v1/stats/meetings/${encodeURIComponent(next.code)}`, { secretariat: f.secretariat, kind: f.kind }) : null;
    renderHeadline(workload, exchange);
    renderWorkload(workload, meetings, f, today);
    renderDecisions(decisions, today);
    renderExchange(exchange);
    renderNextMeeting(meetingStats, today);
    renderActivities(activities);
    renderCapacity(capacity);
    renderUnmetSkills(unmet);
    renderDiscrepancies(discrepancyCounts, discrepancies.items);
    renderShortfall(shortfall);
    $("#status").textContent = t("Updated at {time}", { time: new Date().toLocaleTimeString(LOCALE, { hour: "2-digit", minute: "2-digit" }) });
    main.dataset.state = "ready";
  } catch (error) {
    if (error instanceof KeyRefused) {
      sessionStorage.removeItem(KEY_STORAGE);
      showKeyPanel(error.message);
    } else {
      $("#status").textContent = t("Could not load the figures: {reason}", { reason: error.message });
    }
    main.dataset.state = "error";
  } finally {
    main.removeAttribute("aria-busy");
  }
}

// ---- charts ----

function niceStep(max, ticks = 4) {
  const raw = Math.max(max, 1) / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return Math.max(step, 1);
}

// Horizontal stacked bars: one row per category, one segment per series.
function stackedBars({ id, title, rows, series, unit, max: fixedMax }) {
  const rowHeight = 30;
  const labelWidth = 200;
  const width = 640;
  const barWidth = width - labelWidth - (rows.some((r) => r.totalText) ? 150 : 40);
  const max = fixedMax || Math.max(1, ...rows.map((r) => r.total));
  const height = rows.length * rowHeight + 8;
  const titleId = `${id}-title`;
  const chart = svg(
    "svg",
    { class: "chart bars", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": titleId, id },
    svg("title", { id: titleId, text: title }),
  );
  rows.forEach((row, i) => {
    const y = i * rowHeight + 4;
    chart.append(svg("text", { x: labelWidth - 8, y: y + 17, "text-anchor": "end", text: row.label }));
    if (row.outline !== undefined) {
      const w = (row.outline / max) * barWidth;
      chart.append(
        svg("rect", { x: labelWidth, y, width: Math.max(w, 1), height: rowHeight - 8, fill: HOURS.requested.colour, stroke: HOURS.requested.stroke, "data-row": row.key, "data-series": "outline", "data-value": row.outline }),
      );
    }
    let x = labelWidth;
    for (const s of series) {
      const value = row.values[s.key] || 0;
      if (value > 0) {
        const w = (value / max) * barWidth;
        const inset = row.outline !== undefined ? 4 : 0;
        chart.append(
          svg(
            "rect",
            { x, y: y + inset, width: Math.max(w, 1), height: rowHeight - 8 - 2 * inset, fill: s.colour, "data-row": row.key, "data-series": s.key, "data-value": value },
            svg("title", { text: `${row.label}, ${t(s.label)}: ${fmtNumber(value)} ${t(unit)}` }),
          ),
        );
        x += w;
      }
    }
    const end = Math.max(x, row.outline !== undefined ? labelWidth + (row.outline / max) * barWidth : x);
    chart.append(svg("text", { x: end + 6, y: y + 17, "data-total": row.key, text: row.totalText || String(row.total) }));
  });
  return chart;
}

// Weekly hours of one secretariat: requested as a grey bar, accepted and proposed stacked
// inside it, the meetings as shaded bands with their codes, today as a dashed line.
function weeklyChart({ id, title, weeks, byWeek, max, meetings, today }) {
  const width = 1100;
  const left = 52;
  const right = 8;
  const top = 40;
  const plot = 170;
  const bottom = 34;
  const height = top + plot + bottom;
  const slot = (width - left - right) / weeks.length;
  const step = niceStep(max);
  const yMax = Math.ceil(max / step) * step || step;
  const y = (v) => top + plot - (v / yMax) * plot;
  const first = parseDay(weeks[0]);
  const x = (ms) => left + ((ms - first) / (7 * DAY_MS)) * slot;
  const titleId = `${id}-title`;
  const descId = `${id}-desc`;
  const totals = { requested: 0, proposed: 0, accepted: 0 };
  for (const w of Object.values(byWeek)) for (const k of Object.keys(totals)) totals[k] += w[k];
  const chart = svg(
    "svg",
    { class: "chart weekly", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": `${titleId} ${descId}`, id },
    svg("title", { id: titleId, text: title }),
    svg("desc", {
      id: descId,
      text: t("{weeks} weeks from {start}: {requested} requested, {proposed} proposed, {accepted} accepted. Meetings: {meetings}.", { weeks: weeks.length, start: shortDate(weeks[0]), requested: fmtHours(totals.requested), proposed: fmtHours(totals.proposed), accepted: fmtHours(totals.accepted), meetings: meetings.map((m) => m.code).join(", ") || t("none") }),
    }),
  );
  // Meetings first, under the bars.
  meetings.forEach((m, i) => {
    const x0 = Math.max(left, x(parseDay(m.start_date)));
    const x1 = Math.min(width - right, x(parseDay(m.end_date) + DAY_MS));
    if (x1 <= left || x0 >= width - right) return;
    chart.append(
      svg(
        "g",
        { class: "meeting", "data-code": m.code },
        svg("rect", { class: "meeting", x: x0, y: top, width: Math.max(x1 - x0, 2), height: plot }),
        svg("line", { class: "meeting-line", x1: x0, x2: x0, y1: top - 14 + (i % 2) * 12, y2: top + plot }),
        svg("text", { x: x0 + 3, y: top - 16 + (i % 2) * 12, class: "meeting-label", text: m.code }),
      ),
    );
  });
  // Grid and y axis.
  for (let v = 0; v <= yMax; v += step) {
    chart.append(svg("line", { class: "grid-line", x1: left, x2: width - right, y1: y(v), y2: y(v) }));
    chart.append(svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", text: fmtNumber(v) }));
  }
  chart.append(svg("text", { x: 4, y: top - 26, class: "axis-label", text: t("hours") }));
  // Bars.
  const labelEvery = Math.ceil(weeks.length / 14);
  weeks.forEach((week, i) => {
    const w = byWeek[week] || { requested: 0, proposed: 0, accepted: 0 };
    const x0 = left + i * slot;
    const outer = slot * 0.78;
    const inner = slot * 0.46;
    const label = t("Week of {date}", { date: shortDate(week) });
    if (w.requested > 0) {
      chart.append(
        svg(
          "rect",
          { x: x0 + (slot - outer) / 2, y: y(w.requested), width: outer, height: top + plot - y(w.requested), fill: HOURS.requested.colour, stroke: HOURS.requested.stroke, "data-week": week, "data-series": "requested", "data-value": w.requested },
          svg("title", { text: `${label}: ${fmtHours(w.requested)} ${t("requested")}` }),
        ),
      );
    }
    let base = 0;
    for (const series of ["accepted", "proposed"]) {
      const value = w[series];
      if (value > 0) {
        chart.append(
          svg(
            "rect",
            { x: x0 + (slot - inner) / 2, y: y(base + value), width: inner, height: y(base) - y(base + value), fill: HOURS[series].colour, "data-week": week, "data-series": series, "data-value": value },
            svg("title", { text: `${label}: ${fmtHours(value)} ${t(series)}` }),
          ),
        );
        base += value;
      }
    }
    if (i % labelEvery === 0) {
      chart.append(svg("text", { x: x0 + slot / 2, y: top + plot + 16, "text-anchor": "middle", text: shortDate(week) }));
    }
  });
  chart.append(svg("line", { class: "axis", x1: left, x2: width - right, y1: top + plot, y2: top + plot }));
  // Today.
  const now = x(parseDay(today));
  if (now > left && now < width - right) {
    chart.append(
      svg("g", { class: "today" }, svg("line", { class: "today-line", x1: now, x2: now, y1: top, y2: top + plot }), svg("text", { x: now + 3, y: top + plot + 30, text: t("today") })),
    );
  }
  return chart;
}

// ---- panels ----

function renderHeadline(workload, exchange) {
  const sums = workload.totals;
  fill($("#headline"), 
    figure(fmtHours(sums.hours_requested), t("requested"), "hours-requested"),
    figure(fmtHours(sums.hours_proposed), t("proposed, awaiting a decision"), "hours-proposed"),
    figure(fmtHours(sums.hours_accepted), t("accepted"), "hours-accepted"),
    figure(fmtHours(sums.unmet_hours), t("not accepted yet"), "unmet-hours"),
    figure(fmtNumber(sums.open_requests), t("open requests"), "open-requests"),
    figure(fmtPercent(exchange.totals.remote_share), t("of accepted hours given remotely"), "remote-share"),
  );
}

function weeksOf(from, to) {
  const weeks = [];
  for (let ms = mondayOf(from); ms <= parseDay(to); ms += 7 * DAY_MS) weeks.push(isoDay(ms));
  return weeks;
}

function renderWorkload(workload, meetings, f, today) {
  const body = $("#workload .body");
  const weeks = weeksOf(f.from, f.to);
  const secretariats = f.secretariat ? [f.secretariat] : [...new Set(workload.weeks.map((w) => w.secretariat))].sort();
  // Kinds are summed per secretariat and week (the kind filter above picks one).
  const bySecretariat = {};
  for (const w of workload.weeks) {
    const weekly = (bySecretariat[w.secretariat] ||= {});
    const cell = (weekly[w.week_start] ||= { requested: 0, proposed: 0, accepted: 0, unmet: 0, open: 0 });
    cell.requested += w.hours_requested;
    cell.proposed += w.hours_proposed;
    cell.accepted += w.hours_accepted;
    cell.unmet += w.unmet_hours;
    cell.open += w.open_requests;
  }
  const max = Math.max(1, ...Object.values(bySecretariat).flatMap((weekly) => Object.values(weekly).flatMap((c) => [c.requested, c.accepted + c.proposed])));
  const kind = f.kind ? ` (${f.kind === "ict" ? t("ICT") : t("staff")})` : "";
  const ordered = [...meetings].sort((a, b) => a.start_date.localeCompare(b.start_date));
  fill(body, 
    legend([
      { label: N_("requested"), colour: HOURS.requested.colour, stroke: HOURS.requested.stroke },
      { label: N_("accepted"), colour: HOURS.accepted.colour },
      { label: N_("proposed, awaiting a decision"), colour: HOURS.proposed.colour },
      { label: N_("governing-body meeting"), colour: "#fdf0d5", stroke: "#b45309" },
    ]),
    secretariats.length
      ? secretariats.map((s) => {
          const weekly = bySecretariat[s] || {};
          return el(
            "div",
            { class: "weekly-panel", "data-secretariat": s },
            el("h3", { text: t("Asked by {secretariat}", { secretariat: s }) + kind }),
            weeklyChart({ id: `weekly-${s}`, title: t("Hours asked by {secretariat} per week: requested, proposed and accepted", { secretariat: s }), weeks, byWeek: weekly, max, meetings: ordered, today }),
            details(
              t("The weekly figures of {secretariat} as a table", { secretariat: s }),
              table(
                t("Hours asked by {secretariat}, per week", { secretariat: s }),
                [{ label: t("Week of"), header: true }, { label: t("Requested"), num: true }, { label: t("Proposed"), num: true }, { label: t("Accepted"), num: true }, { label: t("Not accepted"), num: true }, { label: t("Open requests"), num: true }],
                weeks.filter((w) => weekly[w]).map((w) => [w, fmtNumber(weekly[w].requested), fmtNumber(weekly[w].proposed), fmtNumber(weekly[w].accepted), fmtNumber(weekly[w].unmet), fmtNumber(weekly[w].open)]),
                { "data-table": `weekly-${s}` },
              ),
            ),
          );
        })
      : empty(t("No support was asked for in these weeks.")),
    el("p", { class: "help", text: t("Requested hours are spread evenly over the working days of each request; proposed and accepted hours are shown on the days the people work.") }),
  );
}

async function openRequests(f, today) {
  // Requests not yet fully accepted: with proposals waiting for the offering secretariat's
  // decision, or with nothing proposed yet. Windows already over are left to expire.
  const params = { from: today > f.from ? today : f.from, to: f.to, secretariat: f.secretariat, kind: f.kind, meeting_code: f.meeting };
  if (params.to && params.to < params.from) return [];
  const [lists, proposals, offers] = await Promise.all([
    Promise.all(["matched", "partially_matched", "open"].map((status) => allPages("/v1/workload-requests", { ...params, status }))),
    allPages("/v1/allocations", { status: "proposed" }),
    allPages("/v1/capacity-offers", { status: "active" }),
  ]);
  // Whose decision each waiting proposal is: the secretariat of the offer it draws on.
  const offerOwner = new Map(offers.map((o) => [o.id, o.secretariat]));
  const deciders = new Map();
  for (const a of proposals) {
    const owner = offerOwner.get(a.offer_id);
    if (owner) (deciders.get(a.request_id) || deciders.set(a.request_id, new Set()).get(a.request_id)).add(owner);
  }
  return lists.flat().map((r) => ({ ...r, deciders: [...(deciders.get(r.id) || [])].sort() }));
}

function decisionOrder(a, b) {
  return a.start_date.localeCompare(b.start_date) || PRIORITY_ORDER[a.priority] - PRIORITY_ORDER[b.priority] || a.title.localeCompare(b.title) || a.id.localeCompare(b.id);
}

// Whose move it is: an offer for a request nothing is proposed for, else the decision of the
// secretariats whose offers the proposals draw on.
function waitingFor(r) {
  if (!(r.hours_proposed > 0)) return t("an offer");
  const deciders = r.deciders || [];
  const text = t("a decision by {secretariats}, the offering secretariat", { secretariats: deciders.join(", ") || "?" });
  return me && me.secretariat && deciders.includes(me.secretariat) ? `${text} ${t("(yours)")}` : text;
}

function renderDecisions(requests, today) {
  const body = $("#decisions .body");
  const sorted = [...requests].sort(decisionOrder);
  const waiting = sorted.filter((r) => r.hours_proposed > 0).length;
  const shown = sorted.slice(0, DECISIONS_SHOWN);
  fill(body, 
    el("p", {
      "data-figure": "decisions-count",
      text: sorted.length ? t(sorted.length === 1 ? "{count} open request; {waiting} with proposals waiting for the offering secretariat." : "{count} open requests; {waiting} with proposals waiting for the offering secretariat.", { count: fmtNumber(sorted.length), waiting: fmtNumber(waiting) }) : "",
    }),
    shown.length
      ? table(
          t("Open requests, soonest first"),
          [{ label: t("Request"), header: true }, { label: t("By") }, { label: t("Needed") }, { label: t("Hours"), num: true }, { label: t("Proposed"), num: true }, { label: t("Accepted"), num: true }, { label: t("Waiting for") }],
          shown.map((r) => [
            el("span", { "data-request": r.id }, el("a", { href: objectHref("requests", r.id), text: r.title }), " ", el("span", { class: `tag priority-${r.priority}`, text: PRIORITY_LABELS()[r.priority] })),
            `${r.secretariat} · ${r.kind === "ict" ? t("ICT") : t("staff")}`,
            r.start_date === r.end_date ? shortDate(r.start_date) : `${shortDate(r.start_date)} – ${shortDate(r.end_date)}`,
            fmtNumber(r.hours),
            fmtNumber(r.hours_proposed),
            fmtNumber(r.hours_accepted),
            waitingFor(r),
          ]),
          { id: "decisions-table" },
        )
      : empty(t("No open request needs a decision.")),
    sorted.length > shown.length ? el("p", { class: "help", text: t("And {count} more.", { count: fmtNumber(sorted.length - shown.length) }) }) : null,
  );
}

function renderExchange(exchange) {
  const body = $("#exchange .body");
  const sums = exchange.totals;
  const max = Math.max(1, ...exchange.by_secretariat.flatMap((b) => [b.hours_given, b.hours_received]));
  const rows = exchange.by_secretariat.flatMap((b) => [
    { key: `${b.secretariat}-given`, label: t("{secretariat} gave", { secretariat: b.secretariat }), total: b.hours_given, totalText: fmtHours(b.hours_given), values: { given: b.hours_given } },
    { key: `${b.secretariat}-received`, label: t("{secretariat} received", { secretariat: b.secretariat }), total: b.hours_received, totalText: fmtHours(b.hours_received), values: { received: b.hours_received } },
  ]);
  const modeRow = { key: "modes", label: t("Accepted hours"), total: sums.hours_accepted, totalText: fmtHours(sums.hours_accepted), values: { remote: sums.remote_hours, on_site: sums.on_site_hours, travel: sums.travel_hours } };
  const balanceText = (b) => (b.balance > 0 ? t("gave {hours} more than it received", { hours: fmtHours(b.balance) }) : b.balance < 0 ? t("received {hours} more than it gave", { hours: fmtHours(-b.balance) }) : b.hours_given || b.hours_received ? t("gave as much as it received") : t("neither gave nor received accepted hours"));
  fill(body, 
    exchange.by_secretariat.length
      ? [
          el("ul", { class: "plain", id: "balance" }, exchange.by_secretariat.map((b) => el("li", { "data-secretariat": b.secretariat, "data-balance": b.balance }, el("strong", { text: b.secretariat }), ` ${balanceText(b)}.`))),
          stackedBars({
            id: "exchange-chart",
            title: t("Accepted hours each secretariat gave and received"),
            rows,
            series: [
              { key: "given", label: N_("given"), colour: "#1a7f37" },
              { key: "received", label: N_("received"), colour: "#0b5cad" },
            ],
            unit: "hours",
            max,
          }),
          el("h3", { text: sums.remote_share === null || sums.remote_share === undefined ? t("How the support was given: no hours accepted yet") : t("How the support was given: {share} remotely", { share: fmtPercent(sums.remote_share) }) }),
          legend(Object.values(MODES)),
          stackedBars({
            id: "modes-chart",
            title: t("Accepted hours given remotely, on site, or on site after travel: {share} remotely", { share: fmtPercent(sums.remote_share) }),
            rows: [modeRow],
            series: Object.entries(MODES).map(([key, m]) => ({ key, label: m.label, colour: m.colour })),
            unit: "hours",
          }),
          details(
            t("Who helped whom, as a table"),
            table(
              t("Hours given, by secretariat"),
              [{ label: t("From → to"), header: true }, { label: t("Accepted"), num: true }, { label: t("Proposed"), num: true }, { label: t("Remote"), num: true }, { label: t("On site"), num: true }, { label: t("Travel"), num: true }],
              exchange.pairs.map((p) => [`${p.giver} → ${p.receiver}`, fmtNumber(p.hours_accepted), fmtNumber(p.hours_proposed), fmtNumber(p.remote_hours), fmtNumber(p.on_site_hours), fmtNumber(p.travel_hours)]),
              { id: "exchange-table" },
            ),
          ),
        ]
      : empty(t("No hours were given or proposed in these weeks.")),
  );
}

function nextMeeting(upcoming, today) {
  const ahead = upcoming.filter((m) => m.end_date >= today);
  ahead.sort((a, b) => a.start_date.localeCompare(b.start_date) || a.code.localeCompare(b.code));
  return ahead[0] || null;
}

function renderNextMeeting(stats, today) {
  const body = $("#next-meeting .body");
  if (!stats) {
    fill(body, empty(t("No meeting is scheduled.")));
    return;
  }
  const m = stats.meeting;
  const sums = stats.support.totals;
  const days = Math.round((parseDay(m.start_date) - parseDay(today)) / DAY_MS);
  const when = days > 0 ? relative().format(days, "day") : t("under way");
  const modes = t("({remote} remote, {on_site} on site, {travel} after travel)", { remote: fmtHours(sums.remote_hours), on_site: fmtHours(sums.on_site_hours), travel: fmtHours(sums.travel_hours) });
  fill(body, 
    el("h3", { id: "next-meeting-code", "data-code": m.code, text: `${m.code}: ${m.title}` }),
    el("p", { text: t("{start} to {end}, {place} ({when}).", { start: shortDate(m.start_date), end: shortDate(m.end_date), place: m.location, when }) }),
    el(
      "p",
      { "data-figure": "meeting-support" },
      t("Support: {requests}, {asked} asked, {proposed} proposed, {accepted} accepted", {
        requests: sums.requests === 1 ? t("1 request") : t("{count} requests", { count: fmtNumber(sums.requests) }),
        asked: fmtHours(sums.hours_requested),
        proposed: fmtHours(sums.hours_proposed),
        accepted: fmtHours(sums.hours_accepted),
      }) + (sums.hours_accepted ? ` ${modes}.` : "."),
    ),
    stats.support.requests.length
      ? table(
          t("Support requests for the meeting"),
          [{ label: t("Request"), header: true }, { label: t("Status") }, { label: t("Hours"), num: true }, { label: t("Helpers") }],
          stats.support.requests.map((r) => [
            `${r.title} (${r.secretariat})`,
            statusLabel(r.status),
            fmtNumber(r.hours),
            r.helpers.length ? r.helpers.map((h) => `${h.secretariat} ${fmtHours(h.hours)} ${statusLabel(h.status)}${h.mode === "travel" ? `, ${t("travels")}` : h.mode === "remote" ? `, ${t("remote")}` : ""}`).join("; ") : t("none yet"),
          ]),
          { id: "meeting-requests" },
        )
      : null,
    el("h3", { text: t("Joint activities reported to it ({count})", { count: stats.activities.total }) }),
    stats.activities.total
      ? el(
          "div",
          { id: "next-meeting-activities" },
          stats.activities.by_theme.map((group) => [
            el("h4", { text: `${themeLabel(group.theme)} (${group.total})` }),
            el(
              "ul",
              { class: "plain" },
              group.activities.map((a) => el("li", { "data-activity": a.id }, a.title, " ", el("span", { class: "tag", text: `${t("{secretariat} lead", { secretariat: a.lead_secretariat })} · ${statusLabel(a.status)}` }))),
            ),
          ]),
        )
      : empty(t("No joint activity is reported to it yet.")),
  );
}

function renderActivities(stats) {
  const body = $("#activities .body");
  const statuses = stats.by_status.map((s) => s.status);
  const byStatus = Object.fromEntries(stats.by_status.map((s) => [s.status, s.activities]));
  const rows = stats.by_theme.map((row) => ({ key: row.theme, label: themeLabel(row.theme), total: row.activities, values: row.by_status }));
  const series = statuses.map((s) => ({ key: s, label: s, colour: STATUS_COLOURS[s] }));
  const leads = stats.by_lead_secretariat.map((l) => `${l.secretariat} ${l.activities}`).join(", ") || t("none");
  fill(body, 
    el(
      "div",
      { class: "figures" },
      figure(String(stats.total), t("activities in the period"), "activities-total"),
      figure(String(byStatus.ongoing || 0), t("ongoing"), "activities-ongoing"),
      figure(String(byStatus.planned || 0), t("planned"), "activities-planned"),
    ),
    legend(series),
    stackedBars({ id: "activities-chart", title: t("Joint activities by theme and status: {count} in all", { count: stats.total }), rows, series, unit: N_("activities") }),
    el("p", { text: t("Lead secretariat: {leads}.", { leads }) }),
    details(
      t("The figures as a table"),
      table(
        t("Joint activities by theme and status"),
        [{ label: t("Theme"), header: true }, ...statuses.map((s) => ({ label: statusLabel(s), num: true })), { label: t("All"), num: true }],
        stats.by_theme.map((row) => [themeLabel(row.theme), ...statuses.map((s) => String(row.by_status[s])), String(row.activities)]),
      ),
    ),
    el("h3", { text: t("Species most often covered") }),
    stats.species.length
      ? el("ol", { id: "species-list" }, stats.species.map((s) => el("li", { "data-species": s.species }, el("i", { text: s.species }), ` — ${s.activities === 1 ? t("1 activity") : t("{count} activities", { count: s.activities })}`)))
      : empty(t("No species in the activities of the period.")),
  );
}

function renderCapacity(capacity) {
  const body = $("#capacity .body");
  const rows = capacity.by_secretariat.map((s) => ({
    key: s.secretariat,
    label: t("{secretariat} offered", { secretariat: s.secretariat }),
    outline: s.hours_offered,
    total: s.hours_offered,
    totalText: t("{hours} · {share} used", { hours: fmtHours(s.hours_offered), share: fmtPercent(s.utilisation) }),
    values: { accepted: s.hours_accepted, proposed: s.hours_proposed },
  }));
  const max = Math.max(1, ...capacity.by_secretariat.map((s) => Math.max(s.hours_offered, s.hours_accepted + s.hours_proposed)));
  fill(body, 
    capacity.offers.length
      ? [
          legend([
            { label: N_("offered"), colour: HOURS.requested.colour, stroke: HOURS.requested.stroke },
            { label: N_("accepted"), colour: HOURS.accepted.colour },
            { label: N_("proposed"), colour: HOURS.proposed.colour },
          ]),
          stackedBars({
            id: "capacity-chart",
            title: t("Hours each secretariat offered, and how much of it was accepted or proposed"),
            rows,
            series: [
              { key: "accepted", label: N_("accepted"), colour: HOURS.accepted.colour },
              { key: "proposed", label: N_("proposed"), colour: HOURS.proposed.colour },
            ],
            unit: "hours",
            max,
          }),
          table(
            t("Capacity offers by secretariat"),
            [{ label: t("Secretariat"), header: true }, { label: t("Offers"), num: true }, { label: t("Offered"), num: true }, { label: t("Proposed"), num: true }, { label: t("Accepted"), num: true }, { label: t("Used"), num: true }],
            capacity.by_secretariat.map((s) => [s.secretariat, fmtNumber(s.offers), fmtNumber(s.hours_offered), fmtNumber(s.hours_proposed), fmtNumber(s.hours_accepted), fmtPercent(s.utilisation)]),
            { id: "capacity-table" },
          ),
          details(
            t("Each of the {count} offers", { count: capacity.offers.length }),
            table(
              t("Capacity offers"),
              [{ label: t("Offer"), header: true }, { label: t("By") }, { label: t("Offered"), num: true }, { label: t("Accepted"), num: true }, { label: t("Used"), num: true }],
              capacity.offers.map((o) => [`${o.title}${o.status === "withdrawn" ? ` (${t("withdrawn")})` : ""}`, `${o.secretariat} · ${o.kind === "ict" ? t("ICT") : t("staff")}`, fmtNumber(o.hours_offered), fmtNumber(o.hours_accepted), fmtPercent(o.utilisation)]),
            ),
          ),
        ]
      : empty(t("No capacity was offered in these weeks.")),
  );
}

function renderUnmetSkills(unmet) {
  const body = $("#unmet-skills .body");
  fill(body, 
    unmet.skills.length
      ? table(
          t("Skills with the most hours not accepted"),
          [{ label: t("Skill"), header: true }, { label: t("Not accepted"), num: true }, { label: t("Not even proposed"), num: true }, { label: t("Requests"), num: true }, { label: t("Largest requests") }],
          unmet.skills.map((s) => [
            el("span", { "data-skill": s.skill, text: s.skill }),
            fmtNumber(s.unmet_hours),
            fmtNumber(s.unproposed_hours),
            fmtNumber(s.requests),
            s.top_requests.map((r) => `${r.title} (${r.secretariat}, ${fmtHours(r.unmet_hours)})`).join("; "),
          ]),
          { id: "unmet-table" },
        )
      : empty(t("Every request of the period has its hours accepted.")),
  );
}

const DISCREPANCY_KINDS = [
  ["different_listing", N_("Listed by both, at different levels")],
  ["listed_by_one_only", N_("Listed by one convention only")],
  ["different_names", N_("Same taxon, different names (incl. splits and lumps)")],
  ["not_covered", N_("Listed taxa no joint activity covers")],
];

function renderDiscrepancies(counts, examples) {
  const body = $("#discrepancies .body");
  fill(body,
    counts.total
      ? [
          table(
            t("Discrepancies between the registers: {count} in all", { count: fmtNumber(counts.total) }),
            [{ label: t("Kind"), header: true }, { label: t("Entries"), num: true }],
            DISCREPANCY_KINDS.map(([kind, label]) => [el("span", { "data-kind": kind, text: t(label) }), fmtNumber(counts.counts[kind] || 0)]),
            { id: "discrepancies-table" },
          ),
          details(
            t("First entries of the report"),
            el("ul", { id: "discrepancies-list", lang: "en" }, examples.map((e) => el("li", { "data-discrepancy": e.kind, text: e.sentence }))),
          ),
        ]
      : empty(t("No taxon register has been imported yet (tandem taxa import).")),
  );
}

// The forecast's expected shortfall over the next 26 weeks, by skill, with the meetings it
// comes from: the skills to find people for before those meetings.
function renderShortfall(result) {
  const body = $("#shortfall .body");
  const bySkill = new Map();
  for (const row of result.items) {
    const key = `${row.kind}:${row.skill}`;
    const entry = bySkill.get(key) || { kind: row.kind, skill: row.skill, expected: 0, covered: 0, shortfall: 0, meetings: new Set() };
    entry.expected += row.expected;
    entry.covered += row.offered + row.accepted;
    entry.shortfall += row.shortfall;
    row.meetings.forEach((code) => entry.meetings.add(code));
    bySkill.set(key, entry);
  }
  const rows = [...bySkill.values()].filter((e) => e.shortfall >= 0.5).sort((a, b) => b.shortfall - a.shortfall).slice(0, 8);
  if (!result.meetings.length) {
    fill(body, empty(t("No meeting is scheduled in the next 26 weeks.")));
    return;
  }
  fill(body, [
    el("p", {
      id: "shortfall-summary",
      text: t("{expected} expected around {meetings}; {shortfall} not yet covered by what is offered or accepted.", {
        expected: fmtHours(Math.round(result.total_expected)),
        meetings: result.meetings.map((m) => m.code).join(", "),
        shortfall: fmtHours(Math.round(result.total_shortfall)),
      }),
    }),
    rows.length
      ? table(
          t("Expected shortfall by skill"),
          [{ label: t("Skill"), header: true }, { label: t("Expected"), num: true }, { label: t("Offered or accepted"), num: true }, { label: t("Shortfall"), num: true }, { label: t("Meetings") }],
          rows.map((e) => [`${e.skill} (${e.kind})`, fmtHours(Math.round(e.expected)), fmtHours(Math.round(e.covered)), fmtHours(Math.round(e.shortfall)), [...e.meetings].join(", ")]),
          { id: "shortfall-table" },
        )
      : empty(t("What is offered covers what these meetings are expected to need.")),
  ]);
}

// ---- the workbench: who the key is, and what waits for its secretariat's decision ----

let me = null; // the key, as GET /v1/api-keys/me tells: {name, secretariat, scopes}
let feedCursor = null;
let pollTimer = null;
const POLL_MS = 2500;

const canWrite = () => Boolean(me && (me.scopes.includes("write") || me.scopes.includes("admin")));
const canDecide = () => Boolean(me && me.secretariat && (me.scopes.includes("approve") || me.scopes.includes("admin")));

const dayFormat = () => new Intl.DateTimeFormat(LOCALE, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
const relative = () => new Intl.RelativeTimeFormat(LOCALE, { numeric: "auto" });

// How long ago a timestamp was, in the largest unit that fits ("3 hours ago", "il y a 3 heures").
function ago(timestamp) {
  const seconds = Math.round((Date.parse(timestamp) - Date.now()) / 1000);
  const units = [
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relative().format(Math.round(seconds / size), unit);
  }
  return relative().format(0, "second");
}

const PRIORITY_LABELS = () => ({ low: t("low"), normal: t("normal"), high: t("high"), critical: t("critical") });

// The workbench's own sentence for each problem type the API may answer with; the API's
// detail (in English) follows it.
function problemSentence(problem, status) {
  const slug = problem && typeof problem.type === "string" ? problem.type.split("/").pop() : "";
  const sentences = {
    "wrong-status": t("Someone has already decided on this proposal, or it was cancelled."),
    "limit-exceeded": t("This proposal no longer fits: the hours were taken or the offer or request changed."),
    "conflicts-with-accepted": t("This conflicts with hours already accepted."),
    closed: t("This object is closed and can no longer change."),
    "validation-error": t("Some fields need correcting."),
    "not-found": t("This object no longer exists."),
    forbidden: t("This key may not do that."),
    unauthorized: t("This key is unknown or has been revoked."),
    "precondition-failed": t("Someone changed this in the meantime; the list has been reloaded."),
    "idempotency-key-reused": t("This was already sent with other values."),
    "too-many-requests": t("Too many requests at once; try again in a moment."),
  };
  const own = sentences[slug] || t("The server refused this ({status}).", { status });
  const detail = problem && problem.detail ? problem.detail : "";
  return detail ? `${own} ${detail}` : own;
}

class Refused extends Error {
  constructor(status, problem) {
    super(problemSentence(problem, status));
    this.status = status;
    this.problem = problem;
  }
}

function newIdempotencyKey() {
  return crypto.randomUUID();
}

// A call to the public API with the tab's key; a problem answer becomes a Refused. A change
// (PATCH) is a JSON merge patch, made only to the version `ifMatch` names.
async function exchange(method, path, body, { idempotencyKey = null, ifMatch = null } = {}) {
  const headers = { Authorization: `Bearer ${apiKey()}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = method === "PATCH" ? "application/merge-patch+json" : "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  if (ifMatch) headers["If-Match"] = ifMatch;
  const response = await fetch(new URL(path, window.location.origin), { method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Refused(response.status, data);
  return { data, etag: response.headers.get("ETag") };
}

async function send(method, path, body, options = {}) {
  return (await exchange(method, path, body, options)).data;
}

async function loadIdentity() {
  me = await api("/v1/api-keys/me");
  const who = $("#who");
  who.textContent = me.secretariat
    ? t("Key {name} of {secretariat}", { name: me.name, secretariat: me.secretariat })
    : t("Key {name} (administrator)", { name: me.name });
  who.hidden = false;
}

function fetchById(path, ids) {
  return Promise.all([...new Set(ids)].map((id) => api(`${path}/${id}`)));
}

async function loadMyDecisions() {
  const section = $("#my-decisions");
  if (!canDecide()) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  const [proposals, offers] = await Promise.all([
    allPages("/v1/allocations", { status: "proposed", secretariat: me.secretariat }),
    allPages("/v1/capacity-offers", { secretariat: me.secretariat }),
  ]);
  const ours = new Map(offers.map((o) => [o.id, o]));
  // The filter matches the asking or the offering side; only ours to decide stay.
  let mine = proposals.filter((a) => ours.has(a.offer_id));
  let requests = new Map((await fetchById("/v1/workload-requests", mine.map((a) => a.request_id))).map((r) => [r.id, r]));
  const { meeting } = filters();
  if (meeting) {
    mine = mine.filter((a) => requests.get(a.request_id).meeting_code === meeting);
    requests = new Map([...requests].filter(([, r]) => r.meeting_code === meeting));
  }
  const firstDay = (a) => (a.days.length ? a.days[0].date : requests.get(a.request_id).start_date);
  mine.sort((a, b) => firstDay(a).localeCompare(firstDay(b)) || PRIORITY_ORDER[requests.get(a.request_id).priority] - PRIORITY_ORDER[requests.get(b.request_id).priority] || a.id.localeCompare(b.id));
  renderMyDecisions(mine, ours, requests);
}

function daysList(days) {
  const format = dayFormat();
  return el(
    "ol",
    { class: "days" },
    days.map((d) => el("li", {}, el("time", { datetime: d.date, text: format.format(new Date(parseDay(d.date))) }), " ", el("span", { class: "hours", text: fmtHours(d.hours) }))),
  );
}

function modeOf(allocation, request) {
  if (allocation.travel) return t("on site, after travel");
  return request.on_site ? t("on site") : t("remote");
}

function fact(term, value) {
  return [el("dt", { text: term }), el("dd", {}, value)];
}

function proposalCard(allocation, offer, request) {
  const id = allocation.id;
  const titleId = `proposal-${id}-title`;
  const reasonId = `proposal-${id}-reason`;
  const errorId = `proposal-${id}-error`;
  const declineForm = el(
    "form",
    { class: "decline", hidden: true, novalidate: true, "aria-label": t("Decline the proposal for {title}", { title: request.title }) },
    el("label", { for: reasonId, text: t("Reason for declining (the asking secretariat sees it)") }),
    el("textarea", { id: reasonId, name: "reason", required: true, rows: 2, maxlength: 500, "aria-describedby": errorId }),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "danger", text: t("Decline") }), el("button", { type: "button", class: "quiet", "data-action": "keep", text: t("Keep the proposal") })),
  );
  const card = el(
    "li",
    { class: "proposal", "data-allocation": id },
    el(
      "article",
      { "aria-labelledby": titleId },
      el("h3", { id: titleId }, el("a", { href: objectHref("requests", request.id), text: request.title }), " ", el("span", { class: `tag priority-${request.priority}`, text: PRIORITY_LABELS()[request.priority] })),
      el(
        "p",
        { class: "whose" },
        t("{asker} asks; {offerer} decides (your secretariat). Proposed {ago}.", { asker: request.secretariat, offerer: offer.secretariat, ago: ago(allocation.created_at) }),
      ),
      el(
        "dl",
        { class: "facts" },
        fact(t("Asked by"), request.secretariat),
        fact(t("Meeting"), request.meeting_code || t("none")),
        fact(t("Your offer"), el("a", { href: objectHref("offers", offer.id), text: offer.title })),
        fact(t("Skills"), offer.skills.length ? el("span", {}, offer.skills.map((skill) => el("span", { class: "tag", text: skill }))) : t("none")),
        fact(t("Hours"), fmtHours(allocation.hours)),
        fact(t("How"), modeOf(allocation, request)),
        fact(t("Days"), daysList(allocation.days)),
      ),
      el(
        "div",
        { class: "actions" },
        el("button", { type: "button", "data-action": "accept", "aria-describedby": titleId, text: t("Accept") }),
        el("button", { type: "button", class: "quiet", "data-action": "decline", "aria-describedby": titleId, "aria-expanded": "false", text: t("Decline…") }),
      ),
      declineForm,
      el("p", { id: errorId, class: "error", role: "alert" }),
    ),
  );
  const [accept, openDecline] = card.querySelectorAll(".actions button");
  accept.addEventListener("click", () => decide(card, allocation, "accept", undefined, request.title));
  openDecline.addEventListener("click", () => {
    declineForm.hidden = false;
    openDecline.setAttribute("aria-expanded", "true");
    declineForm.querySelector("textarea").focus();
  });
  declineForm.querySelector('[data-action="keep"]').addEventListener("click", () => {
    declineForm.hidden = true;
    openDecline.setAttribute("aria-expanded", "false");
    openDecline.focus();
  });
  declineForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const field = declineForm.querySelector("textarea");
    const reason = field.value.trim();
    if (!reason) {
      card.querySelector(".error").textContent = t("Say why the proposal is declined.");
      field.setAttribute("aria-invalid", "true");
      field.focus();
      return;
    }
    decide(card, allocation, "decline", { reason }, request.title);
  });
  return card;
}

// Cards already shown are left where they are (never redrawn or moved), so a reason being
// typed and the focus survive the live updates; gone ones are removed, new ones slotted in.
function renderMyDecisions(mine, offers, requests) {
  const body = $("#my-decisions .body");
  $("#my-decisions").dataset.count = String(mine.length);
  if (!mine.length) {
    fill(body, empty(t("Nothing is waiting for your decision.")));
    return;
  }
  let list = body.querySelector("ol.proposals");
  if (!list) {
    list = el("ol", { class: "proposals" });
    fill(body, el("p", { class: "help", id: "decisions-count" }), list);
  }
  $("#decisions-count").textContent = mine.length === 1 ? t("One proposal waits for your decision, soonest first.") : t("{count} proposals wait for your decision, soonest first.", { count: fmtNumber(mine.length) });
  const wanted = new Set(mine.map((a) => a.id));
  for (const li of [...list.children]) if (!wanted.has(li.dataset.allocation)) li.remove();
  const shown = new Map([...list.children].map((li) => [li.dataset.allocation, li]));
  let previous = null;
  for (const a of mine) {
    const card = shown.get(a.id) || proposalCard(a, offers.get(a.offer_id), requests.get(a.request_id));
    if (!shown.has(a.id)) {
      if (previous) previous.after(card);
      else list.prepend(card);
    }
    previous = card;
  }
}

async function decide(card, allocation, verb, body, title) {
  const buttons = card.querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  card.querySelector(".error").textContent = "";
  $("#decision-error").textContent = "";
  try {
    await send("POST", `/v1/allocations/${allocation.id}/${verb}`, body, { idempotencyKey: newIdempotencyKey() });
    $("#decision-status").textContent = verb === "accept" ? t("Accepted: {title}.", { title }) : t("Declined: {title}.", { title });
  } catch (error) {
    if (error instanceof Refused && error.status === 422) {
      card.querySelector(".error").textContent = error.message;
      buttons.forEach((b) => (b.disabled = false));
      return;
    }
    $("#decision-error").textContent = error.message;
  }
  await loadMyDecisions();
  // The decided card is gone: the focus goes to the next proposal, or to the section.
  const next = $("#my-decisions li.proposal button[data-action='accept']");
  if (next) next.focus();
  else $("#my-decisions-title").focus();
}

// ---- my requests and my offers: status, hours, allocations, and why a request waits ----

const CANDIDATE_REASONS = {
  kind: N_("offers another kind of support"),
  skills: N_("lacks the skills {skills}"),
  same_secretariat: N_("belongs to the asking secretariat itself"),
  declined: N_("was declined for this request before"),
  location: N_("is in another place and its people cannot travel"),
  no_common_working_day: N_("has no working day in common with the request"),
  offer_withdrawn: N_("was withdrawn"),
  no_capacity_left: N_("has no hours left on the request's days"),
};

function groupBy(items, keyOf) {
  const groups = new Map();
  for (const item of items) {
    const key = keyOf(item);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(item);
  }
  return groups;
}

function hoursLine(item, asked) {
  return t("{asked} {what} · {proposed} proposed · {accepted} accepted", {
    asked: fmtHours(asked),
    what: item.total_hours === undefined ? t("requested") : t("offered"),
    proposed: fmtHours(item.hours_proposed),
    accepted: fmtHours(item.hours_accepted),
  });
}

function allocationLine(a, other) {
  const parts = [
    other ? `${other.secretariat} · ${other.title}` : "",
    fmtHours(a.hours),
    a.travel ? t("on site, after travel") : "",
    statusLabel(a.status),
  ].filter(Boolean);
  return el(
    "li",
    { "data-allocation": a.id, "data-status": a.status },
    el("a", { href: objectHref("allocations", a.id), text: parts.join(" · ") }),
    a.reason ? el("span", { class: "reason", text: ` — ${a.reason}` }) : null,
  );
}

function explainCandidate(c) {
  if (c.eligible) {
    if (c.hours_proposed || c.hours_accepted) return t("serves it: {proposed} proposed, {accepted} accepted", { proposed: fmtHours(c.hours_proposed), accepted: fmtHours(c.hours_accepted) });
    return t("could serve it, but its hours on these days go to requests of higher or equal priority");
  }
  const sentence = CANDIDATE_REASONS[c.reason];
  return sentence ? t(sentence, { skills: c.missing_skills.join(", ") }) : words(c.reason || "");
}

async function showCandidates(box, request) {
  const body = box.querySelector(".candidates-body");
  if (body.dataset.loaded) return;
  body.dataset.loaded = "yes";
  fill(body, el("p", { class: "help", text: t("Loading…") }));
  try {
    const explained = await api(`/v1/workload-requests/${request.id}/candidates`);
    fill(
      body,
      explained.items.length
        ? el(
            "ul",
            { class: "plain candidates" },
            explained.items.map((c) => el("li", { "data-offer": c.offer_id, "data-reason": c.reason || "eligible" }, el("strong", { text: `${c.secretariat} · ${c.title}` }), `: ${explainCandidate(c)}.`)),
          )
        : empty(t("No capacity offer of this kind exists yet.")),
    );
  } catch (error) {
    body.dataset.loaded = "";
    fill(body, el("p", { class: "error", text: error.message }));
  }
}

// An inline "are you sure" for a step that cannot be undone: the first button asks, the
// second confirms, the third keeps things as they are.
function confirmAction({ label, question, confirm, describedBy, run }) {
  const ask = el("button", { type: "button", class: "quiet", "aria-describedby": describedBy, text: label });
  const box = el(
    "div",
    { class: "confirm", hidden: true, role: "group", "aria-label": question },
    el("p", { text: question }),
    el("button", { type: "button", class: "danger", "data-action": "confirm", text: confirm }),
    el("button", { type: "button", class: "quiet", "data-action": "keep", text: t("Keep it") }),
  );
  ask.addEventListener("click", () => {
    box.hidden = false;
    ask.hidden = true;
    box.querySelector("[data-action='confirm']").focus();
  });
  box.querySelector("[data-action='keep']").addEventListener("click", () => {
    box.hidden = true;
    ask.hidden = false;
    ask.focus();
  });
  box.querySelector("[data-action='confirm']").addEventListener("click", run);
  return [ask, box];
}

async function closeItem(path, done, errorNode) {
  try {
    await send("POST", path, undefined, { idempotencyKey: newIdempotencyKey() });
    $("#mine-status").textContent = done;
  } catch (error) {
    errorNode.textContent = error.message;
  }
  await loadMine();
}

function requestItem(r, allocations, offers) {
  const titleId = `mine-request-${r.id}`;
  const error = el("p", { class: "error", role: "alert" });
  const short = r.hours_proposed + r.hours_accepted < r.hours && ["open", "partially_matched"].includes(r.status);
  const candidates = short ? el("details", { class: "candidates-box" }, el("summary", { text: t("Why is it not fully served?") }), el("div", { class: "candidates-body", "aria-live": "polite" })) : null;
  if (candidates) candidates.addEventListener("toggle", () => candidates.open && showCandidates(candidates, r));
  const closable = canWrite() && ["open", "partially_matched", "matched"].includes(r.status);
  const [ask, box] = closable
    ? confirmAction({
        label: t("Cancel the request…"),
        question: t("Cancel “{title}”? Its proposals are cancelled too.", { title: r.title }),
        confirm: t("Yes, cancel it"),
        describedBy: titleId,
        run: () => closeItem(`/v1/workload-requests/${r.id}/cancel`, t("Cancelled: {title}.", { title: r.title }), error),
      })
    : [null, null];
  return el(
    "li",
    { class: "item", "data-request": r.id, "data-status": r.status },
    el("h4", { id: titleId }, el("a", { href: objectHref("requests", r.id), text: r.title }), " ", el("span", { class: "tag", text: statusLabel(r.status) })),
    el("p", { class: "hours-line", text: `${r.start_date === r.end_date ? shortDate(r.start_date) : `${shortDate(r.start_date)} – ${shortDate(r.end_date)}`} · ${hoursLine(r, r.hours)}` }),
    allocations.length ? el("ul", { class: "plain allocations" }, allocations.map((a) => allocationLine(a, offers.get(a.offer_id)))) : el("p", { class: "help", text: t("Nothing proposed yet.") }),
    candidates,
    closable || ask ? el("div", { class: "actions" }, editButton("request", r.id, titleId, error), ask, box) : null,
    error,
  );
}

function editButton(which, id, describedBy, errorNode) {
  if (!canWrite()) return null;
  const button = el("button", { type: "button", class: "quiet", "data-action": "edit", "aria-describedby": describedBy, "aria-expanded": "false", "aria-controls": "forms", text: t("Change…") });
  button.addEventListener("click", () => openEditForm(which, id, button, errorNode));
  return button;
}

function offerItem(o, allocations, requests) {
  const titleId = `mine-offer-${o.id}`;
  const error = el("p", { class: "error", role: "alert" });
  const [ask, box] =
    canWrite() && o.status === "active"
      ? confirmAction({
          label: t("Withdraw the offer…"),
          question: t("Withdraw “{title}”? Its proposals are cancelled; accepted hours stay.", { title: o.title }),
          confirm: t("Yes, withdraw it"),
          describedBy: titleId,
          run: () => closeItem(`/v1/capacity-offers/${o.id}/withdraw`, t("Withdrawn: {title}.", { title: o.title }), error),
        })
      : [null, null];
  return el(
    "li",
    { class: "item", "data-offer": o.id, "data-status": o.status },
    el("h4", { id: titleId }, el("a", { href: objectHref("offers", o.id), text: o.title }), " ", el("span", { class: "tag", text: statusLabel(o.status) })),
    el("p", { class: "hours-line", text: `${shortDate(o.start_date)} – ${shortDate(o.end_date)} · ${hoursLine(o, o.total_hours)}` }),
    allocations.length ? el("ul", { class: "plain allocations" }, allocations.map((a) => allocationLine(a, requests.get(a.request_id)))) : el("p", { class: "help", text: t("Not proposed for any request yet.") }),
    ask ? el("div", { class: "actions" }, editButton("offer", o.id, titleId, error), ask, box) : null,
    error,
  );
}

async function loadMine() {
  const section = $("#mine");
  if (!me || !me.secretariat) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  document.querySelectorAll("[data-opens]").forEach((b) => (b.hidden = !canWrite()));
  const today = document.body.dataset.today;
  const meeting = meetingsByCode.get(filters().meeting);
  const during = meeting ? { from: meeting.start_date > today ? meeting.start_date : today, to: meeting.end_date } : { from: today };
  const [requests, offers, allocations] = await Promise.all([
    allPages("/v1/workload-requests", { secretariat: me.secretariat, from: today, meeting_code: meeting ? meeting.code : null }),
    allPages("/v1/capacity-offers", { secretariat: me.secretariat, ...during }),
    allPages("/v1/allocations", { secretariat: me.secretariat }),
  ]);
  const live = allocations.filter((a) => a.status !== "cancelled");
  const byRequest = groupBy(live, (a) => a.request_id);
  const byOffer = groupBy(live, (a) => a.offer_id);
  const ownRequests = new Set(requests.map((r) => r.id));
  const ownOffers = new Set(offers.map((o) => o.id));
  const [otherOffers, otherRequests] = await Promise.all([
    fetchById("/v1/capacity-offers", requests.flatMap((r) => (byRequest.get(r.id) || []).map((a) => a.offer_id)).filter((id) => !ownOffers.has(id))),
    fetchById("/v1/workload-requests", offers.flatMap((o) => (byOffer.get(o.id) || []).map((a) => a.request_id)).filter((id) => !ownRequests.has(id))),
  ]);
  const offersById = new Map([...offers, ...otherOffers].map((o) => [o.id, o]));
  const requestsById = new Map([...requests, ...otherRequests].map((r) => [r.id, r]));
  const shown = (list) => list.filter((x) => !["cancelled", "expired"].includes(x.status)).sort((a, b) => a.start_date.localeCompare(b.start_date) || a.title.localeCompare(b.title));
  const focused = document.activeElement && $("#mine").contains(document.activeElement) ? document.activeElement.closest("li.item") : null;
  const focusKey = focused ? focused.dataset.request || focused.dataset.offer : null;
  fill(
    $("#my-requests .body"),
    meeting ? el("p", { class: "help", text: t("For {meeting} only.", { meeting: meeting.code }) }) : null,
    shown(requests).length ? el("ol", { class: "items" }, shown(requests).map((r) => requestItem(r, byRequest.get(r.id) || [], offersById))) : empty(meeting ? t("You have no open request for this meeting.") : t("You have no open request.")),
  );
  fill(
    $("#my-offers .body"),
    meeting ? el("p", { class: "help", text: t("Offers available during {meeting} only.", { meeting: meeting.code }) }) : null,
    shown(offers).length ? el("ol", { class: "items" }, shown(offers).map((o) => offerItem(o, byOffer.get(o.id) || [], requestsById))) : empty(meeting ? t("You have no offer available during this meeting.") : t("You have no current offer.")),
  );
  if (focusKey) {
    const back = $(`#mine [data-request="${focusKey}"] h4 a, #mine [data-offer="${focusKey}"] h4 a`);
    if (back) back.focus();
  }
}

// ---- ask and offer: forms that write through the API, each problem shown by its field ----

let suggestions = { skills: [], places: [], meetings: [] };

async function loadSuggestions() {
  const today = document.body.dataset.today;
  const [secretariats, meetings, requests, offers] = await Promise.all([
    api("/v1/secretariats"),
    allPages("/v1/meetings", { from: today, status: "scheduled" }),
    api("/v1/workload-requests", { from: today, limit: 200 }),
    api("/v1/capacity-offers", { from: today, limit: 200 }),
  ]);
  const skills = new Set([...requests.items, ...offers.items].flatMap((x) => x.skills));
  suggestions = {
    skills: [...skills].sort(),
    places: [...new Set(secretariats.items.map((s) => s.duty_station).filter(Boolean))].sort(),
    meetings: meetings.sort((a, b) => a.start_date.localeCompare(b.start_date)),
  };
  fill($("#place-suggestions"), suggestions.places.map((p) => el("option", { value: p })));
}

const REQUEST_FIELDS = () => [
  { name: "title", label: t("Title"), type: "text", required: true, maxlength: 300 },
  { name: "kind", label: t("Kind of support"), type: "select", options: [["ict", t("ICT")], ["staff", t("staff")]] },
  { name: "skills", label: t("Skills"), type: "tags", help: t("Separate skills with commas; the ones already in use are suggested.") },
  { name: "start_date", label: t("From"), type: "date", required: true },
  { name: "end_date", label: t("To"), type: "date", required: true },
  { name: "hours", label: t("Hours needed"), type: "number", required: true, min: 1 },
  { name: "priority", label: t("Priority"), type: "select", value: "normal", options: ["low", "normal", "high", "critical"].map((p) => [p, PRIORITY_LABELS()[p]]) },
  { name: "on_site", label: t("The work is done on site"), type: "checkbox" },
  { name: "location", label: t("Place (UN/LOCODE, e.g. CH GVA)"), type: "place" },
  { name: "meeting_code", label: t("Meeting"), type: "meeting" },
  { name: "description", label: t("Description"), type: "textarea" },
];

const OFFER_FIELDS = () => [
  { name: "title", label: t("Title"), type: "text", required: true, maxlength: 300 },
  { name: "kind", label: t("Kind of support"), type: "select", options: [["ict", t("ICT")], ["staff", t("staff")]] },
  { name: "skills", label: t("Skills"), type: "tags", help: t("Separate skills with commas; the ones already in use are suggested.") },
  { name: "start_date", label: t("From"), type: "date", required: true },
  { name: "end_date", label: t("To"), type: "date", required: true },
  { name: "hours_per_day", label: t("Hours per day"), type: "number", required: true, min: 1, max: 12, value: 8 },
  { name: "total_hours", label: t("Hours in all"), type: "number", required: true, min: 1 },
  { name: "location", label: t("Place (UN/LOCODE, e.g. CH GVA)"), type: "place", required: true },
  { name: "travel_ok", label: t("The people can travel"), type: "checkbox" },
  { name: "description", label: t("Description"), type: "textarea" },
];

function fieldControl(prefix, f) {
  const id = `${prefix}-${f.name}`;
  const errorId = `${id}-error`;
  const helpId = f.help ? `${id}-help` : null;
  const describedBy = [helpId, errorId].filter(Boolean).join(" ");
  const common = { id, name: f.name, required: f.required || null, "aria-describedby": describedBy };
  let control;
  if (f.type === "select") {
    control = el("select", common, f.options.map(([value, label]) => el("option", { value, text: label, selected: value === f.value || null })));
  } else if (f.type === "meeting") {
    control = el("select", common, el("option", { value: "", text: t("none") }), suggestions.meetings.map((m) => el("option", { value: m.code, text: `${m.code} · ${shortDate(m.start_date)}` })));
  } else if (f.type === "textarea") {
    control = el("textarea", { ...common, rows: 3 });
  } else if (f.type === "checkbox") {
    control = el("input", { ...common, type: "checkbox" });
  } else if (f.type === "place") {
    control = el("input", { ...common, type: "text", list: "place-suggestions", autocomplete: "off", spellcheck: "false", maxlength: 6, size: 8 });
  } else if (f.type === "tags") {
    control = el("input", { ...common, type: "text", autocomplete: "off", spellcheck: "false" });
  } else {
    control = el("input", { ...common, type: f.type, min: f.min ?? null, max: f.max ?? null, maxlength: f.maxlength ?? null, value: f.value ?? null });
  }
  const label = el("label", { for: id, text: f.label });
  const parts = f.type === "checkbox" ? [el("div", { class: "check" }, control, label)] : [label, control];
  let chips = null;
  if (f.type === "tags" && suggestions.skills.length) {
    chips = el(
      "div",
      { class: "chips", role: "group", "aria-label": t("Skills in use") },
      suggestions.skills.slice(0, 24).map((skill) =>
        el("button", { type: "button", class: "chip", "data-skill": skill, "aria-label": t("Add the skill {skill}", { skill }), text: `+ ${skill}` }),
      ),
    );
    chips.addEventListener("click", (event) => {
      const skill = event.target.dataset && event.target.dataset.skill;
      if (!skill) return;
      const now = control.value.split(",").map((s) => s.trim()).filter(Boolean);
      if (!now.includes(skill)) control.value = [...now, skill].join(", ");
    });
  }
  return el(
    "div",
    { class: `field field-${f.type}`, "data-field": f.name },
    parts,
    f.help ? el("p", { id: helpId, class: "help", text: f.help }) : null,
    chips,
    el("p", { id: errorId, class: "error field-error" }),
  );
}

function formBody(form, fields) {
  const body = {};
  for (const f of fields) {
    const control = form.elements.namedItem(f.name);
    if (f.type === "checkbox") body[f.name] = control.checked;
    else if (f.type === "number") body[f.name] = control.value === "" ? null : Number(control.value);
    else if (f.type === "tags") body[f.name] = control.value.split(",").map((s) => s.trim()).filter(Boolean);
    else if (f.type === "place") body[f.name] = control.value.trim().toUpperCase() || null;
    else if (f.type === "meeting") body[f.name] = control.value || null;
    else body[f.name] = control.value;
  }
  return body;
}

function showFieldErrors(form, problem, fallback) {
  const alert = form.querySelector(".form-error");
  const entries = (problem && problem.errors) || [];
  const general = [];
  for (const entry of entries) {
    const name = String(entry.field || "").replace(/^body\.?/, "").split(".")[0];
    const box = name && form.querySelector(`[data-field="${name}"]`);
    if (box) {
      box.querySelector(".field-error").textContent = entry.message;
      box.querySelector("input, select, textarea").setAttribute("aria-invalid", "true");
    } else general.push(entry.message);
  }
  alert.textContent = [fallback, ...general].join(" ");
  const first = form.querySelector("[aria-invalid='true']");
  if (first) first.focus();
}

// Puts an object's values into a form's fields.
function fillForm(form, specs, object) {
  for (const f of specs) {
    const control = form.elements.namedItem(f.name);
    const value = object[f.name];
    if (f.type === "checkbox") control.checked = Boolean(value);
    else if (f.type === "tags") control.value = (value || []).join(", ");
    else {
      if (f.type === "meeting" && value && ![...control.options].some((o) => o.value === value)) control.append(el("option", { value, text: value }));
      control.value = value === null || value === undefined ? "" : String(value);
    }
  }
}

// The merge patch from `before` to the form's values: only what changed; an emptied field is
// null (removed).
function mergePatch(specs, before, after) {
  const patch = {};
  for (const f of specs) {
    const was = before[f.name] === "" || before[f.name] === undefined ? null : before[f.name];
    const now = after[f.name] === "" || after[f.name] === undefined ? null : after[f.name];
    if (JSON.stringify(was) !== JSON.stringify(now)) patch[f.name] = now;
  }
  return patch;
}

function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((p) => (p.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
  form.querySelector(".form-error").textContent = "";
}

// One form for a request or an offer. The Idempotency-Key is made when the form is opened and
// kept until the object exists, so a double click or a retry creates it once. Given an
// `existing` object ({data, etag}), the form shows it and sends what changed as a merge patch
// for that version; if someone changed it meanwhile (412), the form shows the new version.
function objectForm({ id, title, fields, path, submitLabel, done, existing = null }) {
  const specs = fields();
  let idempotencyKey = newIdempotencyKey();
  let current = existing;
  const form = el(
    "form",
    { id, class: "create-form", "aria-labelledby": `${id}-heading` },
    el("h3", { id: `${id}-heading`, text: title }),
    el("p", { class: "help", text: t("Fields marked required must be filled in; the server checks everything else.") }),
    el("div", { class: "fields" }, specs.map((f) => fieldControl(id, f))),
    el("p", { class: "error form-error", role: "alert" }),
    el("div", { class: "actions" }, el("button", { type: "submit", text: submitLabel }), el("button", { type: "button", class: "quiet", "data-action": "close", text: t("Close") })),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!form.reportValidity()) return;
    const button = form.querySelector("button[type=submit]");
    // A second click while the first is on its way does nothing; the key covers retries.
    if (button.disabled) return;
    button.disabled = true;
    if (current) {
      try {
        await saveChanges();
      } finally {
        button.disabled = false;
      }
      return;
    }
    const body = { ...formBody(form, specs), secretariat: me.secretariat };
    for (const key of Object.keys(body)) if (body[key] === null) delete body[key];
    try {
      const created = await send("POST", path, body, { idempotencyKey });
      idempotencyKey = newIdempotencyKey();
      form.reset();
      $("#mine-status").textContent = done(created);
      form.dataset.created = created.id;
      await loadMine();
    } catch (error) {
      // The server answered: the next attempt is a new creation (only a lost answer is retried
      // with the same key).
      if (error instanceof Refused) {
        idempotencyKey = newIdempotencyKey();
        showFieldErrors(form, error.problem, error.message);
      }
      else form.querySelector(".form-error").textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
  form.querySelector("[data-action='close']").addEventListener("click", () => closeForms());
  if (current) fillForm(form, specs, current.data);

  async function saveChanges() {
    const shown = current;
    const url = `${path}/${shown.data.id}`;
    const patch = mergePatch(specs, shown.data, formBody(form, specs));
    if (!Object.keys(patch).length) {
      form.querySelector(".form-error").textContent = t("Nothing was changed.");
      return;
    }
    try {
      const changed = await exchange("PATCH", url, patch, { ifMatch: shown.etag });
      $("#mine-status").textContent = done(changed.data);
      closeForms();
      await loadMine();
      const back = $(`#mine [data-request="${shown.data.id}"] h4 a, #mine [data-offer="${shown.data.id}"] h4 a`);
      if (back) back.focus();
    } catch (error) {
      if (error instanceof Refused && error.status === 412) {
        // Changed meanwhile: show the version the server holds now, to be checked and saved again.
        current = await exchange("GET", url);
        fillForm(form, specs, current.data);
        form.querySelector(".form-error").textContent = t("Someone changed this in the meantime: the form now shows the current values. Check them and save again.");
        form.querySelector("input, select, textarea").focus();
      } else if (error instanceof Refused) showFieldErrors(form, error.problem, error.message);
      else form.querySelector(".form-error").textContent = error.message;
    }
  }
  return form;
}

let formOpener = null; // the button that opened the form, where the focus goes back

function showForm(form, opener) {
  const box = $("#forms");
  fill(box, form);
  box.hidden = false;
  if (formOpener) formOpener.setAttribute("aria-expanded", "false");
  formOpener = opener;
  opener.setAttribute("aria-expanded", "true");
  form.querySelector("input, select, textarea").focus();
}

function openForm(which, opener) {
  const form =
    which === "request"
      ? objectForm({ id: "ask-form", title: t("Ask for support"), fields: REQUEST_FIELDS, path: "/v1/workload-requests", submitLabel: t("Send the request"), done: (r) => t("Requested: {title}.", { title: r.title }) })
      : objectForm({ id: "offer-form", title: t("Offer capacity"), fields: OFFER_FIELDS, path: "/v1/capacity-offers", submitLabel: t("Publish the offer"), done: (o) => t("Offered: {title}.", { title: o.title }) });
  showForm(form, opener);
}

// The same form, filled in with the object as the server holds it now (and its ETag).
async function openEditForm(which, id, opener, errorNode) {
  const path = which === "request" ? "/v1/workload-requests" : "/v1/capacity-offers";
  let existing;
  try {
    existing = await exchange("GET", `${path}/${id}`);
  } catch (error) {
    errorNode.textContent = error.message;
    return;
  }
  const form =
    which === "request"
      ? objectForm({ id: "edit-request-form", title: t("Change the request “{title}”", { title: existing.data.title }), fields: REQUEST_FIELDS, path, submitLabel: t("Save the changes"), done: (r) => t("Changed: {title}.", { title: r.title }), existing })
      : objectForm({ id: "edit-offer-form", title: t("Change the offer “{title}”", { title: existing.data.title }), fields: OFFER_FIELDS, path, submitLabel: t("Save the changes"), done: (o) => t("Changed: {title}.", { title: o.title }), existing });
  showForm(form, opener);
}

function closeForms() {
  const box = $("#forms");
  const opener = formOpener;
  fill(box);
  box.hidden = true;
  formOpener = null;
  if (opener) {
    opener.setAttribute("aria-expanded", "false");
    if (opener.isConnected) opener.focus();
  }
}

// ---- the last matching run, and one panel per object with a stable address (#/requests/ID) ----

const timeFormat = () => new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeStyle: "short" });

// The system's state: the newest matching run and the changes still waiting for one.
async function loadMatchingStatus() {
  const { last_run: run, pending_triggers: pending } = await api("/v1/matching/status");
  const line = $("#matching-run");
  line.dataset.status = run ? run.status : "none";
  line.dataset.pending = String(pending);
  const figures = (run && run.figures) || {};
  line.dataset.weight = String(figures.weight_served || 0);
  const last = run
    ? t("Last matching run: {when}, {status}; weight served {weight}, {added} proposals added.", {
        when: timeFormat().format(new Date(run.finished_at || run.created_at)),
        status: statusLabel(run.status),
        weight: fmtNumber(figures.weight_served || 0),
        added: fmtNumber(figures.proposals_added || 0),
      })
    : t("No matching has run yet.");
  const waiting = pending === 0 ? t("No change waits for matching.") : pending === 1 ? t("One change waits for the next matching run.") : t("{count} changes wait for the next matching run.", { count: fmtNumber(pending) });
  fill(line, el("span", { "data-figure": "last-run", text: last }), " ", el("span", { "data-figure": "pending-triggers", text: waiting }));
}

const ROUTES = {
  requests: { path: "/v1/workload-requests", history: true, title: N_("Workload request") },
  offers: { path: "/v1/capacity-offers", history: true, title: N_("Capacity offer") },
  allocations: { path: "/v1/allocations", history: true, title: N_("Allocation") },
  meetings: { path: "/v1/meetings", history: false, title: N_("Meeting") },
  activities: { path: "/v1/activities", history: false, title: N_("Joint activity") },
};
// Fields that point at another panel.
const LINKS = { request_id: "requests", offer_id: "offers", activity_id: "activities", meeting_code: "meetings" };

function valueText(value) {
  if (value === null || value === undefined || value === "") return "–";
  if (Array.isArray(value)) return value.map((v) => (typeof v === "object" ? Object.values(v).join(" ") : v)).join(", ") || "–";
  if (typeof value === "object") return Object.values(value).join(" ");
  if (typeof value === "boolean") return value ? t("yes") : t("no");
  return String(value);
}

// The fields of the objects a panel shows, as the page names them.
const FIELD_LABELS = {
  secretariat: N_("Secretariat"),
  kind: N_("Kind of support"),
  description: N_("Description"),
  skills: N_("Skills"),
  start_date: N_("From"),
  end_date: N_("To"),
  hours: N_("Hours"),
  priority: N_("Priority"),
  on_site: N_("The work is done on site"),
  location: N_("Place"),
  meeting_code: N_("Meeting"),
  meeting_codes: N_("Meetings"),
  activity_id: N_("Joint activity"),
  external_ref: N_("Reference in another system"),
  status: N_("Status"),
  hours_proposed: N_("Hours proposed"),
  hours_accepted: N_("Hours accepted"),
  hours_per_day: N_("Hours per day"),
  total_hours: N_("Hours in all"),
  travel_ok: N_("The people can travel"),
  unavailable_dates: N_("Days unavailable"),
  request_id: N_("Workload request"),
  offer_id: N_("Capacity offer"),
  days: N_("Days"),
  travel: N_("After travel"),
  matching_run_id: N_("Matching run"),
  decided_at: N_("Decided at"),
  decided_by: N_("Decided by"),
  reason: N_("Reason"),
  created_at: N_("Created at"),
  updated_at: N_("Updated at"),
  code: N_("Code"),
  body: N_("Body"),
  theme: N_("Theme"),
  species: N_("Species"),
  species_resolved: N_("Species in the registers"),
  lead_secretariat: N_("Lead secretariat"),
  partner_secretariats: N_("Partner secretariats"),
  tags: N_("Tags"),
};

function fieldValue(name, value) {
  const route = LINKS[name];
  if (route && value) return el("a", { href: objectHref(route, value), text: String(value) });
  if (name === "status") return statusLabel(value);
  if (name === "priority") return PRIORITY_LABELS()[value] || value;
  if (name === "kind") return value === "ict" ? t("ICT") : value === "staff" ? t("staff") : valueText(value);
  if (name === "theme") return themeLabel(value);
  return valueText(value);
}

function fieldRows(object) {
  return Object.entries(object)
    .filter(([name]) => !["id", "version", "title"].includes(name))
    .flatMap(([name, value]) => [el("dt", { text: FIELD_LABELS[name] ? t(FIELD_LABELS[name]) : words(name) }), el("dd", {}, fieldValue(name, value))]);
}

async function showDetail() {
  const panel = $("#detail");
  const match = /^\/(requests|offers|allocations|meetings|activities)\/(.+)$/.exec(parseHash().path);
  if (!match || !apiKey()) {
    panel.hidden = true;
    return;
  }
  const [, kind, rawId] = match;
  const route = ROUTES[kind];
  const id = decodeURIComponent(rawId);
  panel.hidden = false;
  const body = panel.querySelector(".body");
  fill(body, el("p", { class: "help", text: t("Loading…") }));
  try {
    const [object, history, allocations] = await Promise.all([
      api(`${route.path}/${encodeURIComponent(id)}`),
      route.history ? api(`${route.path}/${encodeURIComponent(id)}/history`, { limit: 50 }) : null,
      kind === "requests" || kind === "offers" ? allPages("/v1/allocations", { [kind === "requests" ? "request_id" : "offer_id"]: id }) : null,
    ]);
    $("#detail-title").textContent = `${t(route.title)}: ${object.title || object.code || object.id}`;
    const offerer = kind === "allocations" && object.status === "proposed" ? (await api(`/v1/capacity-offers/${object.offer_id}`)).secretariat : null;
    fill(
      body,
      offerer ? el("p", { class: "whose", text: t("Waiting for a decision by {secretariat}, the offering secretariat.", { secretariat: offerer }) }) : null,
      el("dl", { class: "facts detail-facts" }, fieldRows(object)),
      allocations
        ? [
            el("h3", { text: t("Allocations") }),
            allocations.length
              ? el("ul", { class: "plain" }, allocations.map((a) => el("li", {}, el("a", { href: objectHref("allocations", a.id), text: `${fmtHours(a.hours)} · ${statusLabel(a.status)}${a.travel ? ` · ${t("on site, after travel")}` : ""}` }))))
              : empty(t("Nothing proposed yet.")),
          ]
        : null,
      history
        ? [
            el("h3", { text: t("History") }),
            history.items.length
              ? el(
                  "ol",
                  { class: "plain history" },
                  history.items.map((h) =>
                    el("li", {}, el("time", { datetime: h.at, text: timeFormat().format(new Date(h.at)) }), ` · ${h.actor || "–"} · ${statusLabel(h.action)}${h.reason ? ` — ${h.reason}` : ""}`),
                  ),
                )
              : empty(t("No change recorded yet.")),
          ]
        : null,
    );
  } catch (error) {
    $("#detail-title").textContent = t(route.title);
    fill(body, el("p", { class: "error", text: error.message }));
  }
  panel.focus();
}

// ---- live: follow the change feed, so proposals and decisions made elsewhere appear ----

async function feedEnd() {
  // Read through the retained history once to reach its end; from then on only new entries.
  let cursor = null;
  for (let page = 0; page < 50; page += 1) {
    const data = await api("/v1/changes", { after: cursor, limit: 1000, types: "allocation" });
    cursor = data.next_cursor;
    if (data.items.length < 1000) break;
  }
  return cursor;
}

async function poll() {
  if (!apiKey()) return;
  try {
    if (feedCursor === null) feedCursor = await feedEnd();
    else {
      const data = await api("/v1/changes", { after: feedCursor, limit: 1000, types: "allocation,workload_request,capacity_offer" });
      feedCursor = data.next_cursor;
      // The matching state changes without a change of its own in the feed (a run that
      // proposes nothing new), so it is read on every turn.
      await Promise.all(data.items.length ? [loadMyDecisions(), loadMine(), loadMatchingStatus()] : [loadMatchingStatus()]);
    }
    $("#main").dataset.live = "following";
  } catch (error) {
    $("#main").dataset.live = "lost";
  } finally {
    pollTimer = setTimeout(poll, POLL_MS);
  }
}

function startFollowing() {
  if (pollTimer !== null) return;
  pollTimer = setTimeout(poll, 0);
}

function stopFollowing() {
  if (pollTimer !== null) clearTimeout(pollTimer);
  pollTimer = null;
  feedCursor = null;
}

// ---- start ----

document.addEventListener("DOMContentLoaded", () => {
  $("#key-form").addEventListener("submit", onKeySubmit);
  document.querySelectorAll("[data-opens]").forEach((b) => b.addEventListener("click", () => openForm(b.dataset.opens, b)));
  window.addEventListener("hashchange", onAddressChange);
  $("#detail-close").addEventListener("click", () => {
    history.pushState(null, "", window.location.pathname + window.location.search + hashFor("/", parseHash().params));
    showDetail();
    $("#board").focus();
  });
  $("#filters").addEventListener("submit", onFiltersSubmit);
  $("#forget-key").addEventListener("click", forgetKey);
  if (apiKey()) showBoard();
  else showKeyPanel();
});
