// The phone simulator: a made-up person texting Outreach. Talks to /simulator/api as JSON.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  let contactId = null;

  async function api(path, body) {
    const options = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    };
    const response = await fetch("/simulator/api" + path, options);
    if (response.status === 401) { window.location = "/login"; return null; }
    const data = await response.json();
    if (!response.ok) { throw new Error(data.detail || response.statusText); }
    $("error").textContent = "";
    return data;
  }

  function fail(error) { $("error").textContent = error.message; }

  async function loadContacts(select) {
    const contacts = await api("/contacts");
    $("contact").replaceChildren(...contacts.map((c) => new Option(
      `${c.first_name || "(no name)"} · ${c.phone} · ${c.language}`, c.id)));
    if (select) { $("contact").value = select; }
    contactId = $("contact").value || null;
    await refresh();
  }

  function bubble(message) {
    const li = document.createElement("li");
    li.className = message.direction;
    li.textContent = message.body ?? "(removed)";
    const meta = document.createElement("span");
    meta.className = "meta";
    const time = new Date(message.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    meta.textContent = message.direction === "out"
      ? `${time} · ${message.segments} segment${message.segments === 1 ? "" : "s"} (${message.encoding}) · ${message.status}`
      : time;
    li.append(meta);
    return li;
  }

  async function refresh() {
    if (!contactId) { $("messages").replaceChildren(); return; }
    const data = await api(`/contacts/${contactId}`);
    if (!data) { return; }
    $("phone-name").textContent = `${data.contact.first_name || data.contact.phone} (${data.contact.language})`;
    $("messages").dir = data.contact.dir;
    const list = $("messages");
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
    list.replaceChildren(...data.messages.map(bubble));
    if (atBottom) { list.scrollTop = list.scrollHeight; }
    const s = data.session;
    const due = data.next_due ? ` Next: ${data.next_due.kind} at ${new Date(data.next_due.at).toLocaleString()}.` : "";
    $("state").textContent = s ? `${s.flow}: ${s.status === "waiting" ? "waiting at " + s.step : "ended (" + s.end_reason + ")"}.${due}` : "No conversation yet.";
  }

  $("contact").addEventListener("change", () => { contactId = $("contact").value; refresh().catch(fail); });
  $("new-contact").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const contact = await api("/contacts", Object.fromEntries(form));
      $("new-contact-box").open = false;
      event.target.reset();
      await loadContacts(contact.id);
    } catch (error) { fail(error); }
  });
  $("start").addEventListener("click", async () => {
    try { await api(`/contacts/${contactId}/start`, { flow: $("flow").value }); await refresh(); } catch (error) { fail(error); }
  });
  $("fire").addEventListener("click", async () => {
    try {
      const result = await api(`/contacts/${contactId}/fire`, {});
      if (!result.fired) { $("error").textContent = "Nothing is waiting to happen for this person."; }
      await refresh();
    } catch (error) { fail(error); }
  });
  $("reply").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("text").value;
    if (!text.trim() || !contactId) { return; }
    try { await api(`/contacts/${contactId}/send`, { text }); $("text").value = ""; await refresh(); } catch (error) { fail(error); }
  });

  loadContacts().catch(fail);
  setInterval(() => refresh().catch(fail), 2000);
})();
