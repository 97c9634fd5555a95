// Tandem dashboard: asks for an API key once (kept in sessionStorage, for this tab only),
// reads /v1/stats/* with it and draws the figures as SVG charts with tables beside them.
// No library and no asset from anywhere but this server. Every value shown comes from the
// API; the page only lays it out, so what it shows can be checked against the endpoints.
// Chart marks carry their exact value in data-* attributes (tests and curious readers).

const KEY_STORAGE = "tandem.dashboard.apiKey";
const SVG_NS = "http://www.w3.org/2000/svg";
const DAY_MS = 86400000;
const DECISIONS_SHOWN = 12;

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
const HOURS = {
  requested: { label: "requested", colour: "#e4e7eb", stroke: "#52606d" },
  proposed: { label: "proposed, awaiting a decision", colour: "#b35c00" },
  accepted: { label: "accepted", colour: "#1a7f37" },
};
const MODES = {
  remote: { label: "remote", colour: "#0b5cad" },
  on_site: { label: "on site", colour: "#7b3fa0" },
  travel: { label: "on site, after travel", colour: "#b42318" },
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
const fmtHours = (h) => `${wholeFormat.format(h)} h`;
const fmtNumber = (n) => wholeFormat.format(n);
const fmtPercent = (x) => (x === null || x === undefined ? "–" : percentFormat.format(x));
const themeLabel = (t) => THEME_LABELS[t] || t;
const words = (s) => s.replaceAll("_", " ");

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
  return el("ul", { class: "legend" }, items.map(({ label, colour, stroke }) => el("li", {}, swatch(colour, stroke), label)));
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
  stopFollowing();
  sessionStorage.removeItem(KEY_STORAGE);
  showKeyPanel("The key was forgotten.");
}

// ---- the board ----

