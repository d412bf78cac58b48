// The demo's Slack view: a made-up Slack person's DM with the app, read from the fake Slack
// workspace; buttons, the message menu and typed messages go to the app as Slack sends them.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const base = "/simulator/api/slack";
  let person = null;
  let shown = "";

  async function call(path, body) {
    const options = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    };
    const response = await fetch(base + path, options);
    if (response.status === 404 && path === "/people") { return null; }
    const data = await response.json();
    if (!response.ok) { throw new Error(data.detail || response.statusText); }
    $("slack-error").textContent = "";
    return data;
  }

  function fail(error) { $("slack-error").textContent = error.message; }

  function button(label, onPress) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", () => onPress().catch(fail));
    return b;
  }

  function act(kind, ts, value) {
    return async () => { await call(`/people/${person}/${kind}`, { ts, value }); setTimeout(refresh, 300); };
  }

  function block(b, message) {
    if (b.type === "section") {
      const p = document.createElement("p");
      p.className = "section";
      p.textContent = b.text ? b.text.text : "";
      const menu = b.accessory;
      if (menu && menu.type === "overflow") {
        const details = document.createElement("details");
        const summary = document.createElement("summary");
        summary.textContent = "More actions";
        details.append(summary, ...menu.options.map(
          (o) => button(o.text.text, act("menu", message.ts, o.value))));
        p.append(details);
      }
      return p;
    }
    if (b.type === "actions") {
      const div = document.createElement("div");
      div.className = "actions";
      div.setAttribute("role", "group");
      div.setAttribute("aria-label", "Answers");
      div.append(...b.elements.filter((e) => e.type === "button").map(
        (e) => button(e.text.text, act("press", message.ts, e.value))));
      return div;
    }
    const p = document.createElement("p");
    p.className = "context";
    p.textContent = (b.elements || []).map((e) => e.text).join(" ");
    return p;
  }

  function item(message) {
    const li = document.createElement("li");
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = message.from === "app" ? "Outreach (app)" : $("slack-person").selectedOptions[0].text;
    li.append(who);
    if (message.from === "app" && message.blocks.length) {
      li.append(...message.blocks.map((b) => block(b, message)));
    } else {
      const p = document.createElement("p");
      p.className = "section";
      p.textContent = message.text;
      li.append(p);
    }
    if (message.edited) {
      const note = document.createElement("p");
      note.className = "context";
      note.textContent = "(edited)";
      li.append(note);
    }
    return li;
  }

  async function refresh() {
    if (!person) { return; }
    const data = await call(`/people/${person}`);
    const text = JSON.stringify(data.messages);
    if (text === shown) { return; }  // unchanged: keep focus where it is
    shown = text;
    const list = $("slack-messages");
    list.replaceChildren(...data.messages.map(item));
    list.scrollTop = list.scrollHeight;
  }

  async function start() {
    const people = await call("/people");
    if (!people || !people.length) { return; }  // no made-up Slack workspace here
    $("slack").hidden = false;
    $("slack-person").replaceChildren(...people.map((p) => new Option(`${p.name} · ${p.id}`, p.id)));
    person = people[0].id;
    await refresh();
    setInterval(() => refresh().catch(fail), 2000);
  }

  $("slack-person").addEventListener("change", () => { person = $("slack-person").value; shown = ""; refresh().catch(fail); });
  $("slack-reply").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("slack-text").value;
    if (!text.trim() || !person) { return; }
    try {
      await call(`/people/${person}/say`, { text });
      $("slack-text").value = "";
      setTimeout(() => refresh().catch(fail), 300);
    } catch (error) { fail(error); }
  });

  start().catch(fail);
})();
