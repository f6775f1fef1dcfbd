// gatepass staff UI: the only script the pages load (the CSP allows no inline script).
// Live pages open an EventSource; the browser reconnects by itself (the server sends
// "retry: 1000") and resumes from the last event id, so nothing is missed.
"use strict";

function liveStatus(state) {
  const el = document.querySelector("[data-live-status]");
  if (!el) return;
  el.textContent = state === "live" ? el.dataset.textLive : el.dataset.textLost;
  el.classList.toggle("live", state === "live");
  el.classList.toggle("lost", state !== "live");
}

function fragment(html) {
  const template = document.createElement("template");
  template.innerHTML = html;  // HTML rendered and escaped by the server's templates
  return template.content;
}

function swapPanels(html) {
  // Replace each [data-panel] with the new one, unless someone is typing in it.
  fragment(html).querySelectorAll("[data-panel]").forEach((fresh) => {
    const old = document.querySelector(`[data-panel="${fresh.dataset.panel}"]`);
    if (old && !old.contains(document.activeElement)) old.replaceWith(fresh);
  });
}

function startConsole(feed) {
  const keep = Number(feed.dataset.keep || 20);
  const source = new EventSource(feed.dataset.liveFeed);
  source.onopen = () => liveStatus("live");
  source.onerror = () => liveStatus("lost");
  source.addEventListener("scan", (message) => {
    feed.querySelectorAll(".scan.big").forEach((card) => card.classList.remove("big"));
    feed.prepend(fragment(message.data));
    while (feed.children.length > keep) feed.lastElementChild.remove();
    const empty = document.querySelector("[data-empty]");
    if (empty) empty.hidden = true;
  });
  source.addEventListener("panels", (message) => swapPanels(message.data));
}

function startDashboard(board) {
  const source = new EventSource(board.dataset.liveDashboard);
  source.onopen = () => liveStatus("live");
  source.onerror = () => liveStatus("lost");
  source.addEventListener("panels", (message) => swapPanels(message.data));
}

function showBusy(form) {
  form.addEventListener("submit", () => {
    const bar = form.querySelector("[data-busy-indicator]");
    if (bar) bar.hidden = false;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const feed = document.querySelector("[data-live-feed]");
  if (feed) startConsole(feed);
  const board = document.querySelector("[data-live-dashboard]");
  if (board) startDashboard(board);
  document.querySelectorAll("form[data-busy]").forEach(showBusy);
});
