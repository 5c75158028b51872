// Export layouts without JSON (issue 17 item 9): a visual editor for a layout of received data handed to the
// core systems — the file's settings and its columns (item, header, width, code mapping) chosen from lists.
// It writes the same JSON the server has always read into the original textarea, which stays available as
// the advanced view; editing either view updates the other.
// No inline script (strict CSP): the vocabulary (items, code tables, settings and every word of the editor, in
// the UI language) arrives as <script type="application/json" id="layout-vocabulary">, and the places the
// server refused as id="layout-problems".
(function () {
  "use strict";

  var SETTINGS = ["format", "encoding", "line_ending", "date_style", "unencodable", "quoting"];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function fmt(text, params) {
    return String(text).replace(/%\((\w+)\)[sd]/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(params, key) ? String(params[key]) : match;
    });
  }

  function readJSON(id) {
    var script = document.getElementById(id);
    if (!script) { return null; }
    try { return JSON.parse(script.textContent); } catch (e) { return null; }
  }

  function Editor(textarea, vocab, problems) {
    var self = this;
    this.textarea = textarea;
    this.vocab = vocab;
    this.t = vocab.text;
    this.problems = problems || [];
    this.items = {};
    vocab.items.forEach(function (item) { self.items[item.code] = item; });
    vocab.meta.forEach(function (item) { self.items[item.code] = item; });
    var wrapper = textarea.closest(".field") || textarea.parentNode;
    this.box = el("div", {"class": "layout-builder"});
    this.error = el("p", {"class": "field__error", role: "alert", hidden: "hidden"});
    this.settings = el("section", {"class": "card layout-builder__settings", "aria-labelledby": "layout-settings-heading"});
    this.columns = el("section", {"class": "card layout-builder__columns", "aria-labelledby": "layout-columns-heading"});
    this.status = el("p", {"class": "visually-hidden", "aria-live": "polite"});
    this.box.appendChild(this.error);
    this.box.appendChild(this.settings);
    this.box.appendChild(this.columns);
    this.box.appendChild(this.status);
    var toggle = el("button", {type: "button", "class": "button button--secondary button--small", "aria-expanded": "false",
                               "aria-controls": wrapper.id || (wrapper.id = "layout-advanced"), text: this.t.advanced});
    this.box.appendChild(toggle);
    wrapper.parentNode.insertBefore(this.box, wrapper);
    var form = textarea.form;
    wrapper.hidden = !(form && form.dataset.jsonError);
    toggle.setAttribute("aria-expanded", String(!wrapper.hidden));
    toggle.addEventListener("click", function () {
      wrapper.hidden = !wrapper.hidden;
      toggle.setAttribute("aria-expanded", String(!wrapper.hidden));
      if (!wrapper.hidden) { textarea.focus(); }
    });
    textarea.addEventListener("input", function () { self.problems = []; self.load(); });
    this.load();
  }

  Editor.prototype.load = function () {
    var text = this.textarea.value.trim(), data;
    try {
      data = text ? JSON.parse(text) : {};
    } catch (e) {
      this.fail(fmt(this.t.unreadable, {error: e.message}));
      return;
    }
    if (!data || typeof data !== "object" || Array.isArray(data)) { this.fail(this.t.notObject); return; }
    if (!Array.isArray(data.columns)) { data.columns = []; }
    this.error.hidden = true;
    this.settings.hidden = this.columns.hidden = false;
    this.state = data;
    this.render();
  };

  Editor.prototype.fail = function (message) {
    this.error.textContent = message;
    this.error.hidden = false;
  };

  Editor.prototype.write = function () {
    this.problems = [];
    this.textarea.value = JSON.stringify(this.state, null, 2);
  };

  Editor.prototype.isFixed = function () { return this.state.format === "fixed"; };

  Editor.prototype.render = function (focus) {
    this.renderSettings();
    this.renderColumns();
    this.markProblems();
    if (focus) {
      var target = this.box.querySelector(focus);
      if (target) { target.focus(); }
    }
  };

  // ---- settings ------------------------------------------------------------------------------------------------
  Editor.prototype.field = function (key, control, help) {
    var id = "layout-" + key.replace(/_/g, "-");
    control.id = id;
    control.setAttribute("data-place", key);
    var box = el("div", {"class": "field"}, [el("label", {"class": "field__label", "for": id, text: this.vocab.labels[key]})]);
    if (help) {
      box.appendChild(el("p", {"class": "field__help", id: id + "-help", text: help}));
      control.setAttribute("aria-describedby", id + "-help");
    }
    box.appendChild(control);
    return box;
  };

  Editor.prototype.select = function (choices, current, onChange) {
    var select = el("select", {});
    var known = false;
    choices.forEach(function (pair) {
      var option = el("option", {value: pair[0], text: pair[1]});
      if (pair[0] === current) { option.selected = true; known = true; }
      select.appendChild(option);
    });
    if (!known && current !== undefined && current !== null && current !== "") {
      select.insertBefore(el("option", {value: String(current), text: String(current), selected: "selected"}), select.firstChild);
    }
    select.addEventListener("change", function () { onChange(select.value); });
    return select;
  };

  Editor.prototype.text = function (current, onInput, attrs) {
    var input = el("input", Object.assign({type: "text", value: current === undefined || current === null ? "" : String(current)},
                                          attrs || {}));
    input.addEventListener("input", function () { onInput(input.value); });
    return input;
  };

  Editor.prototype.renderSettings = function () {
    var self = this, state = this.state, choices = this.vocab.choices;
    this.settings.textContent = "";
    this.settings.appendChild(el("h2", {id: "layout-settings-heading", text: this.t.settings}));
    var grid = el("div", {"class": "layout-builder__grid"});
    grid.appendChild(this.field("code", this.text(state.code, function (v) { state.code = v; self.write(); },
                                                  {autocomplete: "off", spellcheck: "false"})));
    grid.appendChild(this.field("name", this.text(state.name, function (v) { state.name = v; self.write(); })));
    SETTINGS.forEach(function (key) {
      if (key === "quoting" && self.isFixed()) { return; }
      var current = state[key] === undefined ? choices[key][0][0] : state[key];
      grid.appendChild(self.field(key, self.select(choices[key], current, function (value) {
        state[key] = value;
        if (key === "format") {
          if (value === "fixed") {
            state.header = false;
            delete state.quoting;
          } else {
            state.columns.forEach(function (column) { delete column.width; delete column.align; delete column.pad; });
          }
          self.write();
          self.render("#layout-format");
          return;
        }
        self.write();
        if (key === "unencodable") { self.render("#layout-unencodable"); }
      })));
    });
    if (state.unencodable === "replace") {
      grid.appendChild(this.field("replacement", this.text(state.replacement === undefined ? "〓" : state.replacement,
        function (v) { state.replacement = v; self.write(); }, {maxlength: "2", "class": "layout-builder__narrow"})));
    }
    var header = el("input", {type: "checkbox", id: "layout-header", "data-place": "header"});
    header.checked = state.header !== false && !this.isFixed();
    header.disabled = this.isFixed();
    header.addEventListener("change", function () { state.header = header.checked; self.write(); });
    var check = el("div", {"class": "field"}, [el("label", {"class": "layout-builder__check", "for": "layout-header"},
      [header, document.createTextNode(this.t.headerOn)])]);
    if (this.isFixed()) {
      check.appendChild(el("p", {"class": "field__help", id: "layout-header-help", text: this.t.fixedNoHeader}));
      header.setAttribute("aria-describedby", "layout-header-help");
    }
    grid.appendChild(check);
    this.settings.appendChild(grid);
  };

  // ---- columns -------------------------------------------------------------------------------------------------
  Editor.prototype.itemLabel = function (code) {
    var item = this.items[code];
    return item ? item.label : (code || "");
  };

  Editor.prototype.itemSelect = function (current, attrs) {
    var self = this;
    var select = el("select", attrs || {});
    var known = false;
    [[fmt(this.t.kindItems, {kind: this.vocab.kind.label}), this.vocab.items], [this.t.metaItems, this.vocab.meta]]
      .forEach(function (group) {
        var optgroup = el("optgroup", {label: group[0]});
        group[1].forEach(function (item) {
          var option = el("option", {value: item.code, text: item.label});
          if (item.code === current) { option.selected = true; known = true; }
          optgroup.appendChild(option);
        });
        select.appendChild(optgroup);
      });
    if (!known && current) {
      select.insertBefore(el("option", {value: current, text: current, selected: "selected"}), select.firstChild);
    }
    void self;
    return select;
  };

  Editor.prototype.renderColumns = function () {
    var self = this, state = this.state, t = this.t, fixed = this.isFixed();
    this.columns.textContent = "";
    this.columns.appendChild(el("h2", {id: "layout-columns-heading", text: t.columns}));
    if (!state.columns.length) {
      this.columns.appendChild(el("p", {"class": "field__help", text: t.empty}));
    } else {
      var head = [t.column.replace(/%\(n\)s/, "#"), this.vocab.labels["column.item"], this.vocab.labels["column.header"]];
      if (fixed) {
        head.push(this.vocab.labels["column.width"], this.vocab.labels["column.align"], this.vocab.labels["column.pad"]);
      }
      head.push(this.vocab.labels["column.map"], t.actions);
      var table = el("table", {"class": "table table--form layout-builder__table"});
      table.appendChild(el("caption", {"class": "visually-hidden", text: t.columns}));
      table.appendChild(el("thead", {}, [el("tr", {}, head.map(function (text) { return el("th", {scope: "col", text: text}); }))]));
      var body = el("tbody", {});
      state.columns.forEach(function (column, index) { body.appendChild(self.columnRow(column, index)); });
      table.appendChild(body);
      this.columns.appendChild(el("div", {"class": "layout-builder__scroll"}, [table]));
    }
    var add = this.itemSelect("", {id: "layout-add-item", "data-place": "columns"});
    var addButton = el("button", {type: "button", "class": "button button--secondary button--small", text: t.add});
    addButton.addEventListener("click", function () {
      state.columns.push({item: add.value});
      self.write();
      self.render('[data-place="columns[' + (state.columns.length - 1) + '].item"]');
      self.status.textContent = fmt(t.added, {label: self.itemLabel(add.value)});
    });
    this.columns.appendChild(el("div", {"class": "layout-builder__add"}, [
      el("label", {"for": "layout-add-item", text: t.addItem}), add, addButton]));
  };

  Editor.prototype.columnRow = function (column, index) {
    var self = this, state = this.state, t = this.t, fixed = this.isFixed();
    var place = "columns[" + index + "]";
    var name = fmt(t.column, {n: index + 1});
    var item = this.items[column.item];
    var row = el("tr", {});
    row.appendChild(el("th", {scope: "row", text: name}));

    var select = this.itemSelect(typeof column.item === "string" ? column.item : "", {
      "aria-label": name + " " + this.vocab.labels["column.item"], "data-place": place + ".item"});
    select.addEventListener("change", function () {
      column.item = select.value;
      delete column.map;
      self.write();
      self.render('[data-place="' + place + '.item"]');
    });
    var cell = el("td", {}, [select]);
    if (item && item.meaning) {
      var helpId = "layout-col-" + index + "-meaning";
      cell.appendChild(el("p", {"class": "field__help", id: helpId,
                                text: item.meaning + (item.address ? "（" + t.address + "）" : "")}));
      select.setAttribute("aria-describedby", helpId);
    }
    row.appendChild(cell);

    row.appendChild(el("td", {}, [this.text(column.header, function (value) {
      if (value === "") { delete column.header; } else { column.header = value; }
      self.write();
    }, {"aria-label": name + " " + this.vocab.labels["column.header"], "data-place": place + ".header",
        placeholder: fmt(t.headerPlaceholder, {label: this.itemLabel(column.item)})})]));

    if (fixed) {
      var width = el("input", {type: "number", min: "1", max: "1000", inputmode: "numeric",
                               "aria-label": name + " " + this.vocab.labels["column.width"], "data-place": place + ".width",
                               value: column.width === undefined || column.width === null ? "" : String(column.width)});
      width.addEventListener("input", function () {
        var value = width.value.trim();
        if (value === "") { delete column.width; } else if (/^\d+$/.test(value)) { column.width = Number(value); } else { column.width = value; }
        self.write();
      });
      row.appendChild(el("td", {}, [width]));
      row.appendChild(el("td", {}, [this.select(this.vocab.choices.align, column.align || "left", function (value) {
        if (value === "left") { delete column.align; } else { column.align = value; }
        self.write();
      })]));
      row.lastChild.firstChild.setAttribute("aria-label", name + " " + this.vocab.labels["column.align"]);
      row.lastChild.firstChild.setAttribute("data-place", place + ".align");
      row.appendChild(el("td", {}, [this.select(this.vocab.choices.pad, column.pad === undefined ? " " : column.pad, function (value) {
        if (value === " ") { delete column.pad; } else { column.pad = value; }
        self.write();
      })]));
      row.lastChild.firstChild.setAttribute("aria-label", name + " " + this.vocab.labels["column.pad"]);
      row.lastChild.firstChild.setAttribute("data-place", place + ".pad");
    }

    row.appendChild(el("td", {}, [this.mapEditor(column, item, name, place)]));

    var actions = el("td", {"class": "layout-builder__actions"});
    var label = name + "（" + this.itemLabel(column.item) + "）";
    [["up", -1], ["down", 1]].forEach(function (pair) {
      var target = index + pair[1];
      var button = el("button", {type: "button", "class": "button button--secondary button--small", text: t[pair[0]],
                                 "aria-label": label + " " + t[pair[0]], "data-move": pair[0] + index});
      button.disabled = target < 0 || target >= state.columns.length;
      button.addEventListener("click", function () {
        var moved = state.columns.splice(index, 1)[0];
        state.columns.splice(target, 0, moved);
        self.write();
        self.render('[data-move="' + pair[0] + target + '"]:not([disabled]), [data-place="columns[' + target + '].item"]');
        self.status.textContent = fmt(t.moved, {label: label});
      });
      actions.appendChild(button);
    });
    var remove = el("button", {type: "button", "class": "button button--secondary button--small", text: t.remove,
                               "aria-label": label + " " + t.remove});
    remove.addEventListener("click", function () {
      state.columns.splice(index, 1);
      self.write();
      self.render("#layout-add-item");
      self.status.textContent = fmt(t.removed, {label: label});
    });
    actions.appendChild(remove);
    row.appendChild(actions);
    return row;
  };

  Editor.prototype.mapEditor = function (column, item, name, place) {
    var self = this, t = this.t;
    var map = column.map && typeof column.map === "object" && !Array.isArray(column.map) ? column.map : null;
    var codes = item && item.codes ? item.codes : [];
    if (!codes.length) {
      if (map && Object.keys(map).length) {
        return el("p", {"class": "field__help", "data-place": place + ".map",
                        text: fmt(t.mapOther, {pairs: JSON.stringify(map)})});
      }
      return el("span", {"aria-hidden": "true", text: "—"});
    }
    var set = map ? Object.keys(map).length : 0;
    var details = el("details", {"class": "layout-builder__map"});
    if (set || this.problems.some(function (p) { return p.place === place + ".map"; })) { details.open = true; }
    details.appendChild(el("summary", {text: this.vocab.labels["column.map"] + (set ? "（" + set + "）" : "")}));
    details.appendChild(el("p", {"class": "field__help", text: t.mapLegend}));
    codes.forEach(function (pair, position) {
      var input = self.text(map && map[pair[0]] !== undefined ? map[pair[0]] : "", function (value) {
        var current = column.map && typeof column.map === "object" && !Array.isArray(column.map) ? column.map : {};
        if (value === "") { delete current[pair[0]]; } else { current[pair[0]] = value; }
        if (Object.keys(current).length) { column.map = current; } else { delete column.map; }
        self.write();
      }, {"aria-label": name + " " + fmt(t.mapValue, {label: pair[1], code: pair[0]}), placeholder: pair[0],
          "class": "layout-builder__narrow"});
      if (position === 0) { input.setAttribute("data-place", place + ".map"); }
      details.appendChild(el("label", {"class": "layout-builder__pair"},
        [el("span", {text: pair[1] + "（" + pair[0] + "）→"}), input]));
    });
    var others = map ? Object.keys(map).filter(function (key) {
      return !codes.some(function (pair) { return pair[0] === key; });
    }) : [];
    if (others.length) {
      var pairs = {};
      others.forEach(function (key) { pairs[key] = map[key]; });
      details.appendChild(el("p", {"class": "field__help", text: fmt(t.mapOther, {pairs: JSON.stringify(pairs)})}));
    }
    return details;
  };

  // ---- the places the server refused ---------------------------------------------------------------------------
  Editor.prototype.markProblems = function () {
    var self = this;
    this.problems.forEach(function (problem, index) {
      var place = /^columns\[\d+\]$/.test(problem.place) ? problem.place + ".item" : problem.place;
      var target = self.box.querySelector('[data-place="' + place + '"]') ||
        self.box.querySelector('[data-place="' + place.replace(/\.\w+$/, "") + '.item"]');
      if (!target) { return; }
      var id = "layout-problem-" + index;
      var message = el("p", {"class": "field__error", id: id, text: problem.message});
      if (/^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) {
        target.setAttribute("aria-invalid", "true");
        var described = target.getAttribute("aria-describedby");
        target.setAttribute("aria-describedby", (described ? described + " " : "") + id);
        target.insertAdjacentElement("afterend", message);
      } else {
        target.insertAdjacentElement("afterend", message);
      }
    });
  };

  function start() {
    var vocab = readJSON("layout-vocabulary");
    var textarea = document.getElementById("id_definition");
    if (!vocab || !textarea || textarea.dataset.layoutEditor) { return; }
    textarea.dataset.layoutEditor = "1";
    new Editor(textarea, vocab, readJSON("layout-problems") || []);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
