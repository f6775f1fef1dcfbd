// The lane page: renders each view the gate sends over Server-Sent Events (device/display).
// Every word comes in the view, already in the lane's language; this file holds none.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  let labels = null;
  let countdownTimer = null;
  let holderTimer = null;

  function show(el, text) {
    el.textContent = text || "";
    el.hidden = !text;
  }

  function countdown(waitS) {
    clearInterval(countdownTimer);
    const el = $("countdown");
    if (waitS === null || waitS === undefined) {
      show(el, "");
      return;
    }
    const end = Date.now() + waitS * 1000;
    const tick = () => {
      const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      show(el, labels.seconds.replace("{n}", String(left)));
      if (left === 0) clearInterval(countdownTimer);
    };
    tick();
    countdownTimer = setInterval(tick, 200);
  }

  function holder(view) {
    clearTimeout(holderTimer);
    show($("name"), view.name);
    show($("unit"), view.unit);
    const el = $("holder");
    el.hidden = !(view.name || view.unit);
    if (!el.hidden) {
      holderTimer = setTimeout(() => {
        el.hidden = true;
        show($("name"), "");
        show($("unit"), "");
      }, view.name_s * 1000);
    }
  }

  function render(view) {
    labels = view.labels;
    document.documentElement.lang = view.language;
    document.title = `${labels.title} ${view.lane}`;
    document.body.className = `tone-${view.tone}`;
    document.body.dataset.phase = view.phase;
    document.body.dataset.outcome = view.outcome;
    show($("lane"), view.lane);
    show($("symbol"), view.symbol);
    show($("outcome"), view.outcome_text);
    show($("text"), view.text);
    show($("reason"), view.reason);
    show($("advice"), view.advice);
    show($("temperature-label"), view.temperature_label);
    show($("temperature-value"), view.temperature);
    $("temperature").hidden = !view.temperature;
    show($("dots"), view.dots);
    $("dots").setAttribute("aria-label", `${labels.typed} ${view.digits}`);
    countdown(view.wait_s);
    holder(view);
    window.laneRendered = { seq: view.seq, at: Date.now() };
  }

  function lost(on) {
    const banner = $("banner");
    show(banner, on && labels ? labels.connection_lost : "");
  }

  function connect() {
    const source = new EventSource("/events");
    source.onmessage = (event) => {
      lost(false);
      render(JSON.parse(event.data));
    };
    source.onerror = () => {
      lost(true);
      // the browser retries by itself unless the answer was an error status: then we do
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        setTimeout(connect, 2000);
      }
    };
  }

  connect();
})();