async function showBoard() {
  $("#key-panel").hidden = true;
  $("#forget-key").hidden = false;
  $("#board").hidden = false;
  $("#board").focus();
  try {
    await loadIdentity();
  } catch (error) {
    if (error instanceof KeyRefused) {
      sessionStorage.removeItem(KEY_STORAGE);
      showKeyPanel(error.message);
      return;
    }
  }
  await refresh();
  startFollowing();
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
  const main = $("#main");
  main.dataset.state = "loading";
  main.setAttribute("aria-busy", "true");
  $("#status").textContent = "Loading…";
  try {
    await loadSecretariats();
    const f = filters();
    if (f.from && f.to && f.to < f.from) throw new Error("the range ends before it starts.");
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
    ]);
    const next = nextMeeting(upcoming, today);
    const meetingStats = next ? await api(`/v1/stats/meetings/${encodeURIComponent(next.code)}`, { secretariat: f.secretariat, kind: f.kind }) : null;
    renderHeadline(workload, exchange);
    renderWorkload(workload, meetings, f, today);
    renderDecisions(decisions, today);
    renderExchange(exchange);
    renderNextMeeting(meetingStats, today);
    renderActivities(activities);
    renderCapacity(capacity);
    renderUnmetSkills(unmet);
    $("#status").textContent = `Updated at ${new Date().toLocaleTimeString(LOCALE, { hour: "2-digit", minute: "2-digit" })}`;
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
            svg("title", { text: `${row.label}, ${s.label}: ${fmtNumber(value)} ${unit}` }),
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
      text: `${weeks.length} weeks from ${shortDate(weeks[0])}: ${fmtHours(totals.requested)} requested, ${fmtHours(totals.proposed)} proposed, ${fmtHours(totals.accepted)} accepted. Meetings: ${meetings.map((m) => m.code).join(", ") || "none"}.`,
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
  chart.append(svg("text", { x: 4, y: top - 26, class: "axis-label", text: "hours" }));
  // Bars.
  const labelEvery = Math.ceil(weeks.length / 14);
  weeks.forEach((week, i) => {
    const w = byWeek[week] || { requested: 0, proposed: 0, accepted: 0 };
    const x0 = left + i * slot;
    const outer = slot * 0.78;
    const inner = slot * 0.46;
    const label = `Week of ${shortDate(week)}`;
    if (w.requested > 0) {
      chart.append(
        svg(
          "rect",
          { x: x0 + (slot - outer) / 2, y: y(w.requested), width: outer, height: top + plot - y(w.requested), fill: HOURS.requested.colour, stroke: HOURS.requested.stroke, "data-week": week, "data-series": "requested", "data-value": w.requested },
          svg("title", { text: `${label}: ${fmtHours(w.requested)} requested` }),
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
            svg("title", { text: `${label}: ${fmtHours(value)} ${series}` }),
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
      svg("g", { class: "today" }, svg("line", { class: "today-line", x1: now, x2: now, y1: top, y2: top + plot }), svg("text", { x: now + 3, y: top + plot + 30, text: "today" })),
    );
  }
  return chart;
}

// ---- panels ----

function renderHeadline(workload, exchange) {
  const t = workload.totals;
  fill($("#headline"), 
    figure(fmtHours(t.hours_requested), "requested", "hours-requested"),
    figure(fmtHours(t.hours_proposed), "proposed, awaiting a decision", "hours-proposed"),
    figure(fmtHours(t.hours_accepted), "accepted", "hours-accepted"),
    figure(fmtHours(t.unmet_hours), "not accepted yet", "unmet-hours"),
    figure(fmtNumber(t.open_requests), "open requests", "open-requests"),
    figure(fmtPercent(exchange.totals.remote_share), "of accepted hours given remotely", "remote-share"),
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
  const kind = f.kind ? ` (${f.kind === "ict" ? "ICT" : "staff"})` : "";
  const ordered = [...meetings].sort((a, b) => a.start_date.localeCompare(b.start_date));
  fill(body, 
    legend([
      { label: "requested", colour: HOURS.requested.colour, stroke: HOURS.requested.stroke },
      { label: "accepted", colour: HOURS.accepted.colour },
      { label: "proposed, awaiting a decision", colour: HOURS.proposed.colour },
      { label: "governing-body meeting", colour: "#fdf0d5", stroke: "#b45309" },
    ]),
    secretariats.length
      ? secretariats.map((s) => {
          const weekly = bySecretariat[s] || {};
          return el(
            "div",
            { class: "weekly-panel", "data-secretariat": s },
            el("h3", { text: `Asked by ${s}${kind}` }),
            weeklyChart({ id: `weekly-${s}`, title: `Hours asked by ${s} per week: requested, proposed and accepted`, weeks, byWeek: weekly, max, meetings: ordered, today }),
            details(
              `The weekly figures of ${s} as a table`,
              table(
                `Hours asked by ${s}, per week`,
                [{ label: "Week of", header: true }, { label: "Requested", num: true }, { label: "Proposed", num: true }, { label: "Accepted", num: true }, { label: "Not accepted", num: true }, { label: "Open requests", num: true }],
                weeks.filter((w) => weekly[w]).map((w) => [w, fmtNumber(weekly[w].requested), fmtNumber(weekly[w].proposed), fmtNumber(weekly[w].accepted), fmtNumber(weekly[w].unmet), fmtNumber(weekly[w].open)]),
                { "data-table": `weekly-${s}` },
              ),
            ),
          );
        })
      : empty("No support was asked for in these weeks."),
    el("p", { class: "help", text: "Requested hours are spread evenly over the working days of each request; proposed and accepted hours are shown on the days the people work." }),
  );
}

async function openRequests(f, today) {
  // Requests not yet fully accepted: with proposals waiting for the offering secretariat's
  // decision, or with nothing proposed yet. Windows already over are left to expire.
  const params = { from: today > f.from ? today : f.from, to: f.to, secretariat: f.secretariat, kind: f.kind };
  if (params.to && params.to < params.from) return [];
  const lists = await Promise.all(["matched", "partially_matched", "open"].map((status) => allPages("/v1/workload-requests", { ...params, status })));
  return lists.flat();
}

function decisionOrder(a, b) {
  return a.start_date.localeCompare(b.start_date) || PRIORITY_ORDER[a.priority] - PRIORITY_ORDER[b.priority] || a.title.localeCompare(b.title) || a.id.localeCompare(b.id);
}

function renderDecisions(requests, today) {
  const body = $("#decisions .body");
  const sorted = [...requests].sort(decisionOrder);
  const waiting = sorted.filter((r) => r.hours_proposed > 0).length;
  const shown = sorted.slice(0, DECISIONS_SHOWN);
  fill(body, 
    el("p", {
      "data-figure": "decisions-count",
      text: sorted.length ? `${sorted.length} open request${sorted.length === 1 ? "" : "s"}; ${waiting} with proposals waiting for the offering secretariat.` : "",
    }),
    shown.length
      ? table(
          "Open requests, soonest first",
          [{ label: "Request", header: true }, { label: "By" }, { label: "Needed" }, { label: "Hours", num: true }, { label: "Proposed", num: true }, { label: "Accepted", num: true }, { label: "Waiting for" }],
          shown.map((r) => [
            el("span", { "data-request": r.id }, r.title, " ", el("span", { class: `tag priority-${r.priority}`, text: r.priority })),
            `${r.secretariat} · ${r.kind === "ict" ? "ICT" : "staff"}`,
            r.start_date === r.end_date ? shortDate(r.start_date) : `${shortDate(r.start_date)} – ${shortDate(r.end_date)}`,
            fmtNumber(r.hours),
            fmtNumber(r.hours_proposed),
            fmtNumber(r.hours_accepted),
            r.hours_proposed > 0 ? "a decision on the proposal" : "an offer",
          ]),
          { id: "decisions-table" },
        )
      : empty("No open request needs a decision."),
    sorted.length > shown.length ? el("p", { class: "help", text: `And ${sorted.length - shown.length} more.` }) : null,
  );
}

function renderExchange(exchange) {
  const body = $("#exchange .body");
  const t = exchange.totals;
  const max = Math.max(1, ...exchange.by_secretariat.flatMap((b) => [b.hours_given, b.hours_received]));
  const rows = exchange.by_secretariat.flatMap((b) => [
    { key: `${b.secretariat}-given`, label: `${b.secretariat} gave`, total: b.hours_given, totalText: fmtHours(b.hours_given), values: { given: b.hours_given } },
    { key: `${b.secretariat}-received`, label: `${b.secretariat} received`, total: b.hours_received, totalText: fmtHours(b.hours_received), values: { received: b.hours_received } },
  ]);
  const modeRow = { key: "modes", label: "Accepted hours", total: t.hours_accepted, totalText: fmtHours(t.hours_accepted), values: { remote: t.remote_hours, on_site: t.on_site_hours, travel: t.travel_hours } };
  const balanceText = (b) => (b.balance > 0 ? `gave ${fmtHours(b.balance)} more than it received` : b.balance < 0 ? `received ${fmtHours(-b.balance)} more than it gave` : "gave as much as it received");
  fill(body, 
    exchange.by_secretariat.length
      ? [
          el("ul", { class: "plain", id: "balance" }, exchange.by_secretariat.map((b) => el("li", { "data-secretariat": b.secretariat, "data-balance": b.balance }, el("strong", { text: b.secretariat }), ` ${balanceText(b)}.`))),
          stackedBars({
            id: "exchange-chart",
            title: "Accepted hours each secretariat gave and received",
            rows,
            series: [
              { key: "given", label: "given", colour: "#1a7f37" },
              { key: "received", label: "received", colour: "#0b5cad" },
            ],
            unit: "hours",
            max,
          }),
          el("h3", { text: `How the support was given: ${fmtPercent(t.remote_share)} remotely` }),
          legend(Object.values(MODES)),
          stackedBars({
            id: "modes-chart",
            title: `Accepted hours given remotely, on site, or on site after travel: ${fmtPercent(t.remote_share)} remotely`,
            rows: [modeRow],
            series: Object.entries(MODES).map(([key, m]) => ({ key, label: m.label, colour: m.colour })),
            unit: "hours",
          }),
          details(
            "Who helped whom, as a table",
            table(
              "Hours given, by secretariat",
              [{ label: "From → to", header: true }, { label: "Accepted", num: true }, { label: "Proposed", num: true }, { label: "Remote", num: true }, { label: "On site", num: true }, { label: "Travel", num: true }],
              exchange.pairs.map((p) => [`${p.giver} → ${p.receiver}`, fmtNumber(p.hours_accepted), fmtNumber(p.hours_proposed), fmtNumber(p.remote_hours), fmtNumber(p.on_site_hours), fmtNumber(p.travel_hours)]),
              { id: "exchange-table" },
            ),
          ),
        ]
      : empty("No hours were given or proposed in these weeks."),
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
    fill(body, empty("No meeting is scheduled."));
    return;
  }
  const m = stats.meeting;
  const t = stats.support.totals;
  const days = Math.round((parseDay(m.start_date) - parseDay(today)) / DAY_MS);
  const when = days > 0 ? `in ${days} day${days === 1 ? "" : "s"}` : "under way";
  fill(body, 
    el("h3", { id: "next-meeting-code", "data-code": m.code, text: `${m.code}: ${m.title}` }),
    el("p", { text: `${shortDate(m.start_date)} to ${shortDate(m.end_date)}, ${m.location} (${when}).` }),
    el(
      "p",
      { "data-figure": "meeting-support" },
      `Support: ${fmtNumber(t.requests)} request${t.requests === 1 ? "" : "s"}, ${fmtHours(t.hours_requested)} asked, ${fmtHours(t.hours_proposed)} proposed, ${fmtHours(t.hours_accepted)} accepted` +
        (t.hours_accepted ? ` (${fmtHours(t.remote_hours)} remote, ${fmtHours(t.on_site_hours)} on site, ${fmtHours(t.travel_hours)} after travel).` : "."),
    ),
    stats.support.requests.length
      ? table(
          "Support requests for the meeting",
          [{ label: "Request", header: true }, { label: "Status" }, { label: "Hours", num: true }, { label: "Helpers" }],
          stats.support.requests.map((r) => [
            `${r.title} (${r.secretariat})`,
            words(r.status),
            fmtNumber(r.hours),
            r.helpers.length ? r.helpers.map((h) => `${h.secretariat} ${fmtHours(h.hours)} ${h.status}${h.mode === "travel" ? ", travels" : h.mode === "remote" ? ", remote" : ""}`).join("; ") : "none yet",
          ]),
          { id: "meeting-requests" },
        )
      : null,
    el("h3", { text: `Joint activities reported to it (${stats.activities.total})` }),
    stats.activities.total
      ? el(
          "div",
          { id: "next-meeting-activities" },
          stats.activities.by_theme.map((group) => [
            el("h4", { text: `${themeLabel(group.theme)} (${group.total})` }),
            el(
              "ul",
              { class: "plain" },
              group.activities.map((a) => el("li", { "data-activity": a.id }, a.title, " ", el("span", { class: "tag", text: `${a.lead_secretariat} lead · ${a.status}` }))),
            ),
          ]),
        )
      : empty("No joint activity is reported to it yet."),
  );
}

function renderActivities(stats) {
  const body = $("#activities .body");
  const statuses = stats.by_status.map((s) => s.status);
  const byStatus = Object.fromEntries(stats.by_status.map((s) => [s.status, s.activities]));
  const rows = stats.by_theme.map((t) => ({ key: t.theme, label: themeLabel(t.theme), total: t.activities, values: t.by_status }));
  const series = statuses.map((s) => ({ key: s, label: s, colour: STATUS_COLOURS[s] }));
  const leads = stats.by_lead_secretariat.map((l) => `${l.secretariat} ${l.activities}`).join(", ") || "none";
  fill(body, 
    el(
      "div",
      { class: "figures" },
      figure(String(stats.total), "activities in the period", "activities-total"),
      figure(String(byStatus.ongoing || 0), "ongoing", "activities-ongoing"),
      figure(String(byStatus.planned || 0), "planned", "activities-planned"),
    ),
    legend(series),
    stackedBars({ id: "activities-chart", title: `Joint activities by theme and status: ${stats.total} in all`, rows, series, unit: "activities" }),
    el("p", { text: `Lead secretariat: ${leads}.` }),
    details(
      "The figures as a table",
      table(
        "Joint activities by theme and status",
        [{ label: "Theme", header: true }, ...statuses.map((s) => ({ label: s, num: true })), { label: "All", num: true }],
        stats.by_theme.map((t) => [themeLabel(t.theme), ...statuses.map((s) => String(t.by_status[s])), String(t.activities)]),
      ),
    ),
    el("h3", { text: "Species most often covered" }),
    stats.species.length
      ? el("ol", { id: "species-list" }, stats.species.map((s) => el("li", { "data-species": s.species }, el("i", { text: s.species }), ` — ${s.activities} ${s.activities === 1 ? "activity" : "activities"}`)))
      : empty("No species in the activities of the period."),
  );
}

function renderCapacity(capacity) {
  const body = $("#capacity .body");
  const rows = capacity.by_secretariat.map((s) => ({
    key: s.secretariat,
    label: `${s.secretariat} offered`,
    outline: s.hours_offered,
    total: s.hours_offered,
    totalText: `${fmtHours(s.hours_offered)} · ${fmtPercent(s.utilisation)} used`,
    values: { accepted: s.hours_accepted, proposed: s.hours_proposed },
  }));
  const max = Math.max(1, ...capacity.by_secretariat.map((s) => Math.max(s.hours_offered, s.hours_accepted + s.hours_proposed)));
  fill(body, 
    capacity.offers.length
      ? [
          legend([
            { label: "offered", colour: HOURS.requested.colour, stroke: HOURS.requested.stroke },
            { label: "accepted", colour: HOURS.accepted.colour },
            { label: "proposed", colour: HOURS.proposed.colour },
          ]),
          stackedBars({
            id: "capacity-chart",
            title: "Hours each secretariat offered, and how much of it was accepted or proposed",
            rows,
            series: [
              { key: "accepted", label: "accepted", colour: HOURS.accepted.colour },
              { key: "proposed", label: "proposed", colour: HOURS.proposed.colour },
            ],
            unit: "hours",
            max,
          }),
          table(
            "Capacity offers by secretariat",
            [{ label: "Secretariat", header: true }, { label: "Offers", num: true }, { label: "Offered", num: true }, { label: "Proposed", num: true }, { label: "Accepted", num: true }, { label: "Used", num: true }],
            capacity.by_secretariat.map((s) => [s.secretariat, fmtNumber(s.offers), fmtNumber(s.hours_offered), fmtNumber(s.hours_proposed), fmtNumber(s.hours_accepted), fmtPercent(s.utilisation)]),
            { id: "capacity-table" },
          ),
          details(
            `Each of the ${capacity.offers.length} offers`,
            table(
              "Capacity offers",
              [{ label: "Offer", header: true }, { label: "By" }, { label: "Offered", num: true }, { label: "Accepted", num: true }, { label: "Used", num: true }],
              capacity.offers.map((o) => [`${o.title}${o.status === "withdrawn" ? " (withdrawn)" : ""}`, `${o.secretariat} · ${o.kind === "ict" ? "ICT" : "staff"}`, fmtNumber(o.hours_offered), fmtNumber(o.hours_accepted), fmtPercent(o.utilisation)]),
            ),
          ),
        ]
      : empty("No capacity was offered in these weeks."),
  );
}

function renderUnmetSkills(unmet) {
  const body = $("#unmet-skills .body");
  fill(body, 
    unmet.skills.length
      ? table(
          "Skills with the most hours not accepted",
          [{ label: "Skill", header: true }, { label: "Not accepted", num: true }, { label: "Not even proposed", num: true }, { label: "Requests", num: true }, { label: "Largest requests" }],
          unmet.skills.map((s) => [
            el("span", { "data-skill": s.skill, text: s.skill }),
            fmtNumber(s.unmet_hours),
            fmtNumber(s.unproposed_hours),
            fmtNumber(s.requests),
            s.top_requests.map((r) => `${r.title} (${r.secretariat}, ${fmtHours(r.unmet_hours)})`).join("; "),
          ]),
          { id: "unmet-table" },
        )
      : empty("Every request of the period has its hours accepted."),
  );
}

// ---- the workbench: who the key is, and what waits for its secretariat's decision ----

let me = null; // the key, as GET /v1/api-keys/me tells: {name, secretariat, scopes}
let feedCursor = null;
let pollTimer = null;
const POLL_MS = 2500;

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
    "rate-limited": t("Too many requests at once; try again in a moment."),
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

// A write through the public API with the tab's key; a problem answer becomes a Refused.
async function send(method, path, body, { idempotencyKey = null } = {}) {
  const headers = { Authorization: `Bearer ${apiKey()}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  const response = await fetch(new URL(path, window.location.origin), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Refused(response.status, data);
  return data;
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
  const mine = proposals.filter((a) => ours.has(a.offer_id));
  const requests = new Map((await fetchById("/v1/workload-requests", mine.map((a) => a.request_id))).map((r) => [r.id, r]));
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
      el("h3", { id: titleId }, el("a", { href: `#/requests/${request.id}`, text: request.title }), " ", el("span", { class: `tag priority-${request.priority}`, text: PRIORITY_LABELS()[request.priority] })),
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
        fact(t("Your offer"), el("a", { href: `#/offers/${offer.id}`, text: offer.title })),
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
      if (data.items.length) await loadMyDecisions();
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
  $("#filters").addEventListener("submit", refresh);
  $("#forget-key").addEventListener("click", forgetKey);
  if (apiKey()) showBoard();
  else showKeyPanel();
});
