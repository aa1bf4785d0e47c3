// Switchboard web chat widget. Paste into a page:
//   <script src="https://API/v1/TENANT/widget.js" defer></script>
// Optional attributes: data-title="Acme support", data-open="true", and for a signed-in customer
// data-customer-id="c-1001" data-expires="UNIX SECONDS" data-signature="HEX HMAC-SHA256 with the
// identity secret of the id and expiry" (docs/onboarding.md).
// Self-contained and CSP-friendly: no inline styles or markup (styles are set through the DOM),
// no eval, no third-party code. The page's policy needs `script-src` and `connect-src` for the
// API's origin, nothing else.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch || !window.localStorage) return;
  var src = new URL(script.src);
  var base = src.origin + src.pathname.replace(/\/widget\.js$/, "");
  var storeKey = "switchboard:" + base;
  var title = script.getAttribute("data-title") || "Chat with us";
  var identity = null;
  if (script.getAttribute("data-customer-id") && script.getAttribute("data-signature")) {
    identity = { customer_id: script.getAttribute("data-customer-id"), signature: script.getAttribute("data-signature") };
    var expires = Number(script.getAttribute("data-expires"));
    if (expires) identity.expires = expires;
  }
  var customer = identity ? identity.customer_id : null;

  // The conversation and its read token survive page loads: the token is the only key to it.
  // They are kept for the customer signed in when they were made: on a page with another
  // customer, or none (the next person on a shared browser), they are dropped, never shown.
  function load() {
    try {
      var stored = JSON.parse(localStorage.getItem(storeKey)) || {};
      return stored.customer === customer ? stored : {};
    } catch (e) { return {}; }
  }
  function save() {
    localStorage.setItem(storeKey, JSON.stringify({ customer: customer, visitor: state.visitor, conversation: state.conversation, token: state.token }));
  }
  function randomId(prefix) {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return prefix + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var stored = load();
  var state = { visitor: stored.visitor || randomId("v_"), conversation: stored.conversation || null, token: stored.token || null, cursor: null, seen: {} };
  save();

  function el(tag, style, text) {
    var node = document.createElement(tag);
    Object.assign(node.style, style || {});
    if (text) node.textContent = text;
    return node;
  }
  var font = "14px/1.4 system-ui, -apple-system, Segoe UI, Roboto, sans-serif";
  var root = el("div", { position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000", font: font, color: "#1b1b1b" });
  root.setAttribute("data-switchboard", "widget");
  var launcher = el("button", { background: "#2453d4", color: "#fff", border: "0", borderRadius: "24px", padding: "12px 18px", font: font, cursor: "pointer", boxShadow: "0 2px 8px rgba(0,0,0,.25)" }, title);
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  var panel = el("div", { display: "none", flexDirection: "column", width: "320px", height: "440px", background: "#fff", borderRadius: "10px", boxShadow: "0 4px 24px rgba(0,0,0,.25)", overflow: "hidden", marginBottom: "10px" });
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  var header = el("div", { background: "#2453d4", color: "#fff", padding: "10px 12px" });
  var heading = el("div", { fontWeight: "600" }, title);
  var status = el("div", { fontSize: "12px", opacity: ".9" }, "We usually answer at once");
  status.setAttribute("data-switchboard", "state");
  header.appendChild(heading);
  header.appendChild(status);
  var log = el("div", { flex: "1", overflowY: "auto", padding: "10px", background: "#f6f7f9" });
  log.setAttribute("aria-live", "polite");
  log.setAttribute("data-switchboard", "log");
  var error = el("div", { color: "#b00020", fontSize: "12px", padding: "0 10px" });
  error.setAttribute("data-switchboard", "error");
  var form = el("form", { display: "flex", borderTop: "1px solid #e3e5e8" });
  var input = el("input", { flex: "1", border: "0", padding: "12px", font: font, outline: "none" });
  input.placeholder = "Write a message";
  input.setAttribute("aria-label", "Message");
  input.maxLength = 2000;
  var send = el("button", { border: "0", background: "transparent", color: "#2453d4", fontWeight: "600", padding: "0 14px", cursor: "pointer", font: font }, "Send");
  send.type = "submit";
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(error);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(launcher);

  var roles = { bot: "Assistant", agent: "Agent", system: "" };
  var rating = null;
  function show(m) {
    if (state.seen[m.id]) return;
    state.seen[m.id] = true;
    var mine = m.role === "customer";
    var row = el("div", { display: "flex", justifyContent: m.role === "system" ? "center" : (mine ? "flex-end" : "flex-start"), margin: "6px 0" });
    var bubble = el("div", {
      maxWidth: "80%", padding: "8px 10px", borderRadius: "10px", whiteSpace: "pre-wrap", wordWrap: "break-word",
      background: mine ? "#2453d4" : (m.role === "system" ? "transparent" : "#fff"),
      color: mine ? "#fff" : "#1b1b1b", fontStyle: m.role === "system" ? "italic" : "normal",
      border: mine || m.role === "system" ? "0" : "1px solid #e3e5e8"
    });
    bubble.setAttribute("data-role", m.role);
    if (roles[m.role]) bubble.appendChild(el("div", { fontSize: "11px", opacity: ".7" }, roles[m.role]));
    bubble.appendChild(el("div", {}, m.text));
    // The latest bot answer can be rated with one tap: the thumb is sent as the customer's next
    // message, which the bot reads as a rating of the answer just before it (a 👎 brings a
    // person). Only the latest: a thumb rates the answer before it, not an older one.
    if (rating) { rating.remove(); rating = null; }
    if (m.role === "bot") {
      var rate = el("div", { marginTop: "4px", display: "flex", gap: "4px" });
      [["👍", "This answer helped"], ["👎", "This answer did not help"]].forEach(function (choice) {
        var b = el("button", { border: "1px solid #e3e5e8", background: "#fff", borderRadius: "6px", cursor: "pointer", padding: "0 6px" }, choice[0]);
        b.type = "button";
        b.setAttribute("aria-label", choice[1]);
        b.setAttribute("data-rating", choice[0] === "👍" ? "up" : "down");
        b.addEventListener("click", function () {
          Array.prototype.forEach.call(rate.querySelectorAll("button"), function (x) { x.disabled = true; });
          // A 👍 needs no reply: no poll waits for one.
          post(choice[0], false, choice[0] === "👎");
        });
        rate.appendChild(b);
      });
      bubble.appendChild(rate);
      rating = rate;
    }
    row.appendChild(bubble);
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
  }
  function showState(human) {
    status.textContent = human ? "A person will reply here" : "We usually answer at once";
    status.setAttribute("data-state", human ? "human" : "bot");
    // A person owns the chat: a thumb now is a message to them, not a rating.
    if (human && rating) { rating.remove(); rating = null; }
  }

  // Polls cost the business money: a poll is held only while the bot's answer is due; otherwise
  // the widget backs off (2 s doubling to 30 s) and stops while the panel is closed.
  var expecting = false, controller = null, open = false;
  function pause(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }
  function forget() {
    state.conversation = null; state.token = null; state.cursor = null; state.seen = {};
    log.textContent = "";
    save();
  }
  async function poll(signal) {
    var idle = 2000;
    while (!signal.aborted && state.conversation) {
      try {
        var q = new URLSearchParams({ wait: expecting ? "5" : "0" });
        if (state.cursor) q.set("after", state.cursor);
        var r = await fetch(base + "/webchat/conversations/" + encodeURIComponent(state.conversation) + "/messages?" + q,
          { signal: signal, headers: { authorization: "Bearer " + state.token } });
        if (r.status === 404 || r.status === 401) { forget(); return; }
        if (!r.ok) { await pause(2000); continue; }
        var page = await r.json();
        if (signal.aborted) return;
        page.messages.forEach(show);
        state.cursor = page.cursor || state.cursor;
        var human = page.state === "human";
        showState(human);
        if (human || page.messages.some(function (m) { return m.role !== "customer"; })) expecting = false;
        if (page.messages.length) idle = 2000;
        if (!expecting) { await pause(idle); idle = Math.min(idle * 2, 30000); }
      } catch (e) {
        if (signal.aborted) return;
        await pause(2000);
      }
    }
  }
  function startPolling() {
    if (controller) controller.abort();
    controller = null;
    if (!open || !state.conversation) return;
    controller = new AbortController();
    poll(controller.signal);
  }
  function toggle(show) {
    open = show;
    panel.style.display = open ? "flex" : "none";
    launcher.setAttribute("aria-expanded", String(open));
    if (open) { input.focus(); startPolling(); } else if (controller) { controller.abort(); controller = null; }
  }
  launcher.addEventListener("click", function () { toggle(!open); });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (text) post(text, true, true);
  });

  // Sends one customer message (typed, or a rating's thumb), retrying what may succeed later;
  // `awaited`: a reply is due, so the widget polls for it.
  async function post(text, typed, awaited) {
    error.textContent = "";
    send.disabled = true;
    var body = { visitor_id: state.visitor, client_message_id: randomId("w_"), text: text };
    if (state.conversation) body.conversation_id = state.conversation;
    if (identity) body.identity = identity;
    try {
      for (var attempt = 0; attempt < 3; attempt++) {
        var r = await fetch(base + "/webchat/messages", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
        if (r.status === 202) {
          var ack = await r.json();
          if (typed) input.value = "";
          if (awaited) expecting = true;
          if (state.conversation !== ack.conversation_id) {
            forget();
            state.conversation = ack.conversation_id; state.token = ack.token;
            save();
          }
          startPolling();
          return;
        }
        var problem = await r.json().catch(function () { return {}; });
        // The stored conversation is not this visitor's to continue (another customer's, or
        // gone): start a new one with the same text.
        if ((r.status === 403 || r.status === 404) && body.conversation_id) {
          forget();
          delete body.conversation_id;
          continue;
        }
        if (r.status < 500 && r.status !== 409) {
          error.textContent = (problem.error && problem.error.message) || ("Error " + r.status);
          return;
        }
        await pause(1000 * (attempt + 1));
      }
      error.textContent = "Could not send; please try again.";
    } catch (e2) {
      error.textContent = "Could not reach the chat; please try again.";
    } finally {
      send.disabled = false;
    }
  }

  function mount() {
    document.body.appendChild(root);
    if (script.getAttribute("data-open") === "true") toggle(true);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
