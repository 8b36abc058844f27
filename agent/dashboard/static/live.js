// The Live page: keeps the list of live calls current from the server-sent events of
// /dashboard/live/events (agent/dashboard/live.py). Builds DOM with textContent only: no
// caller's words ever pass through innerHTML.
"use strict";
(function () {
  const root = document.getElementById("live");
  if (!root) return;
  const csrf = root.dataset.csrf;
  const count = document.getElementById("live-count");
  const status = document.getElementById("live-status");
  const cards = new Map();

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function turnItem(turn) {
    const li = el("li", "turn " + turn.role + (turn.interrupted ? " interrupted" : ""));
    li.dataset.seq = turn.seq;
    li.appendChild(el("span", "who", turn.role === "caller" ? "Caller" : "Agent"));
    if (turn.role === "agent") li.appendChild(el("span", "src " + turn.source, turn.source));
    const words = el("span", "words");
    const text = turn.text || "";
    const heard = turn.heard_text;
    if (turn.role === "agent" && turn.interrupted && heard !== null && text.startsWith(heard)) {
      words.appendChild(el("span", "heard", heard));
      words.appendChild(el("del", "unheard", text.slice(heard.length)));
    } else {
      words.appendChild(el("span", "heard", text));
    }
    li.appendChild(words);
    if (turn.latency_ms !== null && turn.latency_ms !== undefined) {
      li.appendChild(el("span", "ms", Math.round(turn.latency_ms) + " ms"));
    }
    return li;
  }

  function actionForm(call, path, label, cls) {
    const form = el("form", "action");
    form.method = "post";
    form.action = "/dashboard/calls/" + encodeURIComponent(call.call_sid) + "/" + path;
    const token = el("input");
    token.type = "hidden"; token.name = "csrf"; token.value = csrf;
    form.appendChild(token);
    if (path === "transfer") {
      const select = el("select");
      select.name = "destination";
      select.setAttribute("aria-label", "transfer to");
      for (const name of call.transfers) select.appendChild(el("option", null, name));
      form.appendChild(select);
    }
    const button = el("button", cls, label);
    button.type = "submit";
    form.appendChild(button);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      button.disabled = true;
      const response = await fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      button.textContent = response.ok ? label + ": sent" : label + ": failed (" + response.status + ")";
    });
    return form;
  }

  function addCall(call) {
    const card = el("article", "card call");
    card.id = "call-" + call.call_sid;
    card.dataset.started = call.started_at;
    const head = el("header");
    const link = el("a", null, (call.from_number || "unknown") + " → " + (call.to_number || "?"));
    link.href = "/dashboard/calls/" + encodeURIComponent(call.call_sid);
    head.appendChild(link);
    head.appendChild(el("span", "graph", call.graph));
    head.appendChild(el("span", "duration", ""));
    card.appendChild(head);
    const list = el("ol", "transcript");
    for (const turn of call.turns) list.appendChild(turnItem(turn));
    card.appendChild(list);
    const actions = el("div", "actions");
    actions.appendChild(actionForm(call, "end", "End call", "danger"));
    if (call.transfers && call.transfers.length) actions.appendChild(actionForm(call, "transfer", "Transfer", ""));
    card.appendChild(actions);
    cards.set(call.call_sid, card);
    root.prepend(card);
  }

  function refresh() {
    count.textContent = String(cards.size);
    status.textContent = cards.size ? "" : "No call in progress.";
    const now = Date.now() / 1000;
    for (const card of cards.values()) {
      const seconds = Math.max(0, Math.floor(now - Number(card.dataset.started)));
      card.querySelector(".duration").textContent =
        Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
    }
  }

  const source = new EventSource(root.dataset.events);
  source.addEventListener("snapshot", (event) => {
    root.replaceChildren();
    cards.clear();
    for (const call of JSON.parse(event.data).calls) addCall(call);
    root.dataset.connected = "yes";
    refresh();
  });
  source.addEventListener("call", (event) => { addCall(JSON.parse(event.data)); refresh(); });
  source.addEventListener("turn", (event) => {
    const data = JSON.parse(event.data);
    const card = cards.get(data.call_sid);
    if (card) card.querySelector(".transcript").appendChild(turnItem(data.turn));
  });
  source.addEventListener("ended", (event) => {
    const data = JSON.parse(event.data);
    const card = cards.get(data.call_sid);
    if (!card) return;
    cards.delete(data.call_sid);
    card.classList.add("ended");
    card.querySelector(".duration").textContent = "ended: " + data.outcome;
    setTimeout(() => card.remove(), 5000);
    refresh();
  });
  source.onerror = () => { status.textContent = "Reconnecting…"; root.dataset.connected = "no"; };
  setInterval(refresh, 1000);
})();
