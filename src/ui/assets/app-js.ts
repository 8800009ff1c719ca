/**
 * The script every page loads, served as /assets/app.js. It lives in a TypeScript module so the
 * build carries it into dist/ with the rest; it is plain browser JavaScript, without backquotes or
 * backslashes, so the template below holds it unchanged.
 */
export const APP_JS = `// shelf ui: the small script every page loads. Without it every page still works (forms post,
// searches submit); with it, the catalog searches as you type and live regions follow changes
// made anywhere (this app, the CLI, a daemon taking a peer's edits) without a reload.
"use strict";
(() => {
  const liveState = document.getElementById("live-state");
  const setLive = (on) => {
    if (!liveState) return;
    liveState.dataset.state = on ? "on" : "off";
    liveState.textContent = on ? "live" : "live updates off, reconnecting";
  };

  // A region the user is typing in is left alone until they leave it, then refreshed.
  const isBusy = (region) => {
    const active = document.activeElement;
    if (!active || !region.contains(active)) return false;
    if (!("value" in active) || active.type === "submit" || active.type === "button") return false;
    return active.value !== active.defaultValue;
  };
  let deferred = false;

  /** Replaces every [data-live] region of this page with the same region of the fetched document. */
  const swapRegions = (doc) => {
    for (const region of document.querySelectorAll("[data-live]")) {
      const fresh = doc.querySelector('[data-live="' + CSS.escape(region.dataset.live) + '"]');
      if (!fresh || fresh.innerHTML === region.innerHTML) continue;
      if (isBusy(region)) {
        deferred = true;
        continue;
      }
      const focusedId = region.contains(document.activeElement) ? document.activeElement.id : "";
      region.innerHTML = fresh.innerHTML;
      if (focusedId) document.getElementById(focusedId)?.focus();
    }
    const title = doc.querySelector("title");
    if (title) document.title = title.textContent;
  };

  let refreshing;
  let current = 0;
  /** Fetches a page (default: this one) and swaps its live regions in; the latest call wins. */
  const refresh = async (url = location.href) => {
    const mine = ++current;
    refreshing?.abort();
    refreshing = new AbortController();
    try {
      const response = await fetch(url, { signal: refreshing.signal, headers: { accept: "text/html" } });
      if (mine !== current) return;
      const text = await response.text();
      if (mine !== current) return;
      swapRegions(new DOMParser().parseFromString(text, "text/html"));
      document.dispatchEvent(new CustomEvent("shelf:refreshed"));
    } catch (err) {
      if (err.name !== "AbortError") console.warn("shelf ui: refresh failed", err);
    }
  };
  window.shelfUi = { refresh };

  document.addEventListener("focusout", () => {
    if (!deferred) return;
    deferred = false;
    setTimeout(() => void refresh(), 0);
  });

  // Live changes: the server says when the view moved; pages with live regions refresh them.
  if ("EventSource" in window && document.querySelector("[data-live]")) {
    let wasOpen = false;
    const events = new EventSource("/events");
    events.addEventListener("open", () => {
      setLive(true);
      // Reconnected: changes may have happened meanwhile.
      if (wasOpen) void refresh();
      wasOpen = true;
    });
    events.addEventListener("error", () => setLive(false));
    events.addEventListener("change", () => void refresh());
  }

  // Search as you type: the form's own GET, made in the background on every keystroke.
  for (const form of document.querySelectorAll("form[data-search]")) {
    let timer;
    const run = () => {
      const params = new URLSearchParams(new FormData(form));
      for (const [key, value] of [...params]) if (value === "") params.delete(key);
      const url = (form.getAttribute("action") || location.pathname) + (params.size ? "?" + params : "");
      history.replaceState(null, "", url);
      void refresh(url);
    };
    form.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(run, 120);
    });
    form.addEventListener("change", (event) => {
      if (event.target.type === "search" || event.target.type === "text") return;
      clearTimeout(timer);
      run();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearTimeout(timer);
      run();
    });
  }
})();
`;
