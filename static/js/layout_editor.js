// Layout editor (no inline scripts: strict CSP). Without JavaScript every control works as a plain form: the
// columns table keeps its spare rows, the record kinds are fields, and the JSON box is the advanced view.
// With it:
// - "行を追加" adds an empty row to a formset (the columns, a header's or a trailer's columns);
// - the record-kind fields show only what applies (fixed width or CSV, a kind that exists, a value to look for);
// - the fields and the JSON box stay one truth: a change of a field rewrites the JSON box (and the JSON the page
//   says it showed, so the server composes the fields), and a change of the JSON fills the fields when they can
//   show it (else they are disabled and the JSON is saved as it is). Messages come from data-* attributes.
(function () {
  "use strict";

  var CHECK_ORDER = ["municipality_code", "record_count", "file_kind", "reference_date"];
  var POSITIONS = {header: "first", trailer: "last"};
  var PREFIXES = {header: "hcol", trailer: "tcol"};

  // ---- rows ----------------------------------------------------------------------------------------------------
  function RowAdder(button, options) {
    this.button = button;
    this.template = document.getElementById(options.template);
    this.body = document.querySelector("#" + options.table + " tbody");
    this.prefix = button.dataset.prefix;
    this.total = document.getElementById("id_" + this.prefix + "-TOTAL_FORMS");
    var max = document.getElementById("id_" + this.prefix + "-MAX_NUM_FORMS");
    this.limit = max ? parseInt(max.value, 10) : 1000;
    this.status = document.getElementById(options.status);
    this.focus = options.focus;
    this.onAdd = options.onAdd;
    if (!this.template || !this.body || !this.total) { return; }
    var self = this;
    button.hidden = false;
    this.refresh();
    button.addEventListener("click", function () {
      var row = self.add();
      if (!row) { return; }
      var first = row.querySelector('[name$="' + self.focus + '"]');
      if (first) { first.focus(); }
      if (self.status) { self.status.textContent = button.dataset.added.replace("{row}", self.total.value); }
    });
  }

  RowAdder.prototype.refresh = function () {
    var full = parseInt(this.total.value, 10) >= this.limit;
    this.button.disabled = full;
    if (full && this.status) { this.status.textContent = this.button.dataset.full; }
  };

  RowAdder.prototype.add = function () {
    var index = parseInt(this.total.value, 10);
    if (index >= this.limit) { this.refresh(); return null; }
    var html = this.template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__row__/g, String(index + 1));
    var holder = document.createElement("tbody");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    var order = row.querySelector('input[name$="-ORDER"]');
    if (order) {
      var highest = 0;
      this.body.querySelectorAll('input[name$="-ORDER"]').forEach(function (input) {
        var value = parseInt(input.value, 10);
        if (!isNaN(value) && value > highest) { highest = value; }
      });
      order.value = String(highest + 1);
    }
    this.body.appendChild(row);
    this.total.value = String(index + 1);
    this.refresh();
    if (this.onAdd) { this.onAdd(row); }
    return row;
  };

  // ---- record kinds --------------------------------------------------------------------------------------------
  function canonical(value) {
    if (Array.isArray(value)) { return "[" + value.map(canonical).join(",") + "]"; }
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort().map(function (key) {
        return JSON.stringify(key) + ":" + canonical(value[key]);
      }).join(",") + "}";
    }
    return JSON.stringify(value);
  }

  function isInt(value) { return typeof value === "number" && Math.floor(value) === value; }

  function RecordsEditor(box, adders) {
    this.box = box;
    this.adders = adders;
    this.form = box.closest("form");
    this.textarea = document.getElementById("id_layout-records");
    this.shown = document.getElementById("id_rec-shown");
    this.fields = box.querySelector("[data-records-structured]");
    this.status = document.getElementById("records-json-status");
    if (!this.form || !this.textarea || !this.shown || !this.fields) { return; }
    var self = this;
    this.fields.addEventListener("input", function () { self.fieldsChanged(); });
    this.fields.addEventListener("change", function () { self.fieldsChanged(); });
    this.form.querySelectorAll('input[name="layout-format"]').forEach(function (radio) {
      radio.addEventListener("change", function () { self.fieldsChanged(); });
    });
    this.textarea.addEventListener("input", function () { self.jsonChanged(); });
    this.show();
  }

  RecordsEditor.prototype.el = function (name) { return this.form.elements[name]; };

  RecordsEditor.prototype.value = function (name) {
    var el = this.el(name);
    if (!el) { return ""; }
    if (el instanceof RadioNodeList) { return el.value; }
    if (el.type === "checkbox") { return el.checked; }
    return el.disabled ? "" : String(el.value).trim();
  };

  RecordsEditor.prototype.number = function (name) {
    var text = this.value(name);
    return /^\d+$/.test(text) ? parseInt(text, 10) : null;
  };

  RecordsEditor.prototype.fixed = function () {
    var format = this.el("layout-format");
    return Boolean(format && format.value === "fixed");
  };

  RecordsEditor.prototype.rows = function (kind) {
    var self = this, rows = [];
    var body = document.querySelector("#record-columns-" + kind + " tbody");
    body.querySelectorAll("tr").forEach(function (tr) {
      var field = tr.querySelector('[name$="-field"]');
      if (!field || field.disabled) { return; }
      var base = field.name.slice(0, -"field".length);
      var remove = self.el(base + "DELETE");
      if (remove && remove.checked) { return; }
      var row = {field: self.value(base + "field"), label: self.value(base + "label"),
                 start: self.number(base + "start"), length: self.number(base + "length")};
      if (!row.field && !row.label && row.start === null && row.length === null) { return; }
      rows.push(row);
    });
    return rows;
  };

  // The same JSON as records_editor.compose on the server.
  RecordsEditor.prototype.compose = function () {
    var self = this, fixed = this.fixed(), records = {};
    var start = this.number("rec-type_start"), length = this.number("rec-type_length");
    var column = this.number("rec-type_column");
    if (fixed && start !== null && length !== null) { records.type = {start: start, length: length}; }
    if (!fixed && column !== null) { records.type = {column: column}; }
    ["header", "data", "trailer"].forEach(function (kind) {
      if (kind === "data") {
        var code = self.value("rec-data_code");
        if (code) { records.data = {code: code}; }
        return;
      }
      var presence = self.value("rec-" + kind);
      if (!presence) { return; }
      var out = (self.value("rec-" + kind + "_by") || "code") === "code"
        ? {code: self.value("rec-" + kind + "_code")} : {position: POSITIONS[kind]};
      out.required = presence === "required";
      var columns = self.rows(kind).map(function (row) {
        var item = {field: row.field};
        if (row.label) { item.label = row.label; }
        if (fixed) {
          if (row.start !== null) { item.start = row.start; }
          if (row.length !== null) { item.length = row.length; }
        }
        return item;
      });
      if (columns.length) { out.columns = columns; }
      records[kind] = out;
    });
    var kinds = {};
    this.codes("rec-full_codes").forEach(function (code) { kinds[code] = "full"; });
    this.codes("rec-delta_codes").forEach(function (code) { if (!(code in kinds)) { kinds[code] = "delta"; } });
    if (Object.keys(kinds).length) { records.file_kinds = kinds; }
    var checks = CHECK_ORDER.filter(function (name) { return self.value("rec-check_" + name) === true; });
    if (checks.length) { records.checks = checks; }
    return records;
  };

  RecordsEditor.prototype.codes = function (name) {
    return this.value(name).split(",").map(function (code) { return code.trim(); }).filter(Boolean);
  };

  RecordsEditor.prototype.text = function (records) {
    return Object.keys(records).length ? JSON.stringify(records, null, 1) : "";
  };

  RecordsEditor.prototype.fieldsChanged = function () {
    this.show();
    if (this.fields.dataset.disabled) { return; }
    var text = this.text(this.compose());
    if (this.textarea.value !== text) {
      this.textarea.value = text;
      this.shown.value = text;  // the server composes the fields: the JSON box says the same
    }
  };

  // The fields' values for a JSON, or null when they cannot show it exactly (records_editor.decompose).
  RecordsEditor.prototype.decompose = function (records) {
    if (!records || typeof records !== "object" || Array.isArray(records)) { return null; }
    var fixed = this.fixed(), state = {type: records.type || {}, data: "", kinds: {}, full: [], delta: [], checks: []};
    try {
      if (records.data !== undefined) { state.data = records.data.code; }
      ["header", "trailer"].forEach(function (kind) {
        var spec = records[kind];
        if (spec === undefined) { return; }
        var byCode = spec.code !== undefined && spec.code !== null && spec.code !== "";
        state.kinds[kind] = {presence: spec.required ? "required" : "optional", by: byCode ? "code" : "position",
                             code: byCode ? spec.code : "", columns: spec.columns || []};
      });
      Object.keys(records.file_kinds || {}).forEach(function (code) {
        (records.file_kinds[code] === "full" ? state.full : state.delta).push(code);
      });
      state.checks = records.checks || [];
    } catch (e) { return null; }
    // Exactly representable: the fields, composed again, give the same JSON.
    var again = {};
    var type = state.type;
    if (fixed && isInt(type.start) && isInt(type.length)) { again.type = {start: type.start, length: type.length}; }
    if (!fixed && isInt(type.column)) { again.type = {column: type.column}; }
    ["header", "data", "trailer"].forEach(function (kind) {
      if (kind === "data") {
        if (typeof state.data === "string" && state.data) { again.data = {code: state.data}; }
        return;
      }
      var k = state.kinds[kind];
      if (!k) { return; }
      var out = k.by === "code" ? {code: k.code} : {position: POSITIONS[kind]};
      out.required = k.presence === "required";
      var columns = (Array.isArray(k.columns) ? k.columns : []).map(function (c) {
        var item = {field: c.field};
        if (c.label) { item.label = c.label; }
        if (fixed) {
          if (c.start !== undefined && c.start !== null) { item.start = c.start; }
          if (c.length !== undefined && c.length !== null) { item.length = c.length; }
        }
        return item;
      });
      if (columns.length) { out.columns = columns; }
      again[kind] = out;
    });
    var kinds = {};
    state.full.forEach(function (code) { kinds[code] = "full"; });
    state.delta.forEach(function (code) { if (!(code in kinds)) { kinds[code] = "delta"; } });
    if (Object.keys(kinds).length) { again.file_kinds = kinds; }
    if (Array.isArray(state.checks)) {
      var known = CHECK_ORDER.filter(function (name) { return state.checks.indexOf(name) >= 0; });
      if (known.length) { again.checks = known; }
    }
    var ok = canonical(again) === canonical(records) && Object.keys(records).every(function (key) {
      return ["type", "header", "data", "trailer", "file_kinds", "checks"].indexOf(key) >= 0;
    });
    ["header", "trailer"].forEach(function (kind) {
      var k = state.kinds[kind];
      if (k && (typeof k.code !== "string" || !Array.isArray(k.columns) || k.columns.some(function (c) {
        return typeof c.field !== "string" || (c.label !== undefined && typeof c.label !== "string") ||
          (c.start !== undefined && !isInt(c.start)) || (c.length !== undefined && !isInt(c.length));
      }))) { ok = false; }
    });
    return ok ? state : null;
  };

  RecordsEditor.prototype.set = function (name, value) {
    var el = this.el(name);
    if (!el) { return; }
    if (el instanceof RadioNodeList) {
      Array.prototype.forEach.call(el, function (radio) { radio.checked = radio.value === value; });
    } else if (el.type === "checkbox") {
      el.checked = Boolean(value);
    } else {
      el.value = value === null || value === undefined ? "" : String(value);
    }
  };

  RecordsEditor.prototype.fill = function (state) {
    var self = this, fixed = this.fixed();
    if (fixed) {
      this.set("rec-type_start", state.type.start);
      this.set("rec-type_length", state.type.length);
    } else {
      this.set("rec-type_column", state.type.column);
    }
    this.set("rec-data_code", state.data || "");
    ["header", "trailer"].forEach(function (kind) {
      var k = state.kinds[kind] || {presence: "", by: "code", code: "", columns: []};
      self.set("rec-" + kind, k.presence);
      self.set("rec-" + kind + "_by", k.by);
      self.set("rec-" + kind + "_code", k.code);
      var prefix = PREFIXES[kind], adder = self.adders[prefix];
      var total = function () { return parseInt(self.value(prefix + "-TOTAL_FORMS") || "0", 10); };
      while (adder && total() < k.columns.length && adder.add()) { /* more rows */ }
      for (var i = 0; i < total(); i += 1) {
        var c = k.columns[i] || {};
        self.set(prefix + "-" + i + "-field", c.field || "");
        self.set(prefix + "-" + i + "-label", c.label || "");
        self.set(prefix + "-" + i + "-start", c.start);
        self.set(prefix + "-" + i + "-length", c.length);
        self.set(prefix + "-" + i + "-DELETE", false);
      }
    });
    this.set("rec-full_codes", state.full.join(","));
    this.set("rec-delta_codes", state.delta.join(","));
    CHECK_ORDER.forEach(function (name) { self.set("rec-check_" + name, state.checks.indexOf(name) >= 0); });
  };

  RecordsEditor.prototype.jsonChanged = function () {
    var text = this.textarea.value.trim(), records;
    try {
      records = text ? JSON.parse(text) : {};
    } catch (e) {
      this.disable(this.box.dataset.unreadable);
      return;
    }
    var state = this.decompose(records);
    if (!state) {
      this.disable(this.box.dataset.unrepresentable);
      return;
    }
    this.enable();
    this.fill(state);
    this.show();
    this.status.textContent = this.box.dataset.applied;
  };

  // The fields cannot say what the JSON says: they are not sent, and the server saves the JSON.
  RecordsEditor.prototype.disable = function (message) {
    this.fields.dataset.disabled = "1";
    this.fields.querySelectorAll("input, select, textarea, button").forEach(function (el) {
      if (!el.disabled) { el.disabled = true; el.dataset.jsonDisabled = "1"; }
    });
    this.fields.setAttribute("aria-disabled", "true");
    this.status.textContent = message;
  };

  RecordsEditor.prototype.enable = function () {
    delete this.fields.dataset.disabled;
    this.fields.removeAttribute("aria-disabled");
    this.fields.querySelectorAll("[data-json-disabled]").forEach(function (el) {
      el.disabled = false;
      delete el.dataset.jsonDisabled;
    });
  };

  // Show what applies: the format's position fields, a kind's details when it exists, its value when looked for.
  RecordsEditor.prototype.show = function () {
    var self = this, fixed = this.fixed();
    this.box.querySelectorAll("[data-format-only]").forEach(function (node) {
      node.hidden = (node.dataset.formatOnly === "fixed") !== fixed;
    });
    ["header", "trailer"].forEach(function (kind) {
      var group = self.box.querySelector('[data-record-kind="' + kind + '"]');
      if (!group) { return; }
      var exists = Boolean(self.value("rec-" + kind));
      var detail = group.querySelector("[data-kind-detail]");
      detail.hidden = !exists;
      var byCode = (self.value("rec-" + kind + "_by") || "code") === "code";
      group.querySelector("[data-kind-code]").hidden = !byCode;
    });
    // Hidden controls are not sent (a kind set to なし drops its rows; CSV ignores byte positions).
    this.fields.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.type === "hidden" || self.fields.dataset.disabled) { return; }
      el.disabled = Boolean(el.closest("[hidden]"));
    });
  };

  document.addEventListener("DOMContentLoaded", function () {
    var adders = {};
    var main = document.getElementById("layout-add-column");
    if (main) {
      adders[main.dataset.prefix] = new RowAdder(main, {template: "layout-column-template", table: "layout-columns",
                                                        status: "layout-add-column-status", focus: "-label"});
    }
    var box = document.getElementById("records-editor");
    var records = null;
    document.querySelectorAll("[data-add-row]").forEach(function (button) {
      adders[button.dataset.prefix] = new RowAdder(button, {
        template: button.dataset.template, table: button.dataset.table, status: button.dataset.status,
        focus: button.dataset.focus || "-field",
        onAdd: function () { if (records) { records.show(); } }});
    });
    if (box) { records = new RecordsEditor(box, adders); }
  });
})();
