// 様式のレイアウトエディタ (R2.7): the page at scale with its background and the fields as boxes, dragged and
// resized with interact.js on a mm grid; the same by keyboard (a list to select, x/y/w/h inputs, arrow keys);
// a binding picker with the sample household's values; undo/redo; multi-select with align and distribute;
// copy with binding; a live preview rendered by the server for the sample household; save as the draft.
// Strict CSP: no inline script or style — positions are set through element.style (CSSOM) from here.
(function () {
  "use strict";

  var STEP_BIG = 10; // Shift + arrow: ten steps
  var HISTORY = 200;

  function round1(v) { return Math.round(v * 10) / 10; }
  function clone(v) { return JSON.parse(JSON.stringify(v)); }
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function Editor(root, data) {
    this.root = root;
    this.data = data;
    this.fields = clone(data.fields || []);
    this.page = data.page;
    this.selected = []; // indices, the last one is the primary (shown in the inspector)
    this.undoStack = [];
    this.redoStack = [];
    this.clipboard = [];
    this.dirty = false;
    this.scale = 3;
    this.step = 1;
    this.snap = true;
    this.edgeSnap = true;
    this.boxes = [];
    this.drag = null;
    this.previewTimer = null;
    this.previewSeq = 0;
    this.byBinding = {};
    var self = this;
    (data.catalogue || []).forEach(function (row) { self.byBinding[row.binding] = row; });
    this.el = {
      page: document.getElementById("fe-page"),
      list: document.getElementById("fe-list"),
      selection: document.getElementById("fe-selection"),
      inspector: document.getElementById("fe-inspector"),
      inputError: document.getElementById("fe-input-error"),
      status: document.getElementById("fe-status"),
      errors: document.getElementById("fe-errors"),
      dirty: document.getElementById("fe-dirty"),
      undo: document.getElementById("fe-undo"),
      redo: document.getElementById("fe-redo"),
      copy: document.getElementById("fe-copy"),
      del: document.getElementById("fe-delete"),
      binding: document.getElementById("fe-binding"),
      bindingSample: document.getElementById("fe-binding-sample"),
      picker: document.getElementById("fe-picker"),
      pickerResults: document.getElementById("fe-picker-results"),
      pickerCount: document.getElementById("fe-picker-count"),
      preview: document.getElementById("fe-preview"),
      previewProblems: document.getElementById("fe-preview-problems"),
      previewFields: document.getElementById("fe-preview-fields")
    };
  }

  // ----- geometry: a field's box in mm (a table of rows is rows × row_h high) -----
  Editor.prototype.box = function (f) {
    var h = f.type === "rows" ? (Number(f.rows) || 1) * (Number(f.row_h) || 1) : Number(f.h);
    return { x: Number(f.x) || 0, y: Number(f.y) || 0, w: Number(f.w) || 0, h: h || 0 };
  };
  Editor.prototype.setBox = function (f, b) {
    var dx = round1(b.x) - (Number(f.x) || 0), dy = round1(b.y) - (Number(f.y) || 0);
    f.x = round1(b.x);
    f.y = round1(b.y);
    f.w = round1(b.w);
    if (f.type === "rows") {
      f.row_h = round1(b.h / (Number(f.rows) || 1));
    } else {
      f.h = round1(b.h);
    }
    // Circles and ticks are drawn on the printed options, which are placed on the page: they move along.
    if ((dx || dy) && Array.isArray(f.options)) {
      f.options.forEach(function (o) {
        if (o && typeof o.x === "number") { o.x = round1(o.x + dx); }
        if (o && typeof o.y === "number") { o.y = round1(o.y + dy); }
      });
    }
  };
  Editor.prototype.snapTo = function (v) {
    return this.snap ? Math.round(v / this.step) * this.step : v;
  };
  Editor.prototype.clampMove = function (b) {
    b.x = Math.min(Math.max(b.x, 0), Math.max(this.page.w - b.w, 0));
    b.y = Math.min(Math.max(b.y, 0), Math.max(this.page.h - b.h, 0));
    return b;
  };
  Editor.prototype.name = function (f, i) {
    return f.label || f.key || f.text || ("項目" + (i + 1));
  };

  // ----- history -----
  Editor.prototype.snapshot = function () { return JSON.stringify(this.fields); };
  Editor.prototype.commit = function (before, message) {
    if (before === this.snapshot()) { this.renderAll(); return; }
    this.undoStack.push({ fields: before, selected: this.selected.slice() });
    if (this.undoStack.length > HISTORY) { this.undoStack.shift(); }
    this.redoStack = [];
    this.changed(message);
  };
  Editor.prototype.changed = function (message) {
    this.dirty = true;
    this.renderAll();
    if (message) { this.say(message); }
    this.schedulePreview();
  };
  Editor.prototype.restore = function (from, to, message) {
    if (!from.length) { return; }
    var entry = from.pop();
    to.push({ fields: this.snapshot(), selected: this.selected.slice() });
    this.fields = JSON.parse(entry.fields);
    var n = this.fields.length;
    this.selected = entry.selected.filter(function (i) { return i < n; });
    this.changed(message);
  };
  Editor.prototype.undo = function () { this.restore(this.undoStack, this.redoStack, "元に戻しました。"); };
  Editor.prototype.redo = function () { this.restore(this.redoStack, this.undoStack, "やり直しました。"); };

  // ----- drawing -----
  Editor.prototype.layoutPage = function () {
    var page = this.el.page;
    page.style.width = (this.page.w * this.scale) + "px";
    page.style.height = (this.page.h * this.scale) + "px";
    page.style.setProperty("--fe-grid", (this.step * this.scale) + "px");
  };
  Editor.prototype.place = function (el, b) {
    var s = this.scale;
    el.style.left = (b.x * s) + "px";
    el.style.top = (b.y * s) + "px";
    el.style.width = Math.max(b.w * s, 2) + "px";
    el.style.height = Math.max(b.h * s, 2) + "px";
  };
  Editor.prototype.renderAll = function () {
    var self = this;
    this.layoutPage();
    var primary = this.selected.length ? this.selected[this.selected.length - 1] : -1;
    var tabbable = primary >= 0 ? primary : 0;
    // Boxes: reuse the elements (80 fields redraw in well under a frame).
    while (this.boxes.length > this.fields.length) { this.boxes.pop().remove(); }
    this.fields.forEach(function (f, i) {
      var el = self.boxes[i];
      if (!el) {
        el = document.createElement("div");
        el.className = "fe-box";
        el.setAttribute("role", "button");
        el.dataset.index = String(i);
        var text = document.createElement("span");
        text.className = "fe-box__text";
        el.appendChild(text);
        self.el.page.appendChild(el);
        self.boxes[i] = el;
      }
      var b = self.box(f);
      self.place(el, b);
      var on = self.selected.indexOf(i) !== -1;
      el.classList.toggle("is-selected", on);
      el.classList.toggle("is-primary", i === primary);
      el.classList.toggle("is-static", f.type === "label" || f.type === "frame");
      el.setAttribute("aria-pressed", on ? "true" : "false");
      el.tabIndex = i === tabbable ? 0 : -1;
      el.setAttribute("aria-label", self.name(f, i) + "（x " + b.x + "、y " + b.y + "、幅 " + b.w + "、高さ " + b.h + " mm）");
      el.firstChild.textContent = self.name(f, i);
    });
    this.renderList();
    this.renderInspector();
    this.el.undo.disabled = !this.undoStack.length;
    this.el.redo.disabled = !this.redoStack.length;
    this.el.copy.disabled = !this.selected.length;
    this.el.del.disabled = !this.selected.length;
    var n = this.selected.length;
    this.root.querySelectorAll("[data-align]").forEach(function (b) { b.disabled = n < 2; });
    this.root.querySelectorAll("[data-distribute]").forEach(function (b) { b.disabled = n < 3; });
    this.el.dirty.textContent = this.dirty ? "保存していない変更があります" : "";
  };
  Editor.prototype.renderList = function () {
    var self = this, list = this.el.list;
    while (list.children.length > this.fields.length) { list.lastChild.remove(); }
    this.fields.forEach(function (f, i) {
      var li = list.children[i];
      if (!li) {
        li = document.createElement("li");
        var input = document.createElement("input");
        input.type = "checkbox";
        input.id = "fe-item-" + i;
        input.dataset.index = String(i);
        var label = document.createElement("label");
        label.htmlFor = input.id;
        li.appendChild(input);
        li.appendChild(label);
        list.appendChild(li);
      }
      var b = self.box(f);
      li.firstChild.checked = self.selected.indexOf(i) !== -1;
      li.lastChild.textContent = self.name(f, i) + "（" + b.x + ", " + b.y + " mm）";
    });
  };
  Editor.prototype.renderInspector = function () {
    var el = this.el, n = this.selected.length;
    var f = n ? this.fields[this.selected[n - 1]] : null;
    el.inspector.disabled = !f;
    if (!f) {
      el.selection.textContent = "項目を選んでください（一覧のチェック、または用紙の枠をクリック）。";
    } else if (n === 1) {
      el.selection.textContent = "「" + this.name(f, this.selected[0]) + "」（" + (f.type || "text") + "）";
    } else {
      el.selection.textContent = n + " 件を選択中。数値は最後に選んだ「" + this.name(f, this.selected[n - 1]) + "」のものです。";
    }
    var b = f ? this.box(f) : null;
    var active = document.activeElement;
    el.inspector.querySelectorAll("[data-prop]").forEach(function (input) {
      if (input === active) { return; } // do not overwrite what is being typed
      var prop = input.dataset.prop;
      var value = "";
      if (f) { value = (prop in b) ? b[prop] : (f[prop] === undefined ? "" : f[prop]); }
      input.value = value;
    });
    var bound = f && this.data.bound.indexOf(f.type || "text") !== -1;
    if (el.binding !== active) { el.binding.value = bound ? (f.binding || "") : ""; }
    el.binding.disabled = !bound;
    el.picker.disabled = !bound;
    this.showSample(f && bound ? f.binding : "");
  };
  Editor.prototype.showSample = function (binding) {
    var text = "";
    if (binding) {
      var base = String(binding).split("|")[0].trim();
      var row = this.byBinding[base];
      if (!row) {
        text = "「" + base + "」はデータの出どころにありません。";
      } else {
        text = "見本世帯の値：" + (row.sample || "（空欄）") + (String(binding).indexOf("|") !== -1 ? "（変換後はプレビューで確認）" : "");
      }
    }
    this.el.bindingSample.textContent = text;
  };

  // ----- selection -----
  Editor.prototype.select = function (indices) {
    this.selected = indices.slice();
    this.renderAll();
  };
  Editor.prototype.toggle = function (i) {
    var at = this.selected.indexOf(i);
    if (at === -1) { this.selected.push(i); } else { this.selected.splice(at, 1); }
    this.renderAll();
  };

  // ----- changes -----
  Editor.prototype.moveSelected = function (dx, dy) {
    if (!this.selected.length) { return; }
    var self = this, before = this.snapshot();
    this.selected.forEach(function (i) {
      var f = self.fields[i], b = self.box(f);
      b.x += dx; b.y += dy;
      self.setBox(f, self.clampMove(b));
    });
    this.commit(before, "移動しました。");
  };
  Editor.prototype.resizeSelected = function (dw, dh) {
    if (!this.selected.length) { return; }
    var self = this, before = this.snapshot();
    this.selected.forEach(function (i) {
      var f = self.fields[i], b = self.box(f);
      b.w = Math.min(Math.max(b.w + dw, 0.5), self.page.w - b.x);
      b.h = Math.min(Math.max(b.h + dh, 0.5), self.page.h - b.y);
      self.setBox(f, b);
    });
    this.commit(before, "大きさを変えました。");
  };
  Editor.prototype.setProp = function (prop, raw) {
    var n = this.selected.length;
    if (!n) { return; }
    var f = this.fields[this.selected[n - 1]];
    var before = this.snapshot();
    this.el.inputError.textContent = "";
    if (prop === "x" || prop === "y" || prop === "w" || prop === "h" || prop === "size") {
      var value = Number(String(raw).trim());
      if (String(raw).trim() === "" || !isFinite(value)) {
        this.el.inputError.textContent = "「" + this.name(f, this.selected[n - 1]) + "」の " + prop + " を数値で入力してください。";
        return;
      }
      if (prop === "size") {
        f.size = value;
      } else {
        var b = this.box(f);
        b[prop] = value;
        this.setBox(f, b); // out-of-page values are kept: the save names the field and refuses them
      }
    } else if (prop === "key" || prop === "label" || prop === "text" || prop === "binding") {
      f[prop] = String(raw).trim();
    }
    this.commit(before, "変更しました。");
  };
  Editor.prototype.uniqueKey = function (base) {
    var keys = {};
    this.fields.forEach(function (f) { if (f.key) { keys[f.key] = true; } });
    var stem = String(base || "field").replace(/_copy\d*$/, "");
    var key = stem + "_copy", n = 2;
    while (keys[key]) { key = stem + "_copy" + n; n += 1; }
    return key;
  };
  Editor.prototype.paste = function (items) {
    if (!items.length) { return; }
    var self = this, before = this.snapshot(), added = [];
    items.forEach(function (item) {
      var f = clone(item);
      if (f.key) { f.key = self.uniqueKey(f.key); }
      var b = self.box(f);
      b.x += 5; b.y += 5;
      self.setBox(f, self.clampMove(b));
      self.fields.push(f);
      added.push(self.fields.length - 1);
    });
    this.selected = added;
    this.commit(before, added.length + " 件を複製しました（データの出どころも同じです）。");
  };
  Editor.prototype.copySelected = function () {
    var self = this;
    this.clipboard = this.selected.map(function (i) { return clone(self.fields[i]); });
  };
  Editor.prototype.deleteSelected = function () {
    if (!this.selected.length) { return; }
    var before = this.snapshot(), gone = this.selected.slice();
    this.fields = this.fields.filter(function (f, i) { return gone.indexOf(i) === -1; });
    this.selected = [];
    this.commit(before, gone.length + " 件を削除しました。");
  };
  Editor.prototype.addField = function () {
    var before = this.snapshot();
    var key = "field", n = 1, keys = {};
    this.fields.forEach(function (f) { if (f.key) { keys[f.key] = true; } });
    while (keys[key + n]) { n += 1; }
    this.fields.push({ key: key + n, label: "新しい項目" + n, type: "text", x: 10, y: 10, w: 60, h: 7, binding: "" });
    this.selected = [this.fields.length - 1];
    this.commit(before, "項目を追加しました。データの出どころを選んでください。");
  };
  Editor.prototype.align = function (how) {
    if (this.selected.length < 2) { return; }
    var self = this, before = this.snapshot();
    var boxes = this.selected.map(function (i) { return self.box(self.fields[i]); });
    var left = Math.min.apply(null, boxes.map(function (b) { return b.x; }));
    var right = Math.max.apply(null, boxes.map(function (b) { return b.x + b.w; }));
    var top = Math.min.apply(null, boxes.map(function (b) { return b.y; }));
    var bottom = Math.max.apply(null, boxes.map(function (b) { return b.y + b.h; }));
    this.selected.forEach(function (i, k) {
      var b = boxes[k];
      if (how === "left") { b.x = left; }
      if (how === "right") { b.x = right - b.w; }
      if (how === "center") { b.x = (left + right) / 2 - b.w / 2; }
      if (how === "top") { b.y = top; }
      if (how === "bottom") { b.y = bottom - b.h; }
      if (how === "middle") { b.y = (top + bottom) / 2 - b.h / 2; }
      self.setBox(self.fields[i], b);
    });
    this.commit(before, "揃えました。");
  };
  Editor.prototype.distribute = function (axis) {
    if (this.selected.length < 3) { return; }
    var self = this, before = this.snapshot();
    var pos = axis === "x" ? "x" : "y", size = axis === "x" ? "w" : "h";
    var items = this.selected.map(function (i) { return { i: i, b: self.box(self.fields[i]) }; });
    items.sort(function (a, b) { return a.b[pos] - b.b[pos]; });
    var first = items[0].b, last = items[items.length - 1].b;
    var span = last[pos] + last[size] - first[pos];
    var total = items.reduce(function (s, it) { return s + it.b[size]; }, 0);
    var gap = (span - total) / (items.length - 1);
    var at = first[pos];
    items.forEach(function (it) {
      it.b[pos] = at;
      at += it.b[size] + gap;
      self.setBox(self.fields[it.i], it.b);
    });
    this.commit(before, "等間隔に並べました。");
  };

  // ----- dragging and resizing with interact.js -----
  // Edges (start, centre, end) of the fields not being moved, for snapping to them and showing a guide.
  Editor.prototype.guideEdges = function () {
    var self = this, xs = [], ys = [];
    this.fields.forEach(function (f, i) {
      if (self.selected.indexOf(i) !== -1) { return; }
      var b = self.box(f);
      xs.push(b.x, b.x + b.w / 2, b.x + b.w);
      ys.push(b.y, b.y + b.h / 2, b.y + b.h);
    });
    return { x: xs, y: ys };
  };
  // The shift (mm) that puts one of the box's edges on a guide within the tolerance, and that guide.
  function nearest(edges, start, size, tolerance) {
    var best = null;
    var own = [start, start + size / 2, start + size];
    for (var n = 0; n < edges.length; n += 1) {
      for (var k = 0; k < 3; k += 1) {
        var shift = edges[n] - own[k];
        if (Math.abs(shift) <= tolerance && (best === null || Math.abs(shift) < Math.abs(best.shift))) {
          best = { shift: shift, at: edges[n] };
        }
      }
    }
    return best;
  }
  Editor.prototype.showGuides = function (gx, gy) {
    var s = this.scale;
    this.guideX.hidden = gx === null;
    this.guideY.hidden = gy === null;
    if (gx !== null) { this.guideX.style.left = (gx * s) + "px"; }
    if (gy !== null) { this.guideY.style.top = (gy * s) + "px"; }
  };
  Editor.prototype.startDrag = function (target) {
    var i = Number(target.dataset.index), self = this;
    if (this.selected.indexOf(i) === -1) { this.select([i]); }
    this.drag = {
      before: this.snapshot(), dx: 0, dy: 0, index: i,
      items: this.selected.map(function (k) { return { k: k, b: self.box(self.fields[k]) }; }),
      edges: this.edgeSnap ? this.guideEdges() : null
    };
  };
  Editor.prototype.dragMove = function (event) {
    var d = this.drag;
    if (!d) { return; }
    d.dx += event.dx / this.scale;
    d.dy += event.dy / this.scale;
    var sx = 0, sy = 0, gx = null, gy = null;
    if (d.edges) { // the grabbed field snaps to the other fields' edges; the rest of the selection follows
      var own = null;
      for (var m = 0; m < d.items.length; m += 1) { if (d.items[m].k === d.index) { own = d.items[m].b; } }
      if (own) {
        var tolerance = 6 / this.scale;
        var hx = nearest(d.edges.x, this.snapTo(own.x + d.dx), own.w, tolerance);
        var hy = nearest(d.edges.y, this.snapTo(own.y + d.dy), own.h, tolerance);
        if (hx) { sx = hx.shift; gx = hx.at; }
        if (hy) { sy = hy.shift; gy = hy.at; }
      }
    }
    this.showGuides(gx, gy);
    for (var n = 0; n < d.items.length; n += 1) {
      var it = d.items[n];
      var b = { x: this.snapTo(it.b.x + d.dx) + sx, y: this.snapTo(it.b.y + d.dy) + sy, w: it.b.w, h: it.b.h };
      this.clampMove(b);
      this.setBox(this.fields[it.k], b);
      var el = this.boxes[it.k];
      el.style.left = (b.x * this.scale) + "px";
      el.style.top = (b.y * this.scale) + "px";
    }
  };
  Editor.prototype.endDrag = function () {
    if (!this.drag) { return; }
    this.showGuides(null, null);
    var before = this.drag.before;
    this.drag = null;
    this.commit(before, "移動しました。");
  };
  Editor.prototype.startResize = function (target) {
    var i = Number(target.dataset.index);
    if (this.selected.indexOf(i) === -1) { this.select([i]); }
    this.drag = { before: this.snapshot(), index: i, b: this.box(this.fields[i]), l: 0, t: 0, r: 0, btm: 0 };
  };
  Editor.prototype.resizeMove = function (event) {
    var d = this.drag;
    if (!d) { return; }
    var s = this.scale, dr = event.deltaRect;
    d.l += dr.left / s; d.t += dr.top / s; d.r += dr.right / s; d.btm += dr.bottom / s;
    var x1 = Math.max(this.snapTo(d.b.x + d.l), 0), y1 = Math.max(this.snapTo(d.b.y + d.t), 0);
    var x2 = Math.min(this.snapTo(d.b.x + d.b.w + d.r), this.page.w);
    var y2 = Math.min(this.snapTo(d.b.y + d.b.h + d.btm), this.page.h);
    var min = Math.max(this.snap ? this.step : 0.5, 0.5);
    if (x2 - x1 < min) { if (dr.left) { x1 = x2 - min; } else { x2 = x1 + min; } }
    if (y2 - y1 < min) { if (dr.top) { y1 = y2 - min; } else { y2 = y1 + min; } }
    var b = { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
    this.setBox(this.fields[d.index], b);
    this.place(this.boxes[d.index], b);
  };
  Editor.prototype.endResize = function () {
    if (!this.drag) { return; }
    var before = this.drag.before;
    this.drag = null;
    this.commit(before, "大きさを変えました。");
  };
  Editor.prototype.bindInteract = function () {
    var self = this;
    if (!window.interact) {
      this.say("ドラッグ用のライブラリを読み込めませんでした。数値の入力と矢印キーで編集できます。");
      return;
    }
    window.interact(".fe-box", { context: this.el.page })
      .draggable({
        listeners: {
          start: function (e) { self.startDrag(e.target); },
          move: function (e) { self.dragMove(e); },
          end: function () { self.endDrag(); }
        }
      })
      .resizable({
        edges: { left: true, right: true, top: true, bottom: true },
        margin: 4, // px at the edges that resize; the rest of the box drags
        listeners: {
          start: function (e) { self.startResize(e.target); },
          move: function (e) { self.resizeMove(e); },
          end: function () { self.endResize(); }
        }
      });
  };

  // ----- binding picker -----
  Editor.prototype.renderPicker = function () {
    var query = this.el.picker.value.trim().toLowerCase();
    var list = this.el.pickerResults;
    list.textContent = "";
    var rows = (this.data.catalogue || []).filter(function (row) {
      if (!query) { return true; }
      return (row.binding + " " + row.label + " " + row.source + " " + row.sample).toLowerCase().indexOf(query) !== -1;
    });
    var shown = rows.slice(0, 40);
    shown.forEach(function (row) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "fe-pick";
      button.dataset.binding = row.binding;
      var title = document.createElement("span");
      title.className = "fe-pick__label";
      title.textContent = row.source + "：" + row.label;
      var code = document.createElement("code");
      code.textContent = row.binding;
      var sample = document.createElement("span");
      sample.className = "fe-pick__sample";
      sample.textContent = "見本：" + (row.sample || "（空欄）");
      button.appendChild(title);
      button.appendChild(code);
      button.appendChild(sample);
      li.appendChild(button);
      list.appendChild(li);
    });
    this.el.pickerCount.textContent = rows.length + " 件" + (rows.length > shown.length ? "（先頭 " + shown.length + " 件を表示）" : "");
  };

  // ----- server: save, preview -----
  Editor.prototype.post = function (url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return { errors: ["サーバーの応答を読めませんでした（" + response.status + "）。"] }; })
        .then(function (json) { return { ok: response.ok, json: json }; });
    });
  };
  Editor.prototype.showErrors = function (errors) {
    var box = this.el.errors;
    box.textContent = "";
    if (!errors || !errors.length) { return; }
    var title = document.createElement("p");
    title.textContent = "保存できませんでした。何も保存していません：";
    var list = document.createElement("ul");
    errors.forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      list.appendChild(li);
    });
    box.appendChild(title);
    box.appendChild(list);
  };
  Editor.prototype.save = function () {
    var self = this, sent = this.snapshot();
    this.say("保存しています…");
    return this.post(this.data.urls.save, { fields: this.fields }).then(function (result) {
      if (!result.ok) {
        self.showErrors(result.json.errors);
        self.say("保存できませんでした。");
        return false;
      }
      self.showErrors([]);
      if (self.snapshot() === sent) { self.dirty = false; }
      self.renderAll();
      self.say(result.json.message || "下書きを保存しました。");
      self.root.dataset.saved = String(Number(self.root.dataset.saved || 0) + 1);
      return true;
    }).catch(function () {
      self.say("保存できませんでした（通信エラー）。");
      return false;
    });
  };
  Editor.prototype.schedulePreview = function () {
    var self = this;
    if (this.previewTimer) { window.clearTimeout(this.previewTimer); }
    this.previewTimer = window.setTimeout(function () { self.refreshPreview(); }, 1200);
  };
  Editor.prototype.refreshPreview = function () {
    var self = this, seq = ++this.previewSeq;
    this.previewTimer = null;
    return this.post(this.data.urls.preview, { fields: this.fields }).then(function (result) {
      if (seq !== self.previewSeq) { return; } // a newer preview is on its way
      var list = self.el.previewProblems;
      list.textContent = "";
      var problems = result.ok ? result.json.problems : result.json.errors;
      (problems || []).forEach(function (text) {
        var li = document.createElement("li");
        li.textContent = text;
        list.appendChild(li);
      });
      if (result.ok && result.json.image) {
        self.el.preview.src = result.json.image;
        self.el.preview.hidden = false;
      }
      self.root.dataset.previews = String(Number(self.root.dataset.previews || 0) + 1);
    }).catch(function () { /* the next change tries again */ });
  };

  Editor.prototype.say = function (text) {
    this.el.status.textContent = text;
  };

  // ----- events -----
  Editor.prototype.bind = function () {
    var self = this, el = this.el;
    el.undo.addEventListener("click", function () { self.undo(); });
    el.redo.addEventListener("click", function () { self.redo(); });
    el.copy.addEventListener("click", function () { self.copySelected(); self.paste(self.clipboard); });
    el.del.addEventListener("click", function () { self.deleteSelected(); });
    document.getElementById("fe-add").addEventListener("click", function () { self.addField(); });
    document.getElementById("fe-save").addEventListener("click", function () { self.save(); });
    document.getElementById("fe-preview-refresh").addEventListener("click", function () { self.refreshPreview(); });
    this.root.querySelectorAll("[data-align]").forEach(function (b) {
      b.addEventListener("click", function () { self.align(b.dataset.align); });
    });
    this.root.querySelectorAll("[data-distribute]").forEach(function (b) {
      b.addEventListener("click", function () { self.distribute(b.dataset.distribute); });
    });
    document.getElementById("fe-zoom").addEventListener("change", function (e) {
      self.scale = Number(e.target.value) || 3; self.renderAll();
    });
    document.getElementById("fe-step").addEventListener("change", function (e) {
      self.step = Number(e.target.value) || 1; self.renderAll();
    });
    document.getElementById("fe-snap").addEventListener("change", function (e) { self.snap = e.target.checked; });
    document.getElementById("fe-edges").addEventListener("change", function (e) { self.edgeSnap = e.target.checked; });
    document.getElementById("fe-grid").addEventListener("change", function (e) {
      el.page.classList.toggle("fe-page--grid", e.target.checked);
    });
    // The list: a checkbox per field (keyboard: Tab and Space).
    el.list.addEventListener("change", function (e) {
      if (e.target.dataset.index !== undefined) { self.toggle(Number(e.target.dataset.index)); }
    });
    // Boxes: click selects (Ctrl/Shift adds), the page's empty area clears; a focused box is selected.
    el.page.addEventListener("pointerdown", function (e) {
      var box = e.target.closest(".fe-box");
      if (!box) { if (e.target === el.page || e.target.classList.contains("fe-page__bg")) { self.select([]); } return; }
      var i = Number(box.dataset.index);
      if (e.ctrlKey || e.metaKey || e.shiftKey) { self.toggle(i); } else if (self.selected.indexOf(i) === -1) { self.select([i]); }
    });
    el.page.addEventListener("keydown", function (e) {
      var box = e.target.closest(".fe-box");
      if (!box) { return; }
      var keys = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
      var d = keys[e.key];
      if (!d) { return; }
      e.preventDefault();
      // The focused box moves (with the others selected); a box not yet selected becomes the selection.
      if (self.selected.indexOf(Number(box.dataset.index)) === -1) { self.select([Number(box.dataset.index)]); }
      var step = self.step * (e.shiftKey ? STEP_BIG : 1);
      if (e.altKey) { self.resizeSelected(d[0] * step, d[1] * step); } else { self.moveSelected(d[0] * step, d[1] * step); }
      var primary = self.selected[self.selected.length - 1];
      if (primary !== undefined) { self.boxes[primary].focus(); }
    });
    // Inspector: a value is applied when it is committed (Enter or leaving the input).
    el.inspector.addEventListener("change", function (e) {
      var prop = e.target.dataset.prop;
      if (prop) { self.setProp(prop, e.target.value); }
    });
    el.binding.addEventListener("change", function () { self.setProp("binding", el.binding.value); });
    el.binding.addEventListener("input", function () { self.showSample(el.binding.value); });
    el.picker.addEventListener("input", function () { self.renderPicker(); });
    el.pickerResults.addEventListener("click", function (e) {
      var button = e.target.closest(".fe-pick");
      if (!button) { return; }
      if (el.binding.disabled) { self.say("データの出どころを設定する項目（文字・枡目・丸囲みなど）を選んでください。"); return; }
      var current = el.binding.value.split("|");
      current[0] = button.dataset.binding;
      self.setProp("binding", current.join("|"));
      self.say("データの出どころを「" + button.dataset.binding + "」にしました。");
    });
    // Shortcuts, except while typing in an input (on the document: a button that was just disabled drops focus).
    document.addEventListener("keydown", function (e) {
      var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) && e.target.type !== "checkbox";
      var mod = e.ctrlKey || e.metaKey;
      if (mod && (e.key === "s" || e.key === "S")) { e.preventDefault(); self.save(); return; }
      if (typing) { return; }
      if (mod && !e.shiftKey && (e.key === "z" || e.key === "Z")) { e.preventDefault(); self.undo(); }
      else if (mod && (e.key === "y" || e.key === "Y" || (e.shiftKey && (e.key === "z" || e.key === "Z")))) { e.preventDefault(); self.redo(); }
      else if (mod && (e.key === "c" || e.key === "C")) { self.copySelected(); self.say(self.clipboard.length + " 件をコピーしました。"); }
      else if (mod && (e.key === "v" || e.key === "V")) { e.preventDefault(); self.paste(self.clipboard); }
      else if ((e.key === "Delete") && e.target.closest(".fe-box")) { e.preventDefault(); self.deleteSelected(); }
      else if (mod && (e.key === "a" || e.key === "A") && e.target.closest(".fe-page")) {
        e.preventDefault();
        self.select(self.fields.map(function (f, i) { return i; }));
        self.say(self.fields.length + " 件をすべて選びました。");
      }
      else if (e.key === "Escape" && e.target.closest(".fe-page")) { self.select([]); }
    });
    // Preview as PDF: the current (unsaved) fields go with the form.
    document.getElementById("fe-preview-pdf").addEventListener("submit", function () {
      el.previewFields.value = self.snapshot();
    });
    // Publishing publishes the saved draft: unsaved changes are saved first (a refused save stops it).
    var publish = document.getElementById("fe-publish");
    publish.addEventListener("submit", function (e) {
      if (!self.dirty) { return; }
      e.preventDefault();
      self.save().then(function (ok) { if (ok) { publish.submit(); } });
    });
    window.addEventListener("beforeunload", function (e) {
      if (self.dirty) { e.preventDefault(); e.returnValue = ""; }
    });
  };

  Editor.prototype.start = function () {
    this.guideX = document.createElement("div");
    this.guideX.className = "fe-guide fe-guide--x";
    this.guideY = document.createElement("div");
    this.guideY.className = "fe-guide fe-guide--y";
    this.guideX.hidden = this.guideY.hidden = true;
    this.el.page.appendChild(this.guideX);
    this.el.page.appendChild(this.guideY);
    this.bind();
    this.bindInteract();
    this.renderAll();
    this.renderPicker();
    this.refreshPreview();
    this.root.dataset.ready = "1";
  };

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("fe-editor");
    var source = document.getElementById("fe-data");
    if (!root || !source) { return; }
    var editor = new Editor(root, JSON.parse(source.textContent));
    window.madoguchiFormEditor = editor; // for the bench and for debugging in DevTools
    editor.start();
  });
}());
