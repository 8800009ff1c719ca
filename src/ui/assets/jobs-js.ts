/**
 * /assets/jobs.js: follows a job started from a page ("sync now", "run now") over its event
 * stream: the progress bar, each step as it ends, and the outcome; then the page's live regions
 * refresh. Kept in a TypeScript module so the build carries it into dist/.
 */
export const JOBS_JS = `"use strict";
(() => {
  for (const box of document.querySelectorAll("[data-job-events]")) {
    const url = box.dataset.jobEvents;
    if (!url || box.dataset.following) continue;
    box.dataset.following = "yes";
    const bar = box.querySelector("[data-job-bar]");
    const text = box.querySelector("[data-job-text]");
    const steps = box.querySelector("[data-job-steps]");
    const showStep = (step) => {
      const li = document.createElement("li");
      li.className = step.ok ? "step-ok" : "step-error";
      if (!step.ok) li.append(Object.assign(document.createElement("strong"), { textContent: "error: " }));
      li.append(step.text);
      if (step.hint) li.append(document.createElement("br"), Object.assign(document.createElement("span"), { className: "hint", textContent: "fix: " + step.hint }));
      steps.append(li);
    };
    const showProgress = (p) => {
      if (!p) return;
      bar.max = Math.max(1, p.total);
      bar.value = p.done;
      bar.textContent = Math.round((p.done / Math.max(1, p.total)) * 100) + "%";
      text.textContent = p.text;
    };
    const events = new EventSource(url);
    events.addEventListener("state", (e) => {
      const job = JSON.parse(e.data);
      steps.replaceChildren();
      job.steps.forEach(showStep);
      showProgress(job.progress);
    });
    events.addEventListener("progress", (e) => showProgress(JSON.parse(e.data)));
    events.addEventListener("step", (e) => showStep(JSON.parse(e.data)));
    events.addEventListener("done", (e) => {
      events.close();
      const job = JSON.parse(e.data);
      box.dataset.state = job.state;
      if (job.state === "ok" && bar.max) bar.value = bar.max;
      text.textContent = job.outcome;
      for (const button of document.querySelectorAll("[data-job-button]")) button.disabled = false;
      window.shelfUi?.refresh();
    });
  }
})();
`;
