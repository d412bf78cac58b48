// The phone simulator: a made-up person texting Outreach. Talks to /simulator/api as JSON.
// Screen readers hear who said each message and, politely, each new one Outreach sends; the
// phone is brought into view after every action on a small screen.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const list = $("messages");
  let contactId = null;
  let newest = null; // the newest message id shown for this person (newer ones are announced)

  async function api(path, body) {
    const options = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    };
    const response = await fetch("/simulator/api" + path, options);
    if (response.status === 401) { window.location = "/login"; return null; }
    const data = await response.json();
    if (!response.ok) { throw new Error(data.detail || response.statusText); }
    return data;
  }

  // What an action did, and what went wrong, each in its own place: a refresh clears neither.
  function fail(error) { $("error").textContent = error.message; }
  function tell(text) { $("error").textContent = ""; $("notice").textContent = text; }

  function when(iso) {
    const at = new Date(iso);
    const options = { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    if (at.getFullYear() !== new Date().getFullYear()) { options.year = "numeric"; }
    return at.toLocaleString(undefined, options);
  }

  function plural(n, word) { return `${n} ${word}${n === 1 ? "" : "s"}`; }

  function bubble(message) {
    const li = document.createElement("li");
    li.className = message.direction === "out" ? "out" : "in";
    li.dataset.id = message.id;
    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = message.direction === "out" ? "Outreach: " : "You: ";
    const text = document.createElement("p");
    text.className = "text";
    if (message.body === null) {
      text.textContent = "(removed)";
    } else {
      text.textContent = message.body;
      text.lang = message.lang;
      text.dir = message.dir;
    }
    const meta = document.createElement("p");
    meta.className = "meta";
    const time = document.createElement("time");
    time.dateTime = message.at;
    time.textContent = when(message.at);
    meta.append(time);
    if (message.direction === "out") {
      meta.append(` · ${plural(message.segments, "segment")} (${message.encoding}) · ${message.status}`);
    }
    li.append(who, text, meta);
    li.dataset.look = meta.textContent + text.textContent;
    return li;
  }

  function announce(messages) {
    const said = messages.filter((m) => m.direction === "out" && m.id > newest && m.body !== null);
    if (!said.length) { return; }
    $("announcer").replaceChildren(...said.map((m) => {
      const line = document.createElement("p");
      const text = document.createElement("span");
      text.lang = m.lang;
      text.dir = m.dir;
      text.textContent = m.body;
      line.append("Outreach: ", text);
      return line;
    }));
  }

  function show(messages) {
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
    const shown = [...list.children];
    const same = shown.length <= messages.length
      && shown.every((li, i) => li.dataset.id === String(messages[i].id));
    if (!same) {
      list.replaceChildren(...messages.map(bubble));
    } else {
      messages.forEach((message, i) => {
        const fresh = bubble(message);
        if (i >= shown.length) { list.append(fresh); } else if (shown[i].dataset.look !== fresh.dataset.look) { shown[i].replaceWith(fresh); }
      });
    }
    if (atBottom || !same) { list.scrollTop = list.scrollHeight; }
  }

  // Where the conversation stands: the question waited on (in the person's language), and
  // what happens next, only if it really will.
  function status(data) {
    const parts = [data.session ? data.session.summary : "No conversation yet."];
    if (data.session && data.session.question) {
      const question = document.createElement("q");
      question.lang = data.contact.language;
      question.dir = data.contact.dir;
      question.textContent = data.session.question;
      parts.push(" ", question);
    }
    parts.push(data.next_due ? ` Next: ${data.next_due.what}, ${when(data.next_due.at)}.` : " Nothing else is due.");
    return parts;
  }

  async function refresh() {
    if (!contactId) { list.replaceChildren(); return; }
    const data = await api(`/contacts/${contactId}`);
    if (!data) { return; }
    $("phone-name").textContent = `${data.contact.first_name || data.contact.phone} (${data.contact.language})`;
    if (newest !== null) { announce(data.messages); }
    show(data.messages);
    newest = data.messages.reduce((top, m) => Math.max(top, m.id), newest ?? 0);
    const state = status(data);
    if (state.map((p) => p.textContent ?? p).join("") !== $("state").textContent) { $("state").replaceChildren(...state); }
  }

  // After an action the phone is where the answer shows: bring it into view on a small screen.
  function showPhone() {
    const box = $("phone").getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) { $("phone").scrollIntoView({ block: "start" }); }
  }

  async function act(work, needsPerson = true) {
    if (needsPerson && !contactId) { fail(new Error("Pick someone first, or make up a new person.")); return; }
    try { await work(); await refresh(); showPhone(); } catch (error) { fail(error); }
  }

  function pick(id) {
    contactId = id || null;
    newest = null;
    $("notice").textContent = "";
    list.replaceChildren();
  }

  async function loadContacts(select) {
    const contacts = await api("/contacts");
    if (!contacts) { return; }
    $("contact").replaceChildren(...contacts.map((c) => new Option(
      `${c.first_name || "(no name)"} · ${c.phone} · ${c.language}`, c.id)));
    if (select) { $("contact").value = select; }
    pick($("contact").value);
    await refresh();
  }

  $("contact").addEventListener("change", () => { pick($("contact").value); refresh().catch(fail); });
  $("new-contact").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    act(async () => {
      const contact = await api("/contacts", Object.fromEntries(form));
      $("new-contact-box").open = false;
      event.target.reset();
      await loadContacts(contact.id);
      tell(`${contact.first_name || contact.phone} is ready to text.`);
    }, false);
  });
  $("start").addEventListener("click", () => act(async () => {
    const flow = $("flow").value;
    await api(`/contacts/${contactId}/start`, { flow });
    tell(`Started ${flow}.`);
  }));
  $("fire").addEventListener("click", () => act(async () => {
    const result = await api(`/contacts/${contactId}/fire`, {});
    tell(result.message);
  }));
  $("reply").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value;
    if (!text.trim() || !contactId) { return; }
    act(async () => { await api(`/contacts/${contactId}/send`, { text }); $("text").value = ""; $("error").textContent = ""; });
  });

  loadContacts().catch(fail);
  setInterval(() => refresh().catch(fail), 2000);
})();
