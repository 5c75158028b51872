// Rules without JSON (issue 17 item 9): a visual editor for a rule's condition (JsonLogic) and a household
// form for the "try it" panel. Both write the same JSON the server has always read into the original
// textareas, which stay available as the advanced view; editing either view updates the other.
// No inline script (strict CSP): the vocabulary arrives as <script type="application/json" id="rule-vocabulary">.
(function () {
  "use strict";

  var OPERATORS = [
    {op: "truthy", label: "に該当する（はい）", value: false},
    {op: "falsy", label: "に該当しない（いいえ）", value: false},
    {op: "==", label: "が次と等しい", value: true},
    {op: "!=", label: "が次と等しくない", value: true},
    {op: ">=", label: "が次の値以上", value: true},
    {op: "<=", label: "が次の値以下", value: true},
    {op: ">", label: "が次の値より大きい", value: true},
    {op: "<", label: "が次の値より小さい（未満）", value: true},
    {op: "in", label: "が次のいずれか（「、」区切り）", value: true}
  ];
  var COMPARISONS = ["==", "!=", ">=", "<=", ">", "<", "===", "!=="];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function vocabulary() {
    var script = document.getElementById("rule-vocabulary");
    if (!script) { return null; }
    try { return JSON.parse(script.textContent); } catch (e) { return null; }
  }

  function fieldWrapper(textarea) { return textarea.closest(".field") || textarea.parentNode; }

  function announce(region, text) { if (region) { region.textContent = text; } }

  // ---- JsonLogic <-> tree ----------------------------------------------------------------------------
  function varName(node) {
    if (node && typeof node === "object" && !Array.isArray(node) && Object.keys(node).length === 1 && "var" in node) {
      var name = Array.isArray(node["var"]) ? node["var"][0] : node["var"];
      return typeof name === "string" ? name : null;
    }
    return null;
  }

  function isLiteral(value) {
    return value === null || ["string", "number", "boolean"].indexOf(typeof value) >= 0;
  }

  function parse(logic) {
    if (logic && typeof logic === "object" && !Array.isArray(logic)) {
      var keys = Object.keys(logic);
      if (keys.length === 1) {
        var op = keys[0], args = logic[op];
        if ((op === "and" || op === "or") && Array.isArray(args)) {
          return {type: "group", op: op, children: args.map(parse)};
        }
        if (varName(logic)) { return {type: "cond", name: varName(logic), op: "truthy", value: ""}; }
        if (op === "!" || op === "!!") {
          var inner = Array.isArray(args) && args.length === 1 ? args[0] : args;
          if (varName(inner)) { return {type: "cond", name: varName(inner), op: op === "!" ? "falsy" : "truthy", value: ""}; }
        }
        if (COMPARISONS.indexOf(op) >= 0 && Array.isArray(args) && args.length === 2 && varName(args[0]) &&
            isLiteral(args[1])) {
          return {type: "cond", name: varName(args[0]), op: op.length === 3 ? op.slice(0, 2) : op,
                  value: args[1] === null ? "" : String(args[1])};
        }
        if (op === "in" && Array.isArray(args) && args.length === 2 && varName(args[0]) && Array.isArray(args[1]) &&
            args[1].every(isLiteral)) {
          return {type: "cond", name: varName(args[0]), op: "in", value: args[1].join("、")};
        }
      }
    }
    return {type: "raw", logic: logic};
  }

  function literal(text) {
    var value = String(text).trim();
    if (/^-?\d+(\.\d+)?$/.test(value)) { return Number(value); }
    if (value === "true" || value === "はい") { return true; }
    if (value === "false" || value === "いいえ") { return false; }
    return value;
  }

  function serialise(node) {
    if (node.type === "group") {
      var out = {};
      out[node.op] = node.children.map(serialise);
      return out;
    }
    if (node.type === "raw") { return node.logic; }
    var v = {"var": node.name}, o = {};
    if (node.op === "truthy") { return v; }
    if (node.op === "falsy") { return {"!": v}; }
    if (node.op === "in") {
      o["in"] = [v, String(node.value).split(/[、,，]/).map(function (s) { return s.trim(); })
        .filter(function (s) { return s !== ""; }).map(literal)];
      return o;
    }
    o[node.op] = [v, literal(node.value)];
    return o;
  }

  // ---- the condition editor -------------------------------------------------------------------------------
  function ConditionEditor(textarea, vocab) {
    this.textarea = textarea;
    this.vocab = vocab;
    this.count = 0;
    var wrapper = fieldWrapper(textarea);
    this.box = el("div", {"class": "rule-builder", role: "group", "aria-labelledby": "rule-builder-heading"});
    this.box.appendChild(el("p", {"class": "field__label", id: "rule-builder-heading", text: "条件（項目と値を選んで組み立てます）"}));
    this.tree = el("div", {"class": "rule-builder__tree"});
    this.error = el("p", {"class": "field__error", role: "alert", hidden: "hidden"});
    this.status = el("p", {"class": "visually-hidden", "aria-live": "polite"});
    this.box.appendChild(this.error);
    this.box.appendChild(this.tree);
    this.box.appendChild(this.status);
    var toggle = el("button", {type: "button", "class": "button button--secondary button--small", "aria-expanded": "false",
                               "aria-controls": wrapper.id || (wrapper.id = "rule-advanced"), text: "高度な表示（JsonLogic）"});
    this.box.appendChild(toggle);
    wrapper.parentNode.insertBefore(this.box, wrapper);
    wrapper.hidden = !(wrapper.classList && wrapper.classList.contains("field--error"));
    toggle.setAttribute("aria-expanded", String(!wrapper.hidden));
    toggle.addEventListener("click", function () {
      wrapper.hidden = !wrapper.hidden;
      toggle.setAttribute("aria-expanded", String(!wrapper.hidden));
      if (!wrapper.hidden) { textarea.focus(); }
    });
    var self = this;
    textarea.addEventListener("input", function () { self.load(); });
    this.load();
  }

  ConditionEditor.prototype.load = function () {
    var text = this.textarea.value.trim();
    var logic;
    try {
      logic = text ? JSON.parse(text) : {and: []};
    } catch (e) {
      this.error.textContent = "高度な表示の内容がJSONとして読めないため、組み立て表示を更新できません（" + e.message + "）。";
      this.error.hidden = false;
      return;
    }
    this.error.hidden = true;
    var root = parse(logic);
    this.root = root.type === "group" ? root : {type: "group", op: "and", children: [root], wrapped: true};
    this.render();
  };

  ConditionEditor.prototype.write = function () {
    var root = this.root;
    var logic = root.wrapped && root.children.length === 1 && root.op === "and" ? serialise(root.children[0])
      : serialise(root);
    this.textarea.value = JSON.stringify(logic, null, 2);
  };

  ConditionEditor.prototype.render = function (focusPath) {
    this.count = 0;
    this.tree.textContent = "";
    this.tree.appendChild(this.renderGroup(this.root, null, "条件", []));
    if (focusPath) {
      var target = this.tree.querySelector('[data-path="' + focusPath + '"]');
      if (target) { target.focus(); }
    }
  };

  ConditionEditor.prototype.varSelect = function (node, label, path) {
    var self = this;
    var select = el("select", {"aria-label": label + "の項目", "data-path": path});
    var known = false;
    this.vocab.groups.forEach(function (group) {
      var optgroup = el("optgroup", {label: group.label});
      group.vars.forEach(function (item) {
        var option = el("option", {value: item.code, text: item.label + "（" + item.code + "）"});
        if (item.code === node.name) { option.selected = true; known = true; }
        optgroup.appendChild(option);
      });
      select.appendChild(optgroup);
    });
    if (!known && node.name) {
      select.insertBefore(el("option", {value: node.name, text: node.name, selected: "selected"}), select.firstChild);
    }
    if (!node.name) { node.name = select.value; }
    select.addEventListener("change", function () { node.name = select.value; self.write(); });
    return select;
  };

  ConditionEditor.prototype.renderCond = function (node, parent, path) {
    var self = this;
    this.count += 1;
    var label = "条件" + this.count;
    var row = el("div", {"class": "rule-builder__cond", role: "group", "aria-label": label});
    if (node.type === "raw") {
      row.appendChild(el("code", {"class": "rule-builder__raw", text: JSON.stringify(node.logic)}));
      row.appendChild(el("span", {"class": "field__help", text: "（この条件は高度な表示でのみ編集できます）"}));
    } else {
      row.appendChild(this.varSelect(node, label, path));
      var op = el("select", {"aria-label": label + "の比べ方"});
      OPERATORS.forEach(function (item) {
        var option = el("option", {value: item.op, text: item.label});
        if (item.op === node.op) { option.selected = true; }
        op.appendChild(option);
      });
      var value = el("input", {type: "text", "aria-label": label + "の値", value: node.value, "class": "rule-builder__value"});
      value.hidden = !OPERATORS.filter(function (o) { return o.op === node.op; })[0].value;
      op.addEventListener("change", function () {
        node.op = op.value;
        value.hidden = !OPERATORS.filter(function (o) { return o.op === node.op; })[0].value;
        self.write();
      });
      value.addEventListener("input", function () { node.value = value.value; self.write(); });
      row.appendChild(op);
      row.appendChild(value);
    }
    row.appendChild(this.removeButton(node, parent, label, path));
    return row;
  };

  ConditionEditor.prototype.removeButton = function (node, parent, label, path) {
    var self = this;
    var button = el("button", {type: "button", "class": "button button--secondary button--small", text: "削除",
                               "aria-label": label + "を削除"});
    button.addEventListener("click", function () {
      parent.children.splice(parent.children.indexOf(node), 1);
      self.write();
      self.render(path.split("/").slice(0, -1).join("/") + "/add");
      announce(self.status, label + "を削除しました。");
    });
    return button;
  };

  ConditionEditor.prototype.renderGroup = function (group, parent, label, indices) {
    var self = this;
    var path = indices.join("/");
    var box = el("div", {"class": "rule-builder__group", role: "group", "aria-label": label + "のグループ"});
    var head = el("div", {"class": "rule-builder__group-head"});
    var op = el("select", {"aria-label": label + "のまとめ方", "data-path": path + "/op"});
    [["and", "次のすべてを満たす（かつ）"], ["or", "次のいずれかを満たす（または）"]].forEach(function (pair) {
      var option = el("option", {value: pair[0], text: pair[1]});
      if (pair[0] === group.op) { option.selected = true; }
      op.appendChild(option);
    });
    op.addEventListener("change", function () { group.op = op.value; group.wrapped = false; self.write(); });
    head.appendChild(op);
    if (parent) { head.appendChild(this.removeButton(group, parent, label + "のグループ", path)); }
    box.appendChild(head);
    var list = el("div", {"class": "rule-builder__children"});
    group.children.forEach(function (child, index) {
      var childPath = indices.concat([index]);
      list.appendChild(child.type === "group"
        ? self.renderGroup(child, group, label + "（" + (index + 1) + "）", childPath)
        : self.renderCond(child, group, childPath.join("/")));
    });
    if (!group.children.length) { list.appendChild(el("p", {"class": "field__help", text: "条件がありません（常に該当）。"})); }
    box.appendChild(list);
    var actions = el("div", {"class": "rule-builder__actions"});
    var add = el("button", {type: "button", "class": "button button--secondary button--small", text: "条件を追加",
                            "data-path": path + "/add"});
    add.addEventListener("click", function () {
      group.children.push({type: "cond", name: "", op: "truthy", value: ""});
      group.wrapped = false;
      self.render(indices.concat([group.children.length - 1]).join("/"));
      self.write();
      announce(self.status, "条件を追加しました。");
    });
    var addGroup = el("button", {type: "button", "class": "button button--secondary button--small",
                                 text: "グループを追加（かつ／または）"});
    addGroup.addEventListener("click", function () {
      group.children.push({type: "group", op: "or", children: [{type: "cond", name: "", op: "truthy", value: ""}]});
      group.wrapped = false;
      self.render(indices.concat([group.children.length - 1]).join("/") + "/op");
      self.write();
      announce(self.status, "グループを追加しました。");
    });
    actions.appendChild(add);
    actions.appendChild(addGroup);
    box.appendChild(actions);
    return box;
  };

  // ---- the "try it" household form ------------------------------------------------------------------------
  function HouseholdForm(persons, answers, vocab) {
    this.persons = persons;
    this.answers = answers;
    this.vocab = vocab;
    var wrapper = fieldWrapper(persons), answersWrapper = fieldWrapper(answers);
    this.box = el("div", {"class": "household-form", role: "group", "aria-labelledby": "household-form-heading"});
    this.box.appendChild(el("p", {"class": "field__label", id: "household-form-heading", text: "試す世帯（世帯員と回答）"}));
    this.error = el("p", {"class": "field__error", role: "alert", hidden: "hidden"});
    this.box.appendChild(this.error);
    this.rows = el("div", {"class": "household-form__rows"});
    this.box.appendChild(this.rows);
    this.caseBox = el("div", {"class": "household-form__case"});
    this.box.appendChild(this.caseBox);
    var self = this;
    var add = el("button", {type: "button", "class": "button button--secondary button--small", text: "世帯員を追加"});
    add.addEventListener("click", function () {
      self.state.persons.push({key: "p" + (self.state.persons.length + 1), name: "", birth_date: "", relationship: "子",
                               subject: true});
      self.write();
      self.render();
      var inputs = self.rows.querySelectorAll("input[data-role='name']");
      if (inputs.length) { inputs[inputs.length - 1].focus(); }
    });
    this.box.appendChild(add);
    var toggle = el("button", {type: "button", "class": "button button--secondary button--small", "aria-expanded": "false",
                               text: "JSONで入力する（上級者向け）"});
    toggle.addEventListener("click", function () {
      var show = wrapper.hidden;
      wrapper.hidden = answersWrapper.hidden = !show;
      toggle.setAttribute("aria-expanded", String(show));
      if (show) { persons.focus(); }
    });
    this.box.appendChild(toggle);
    wrapper.parentNode.insertBefore(this.box, wrapper);
    var failed = wrapper.classList.contains("field--error") || answersWrapper.classList.contains("field--error");
    wrapper.hidden = answersWrapper.hidden = !failed;
    toggle.setAttribute("aria-expanded", String(failed));
    persons.addEventListener("input", function () { self.load(); });
    answers.addEventListener("input", function () { self.load(); });
    // The sample button of the panel fills the JSON: rebuild the form from it.
    document.addEventListener("click", function (event) {
      if (event.target.closest("[data-nav-sample]")) { window.setTimeout(function () { self.load(); }, 0); }
    });
    this.load();
  }

  HouseholdForm.prototype.load = function () {
    try {
      var persons = JSON.parse(this.persons.value.trim() || "[]");
      var answers = JSON.parse(this.answers.value.trim() || "{}");
      if (!Array.isArray(persons) || typeof answers !== "object" || answers === null || Array.isArray(answers)) {
        throw new Error("形が違います");
      }
      this.state = {persons: persons, answers: {case: answers["case"] || {}, persons: answers.persons || {}}};
      this.error.hidden = true;
      this.render();
    } catch (e) {
      this.error.textContent = "JSONの内容が読めないため、入力欄を更新できません（" + e.message + "）。";
      this.error.hidden = false;
    }
  };

  HouseholdForm.prototype.write = function () {
    this.persons.value = JSON.stringify(this.state.persons, null, 1);
    this.answers.value = JSON.stringify(this.state.answers);
  };

  HouseholdForm.prototype.answerControl = function (question, current, label, onChange) {
    var control;
    if (question.kind === "yesno" || question.kind === "choice") {
      control = el("select", {"aria-label": label});
      var options = question.kind === "yesno" ? [{value: true, label: "はい"}, {value: false, label: "いいえ"}]
        : question.choices;
      control.appendChild(el("option", {value: "", text: "（未回答）"}));
      options.forEach(function (choice, index) {
        var option = el("option", {value: String(index), text: choice.label || String(choice.value)});
        if (current !== undefined && String(current) === String(choice.value)) { option.selected = true; }
        control.appendChild(option);
      });
      control.addEventListener("change", function () {
        onChange(control.value === "" ? undefined : options[Number(control.value)].value);
      });
    } else {
      control = el("input", {type: question.kind === "date" ? "date" : (question.kind === "number" ? "number" : "text"),
                             "aria-label": label, value: current === undefined ? "" : String(current)});
      control.addEventListener("input", function () {
        var value = control.value;
        onChange(value === "" ? undefined : (question.kind === "number" ? Number(value) : value));
      });
    }
    return control;
  };

  HouseholdForm.prototype.render = function () {
    var self = this, vocab = this.vocab, state = this.state;
    this.rows.textContent = "";
    state.persons.forEach(function (person, index) {
      var n = index + 1, who = "世帯員" + n;
      var row = el("fieldset", {"class": "household-form__person"});
      row.appendChild(el("legend", {text: who + (person.name ? "（" + person.name + "）" : "")}));
      function text(key, label, type) {
        var input = el("input", {type: type, "aria-label": who + "の" + label, "data-role": key,
                                 value: person[key] === undefined || person[key] === null ? "" : String(person[key])});
        input.addEventListener("input", function () {
          if (input.value === "") { delete person[key]; } else { person[key] = input.value; }
          self.write();
        });
        return el("label", {"class": "household-form__item"}, [document.createTextNode(label), input]);
      }
      function check(key, label) {
        var input = el("input", {type: "checkbox"});
        input.checked = key === "subject" ? person.subject !== false : Boolean(person[key]);
        input.addEventListener("change", function () { person[key] = input.checked; self.write(); });
        return el("label", {"class": "household-form__check"}, [input, document.createTextNode(label)]);
      }
      row.appendChild(text("name", "氏名", "text"));
      var rel = el("select", {"aria-label": who + "の続柄"});
      var rels = vocab.relationships.slice();
      if (person.relationship && rels.indexOf(person.relationship) < 0) { rels.unshift(person.relationship); }
      rels.forEach(function (r) {
        var option = el("option", {value: r, text: r});
        if (r === person.relationship) { option.selected = true; }
        rel.appendChild(option);
      });
      rel.addEventListener("change", function () { person.relationship = rel.value; self.write(); });
      row.appendChild(el("label", {"class": "household-form__item"}, [document.createTextNode("続柄"), rel]));
      row.appendChild(text("birth_date", "生年月日", "date"));
      var sex = el("select", {"aria-label": who + "の性別"});
      [["", "（不明）"], ["1", "男"], ["2", "女"]].forEach(function (pair) {
        var option = el("option", {value: pair[0], text: pair[1]});
        if (String(person.sex || "") === pair[0]) { option.selected = true; }
        sex.appendChild(option);
      });
      sex.addEventListener("change", function () { person.sex = sex.value; self.write(); });
      row.appendChild(el("label", {"class": "household-form__item"}, [document.createTextNode("性別"), sex]));
      var flags = el("div", {"class": "household-form__flags"});
      flags.appendChild(check("subject", "届出・事由の対象者"));
      flags.appendChild(check("foreign", "外国人住民"));
      flags.appendChild(check("support_measure", "支援措置（DV等）"));
      row.appendChild(flags);
      var elig = el("div", {"class": "household-form__flags", role: "group", "aria-label": who + "の資格"});
      vocab.eligibilities.forEach(function (item) {
        var input = el("input", {type: "checkbox"});
        var list = person.eligibilities || [];
        input.checked = list.indexOf(item.code) >= 0;
        input.addEventListener("change", function () {
          var current = (person.eligibilities || []).filter(function (c) { return c !== item.code; });
          if (input.checked) { current.push(item.code); }
          person.eligibilities = current;
          self.write();
        });
        elig.appendChild(el("label", {"class": "household-form__check"}, [input, document.createTextNode(item.label)]));
      });
      row.appendChild(elig);
      var personQuestions = vocab.questions.filter(function (q) { return q.scope === "person"; });
      if (personQuestions.length) {
        var details = el("details", {"class": "household-form__answers"});
        details.appendChild(el("summary", {text: who + "への質問の回答"}));
        var key = person.key || ("p" + n);
        personQuestions.forEach(function (q) {
          var mine = state.answers.persons[key] || {};
          details.appendChild(el("label", {"class": "household-form__item"}, [document.createTextNode(q.text),
            self.answerControl(q, mine[q.code], who + "：" + q.text, function (value) {
              var bucket = state.answers.persons[key] = state.answers.persons[key] || {};
              if (value === undefined) { delete bucket[q.code]; } else { bucket[q.code] = value; }
              self.write();
            })]));
        });
        row.appendChild(details);
      }
      var remove = el("button", {type: "button", "class": "button button--secondary button--small", text: "削除",
                                 "aria-label": who + "を削除"});
      remove.addEventListener("click", function () {
        state.persons.splice(index, 1);
        self.write();
        self.render();
      });
      row.appendChild(remove);
      self.rows.appendChild(row);
    });
    this.caseBox.textContent = "";
    var caseQuestions = vocab.questions.filter(function (q) { return q.scope === "case"; });
    if (caseQuestions.length) {
      var details = el("details", {"class": "household-form__answers"});
      details.appendChild(el("summary", {text: "世帯（ケース）への質問の回答"}));
      caseQuestions.forEach(function (q) {
        details.appendChild(el("label", {"class": "household-form__item"}, [document.createTextNode(q.text),
          self.answerControl(q, state.answers["case"][q.code], q.text, function (value) {
            if (value === undefined) { delete state.answers["case"][q.code]; } else { state.answers["case"][q.code] = value; }
            self.write();
          })]));
      });
      this.caseBox.appendChild(details);
    }
  };

  function start() {
    var vocab = vocabulary();
    if (!vocab) { return; }
    var condition = document.getElementById("id_condition");
    if (condition && !condition.dataset.ruleBuilder) {
      condition.dataset.ruleBuilder = "1";
      new ConditionEditor(condition, vocab);
    }
    var persons = document.getElementById("id_try-persons"), answers = document.getElementById("id_try-answers");
    if (persons && answers && !persons.dataset.householdForm) {
      persons.dataset.householdForm = "1";
      new HouseholdForm(persons, answers, vocab);
    }
  }

  window.MadoguchiRules = {parse: parse, serialise: serialise};
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
