/**
 * The one stylesheet, served as /assets/app.css. Sizes in rem so the page reflows at 200% zoom; no
 * fixed widths. Kept in a TypeScript module so the build carries it into dist/.
 */
export const APP_CSS = `:root {
  color-scheme: light dark;
  --fg: #1b1f24; --muted: #57606a; --bg: #ffffff; --panel: #f6f8fa; --line: #d0d7de;
  --accent: #0a58ca; --ok: #1a7f37; --err: #b3261e; --warn: #8a5a00; --focus: #ffbf47;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  line-height: 1.5;
}
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9da7b3; --bg: #0d1117; --panel: #161b22; --line: #30363d; --accent: #6cb6ff; --ok: #3fb950; --err: #ff7b72; --warn: #d29922; }
}
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -100rem; }
.skip:focus { left: 0.5rem; top: 0.5rem; background: var(--bg); padding: 0.5rem; z-index: 10; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.5rem; padding: 0.5rem 1rem; border-bottom: 1px solid var(--line); background: var(--panel); }
.brand { font-weight: 700; font-size: 1.2rem; text-decoration: none; color: var(--fg); }
.catalog-name { color: var(--muted); }
.top nav ul { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; list-style: none; margin: 0; padding: 0; }
.top nav a { text-decoration: none; padding: 0.25rem 0.125rem; }
.top nav a[aria-current="page"] { font-weight: 700; border-bottom: 3px solid var(--accent); }
.badge { display: inline-block; min-width: 1.4em; padding: 0 0.35em; border-radius: 1em; background: var(--err); color: #fff; font-size: 0.8rem; text-align: center; }
.live { margin-left: auto; font-size: 0.85rem; color: var(--muted); }
.live[data-state="on"]::before { content: "● "; color: var(--ok); }
.live[data-state="off"]::before { content: "○ "; }
main { padding: 1rem; max-width: 80rem; }
main:focus { outline: none; }
h1 { font-size: 1.5rem; margin: 0 0 0.75rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 0.5rem; }
.muted, .hint { color: var(--muted); }
.notice { border: 1px solid var(--line); border-left-width: 0.4rem; padding: 0.25rem 0.75rem; margin-bottom: 1rem; background: var(--panel); }
.notice p { margin: 0.4rem 0; }
.notice-ok { border-left-color: var(--ok); }
.notice-error { border-left-color: var(--err); }
form.inline { display: inline; }
label { font-weight: 600; }
input, select, textarea, button { font: inherit; color: inherit; }
input[type="text"], input[type="search"], select, textarea { background: var(--bg); border: 1px solid var(--line); border-radius: 0.25rem; padding: 0.3rem 0.5rem; max-width: 100%; }
textarea { width: 100%; min-height: 4rem; }
button, .button { background: var(--panel); border: 1px solid var(--line); border-radius: 0.25rem; padding: 0.3rem 0.75rem; cursor: pointer; text-decoration: none; color: var(--fg); display: inline-block; }
button.primary { background: var(--accent); color: var(--bg); border-color: var(--accent); }
button.danger { color: var(--err); border-color: var(--err); }
.field { display: flex; flex-direction: column; gap: 0.2rem; margin-bottom: 0.75rem; }
.row { display: flex; flex-wrap: wrap; gap: 0.75rem 1rem; align-items: flex-end; }
.row > .card { align-self: flex-start; margin-bottom: 0; }
.field-conflict form.row { margin-top: 0.75rem; }
.field-conflict + .field-conflict { border-top: 1px solid var(--line); margin-top: 1rem; }
.filters { border: 1px solid var(--line); padding: 0.75rem; margin-bottom: 1rem; background: var(--panel); }
.filters legend { font-weight: 700; }
.search-box { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: flex-end; margin-bottom: 0.75rem; }
.search-box .grow { flex: 1 1 20rem; }
.search-box input[type="search"] { width: 100%; font-size: 1.1rem; }
/* relative: an absolutely placed child (a visually hidden header) scrolls with its table instead of widening the page */
.table-wrap { overflow-x: auto; position: relative; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line); overflow-wrap: break-word; }
th { background: var(--panel); }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
dl.fields dt { font-weight: 600; }
dl.fields dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 40rem) { dl.fields { grid-template-columns: 1fr; } dl.fields dd { margin-bottom: 0.5rem; } }
.chips { display: flex; flex-wrap: wrap; gap: 0.35rem; list-style: none; padding: 0; margin: 0; }
.chips li { border: 1px solid var(--line); border-radius: 1rem; padding: 0 0.25rem 0 0.6rem; display: inline-flex; gap: 0.25rem; align-items: center; }
.chips button { border: none; background: none; padding: 0 0.35rem; }
.deleted { color: var(--err); font-weight: 600; }
.pager { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: 1rem 0; }
.card { border: 1px solid var(--line); border-radius: 0.4rem; padding: 0.75rem 1rem; margin-bottom: 1rem; }
.values { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: 0.75rem; }
.value { border: 1px solid var(--line); border-radius: 0.3rem; padding: 0.5rem 0.75rem; background: var(--panel); }
.value.winner { border-color: var(--accent); }
.value pre, td pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.25rem 0; font-size: 0.95rem; }
.actions { display: flex; flex-wrap: wrap; gap: 0.5rem; margin-top: 0.5rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
/* Sync, Imports: outcomes and a job's progress */
.ok { color: var(--ok); }
.error { color: var(--err); }
.job { border: 1px solid var(--line); padding: 0.25rem 0.75rem 0.5rem; margin: 1rem 0; background: var(--panel); }
.job progress { width: min(24rem, 100%); vertical-align: middle; margin-right: 0.5rem; }
.job[data-state="failed"] [data-job-text] { color: var(--err); }
[data-live="sync"] th, [data-live="imports"] th { overflow-wrap: normal; }
`;
