// Presentation watcher (Streamlit Components v2): lets a follower notice a presenter's change
// without any work on the server while nothing changes.
//
// The presenter's server writes the presentation's version number to a small static file
// (app/static/follow/CODE.txt). This page reads it every POLL_MS; when it is newer than the
// version Python last applied, it sends one trigger, which reruns only the fragment holding
// the watcher. Where the file cannot be read (static serving off, a proxy in the way) it
// falls back to asking the server once every FALLBACK_MS.

const POLL_MS = 250;
const FALLBACK_MS = 1000;
const ASK_AGAIN_MS = 2000; // a trigger that did not bring the version in is sent again

const watchers = new WeakMap(); // component container -> its polling state

export default function (component) {
  const host = component.parentElement;
  let watcher = watchers.get(host);
  if (!watcher) {
    watcher = { asked: 0, askedAt: 0, busy: false, timer: null };
    watchers.set(host, watcher);
  }
  const data = component.data || {};
  watcher.component = component; // the newest setTriggerValue
  watcher.url = String(data.url || "");
  watcher.applied = Number(data.applied) || 0;
  if (!watcher.timer) watcher.timer = setInterval(() => tick(watcher, host), POLL_MS);
  return () => stop(watcher, host);
}

function stop(watcher, host) {
  clearInterval(watcher.timer);
  watcher.timer = null;
  watchers.delete(host);
}

function ask(watcher, version) {
  watcher.asked = version;
  watcher.askedAt = Date.now();
  watcher.component.setTriggerValue("changed", version);
}

async function tick(watcher, host) {
  if (!host.isConnected) return stop(watcher, host);
  if (watcher.busy) return;
  // a change asked for and not yet drawn: no reads until it is (or ASK_AGAIN_MS passed),
  // so a classroom's watchers do not load the server while it redraws their pages
  if (watcher.asked > watcher.applied && Date.now() - watcher.askedAt < ASK_AGAIN_MS) return;
  watcher.busy = true;
  try {
    const response = await fetch(watcher.url, { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const version = parseInt(await response.text(), 10);
    if (Number.isFinite(version) && version > watcher.applied
        && (version !== watcher.asked || Date.now() - watcher.askedAt > ASK_AGAIN_MS)) {
      ask(watcher, version);
    }
  } catch (error) {
    if (Date.now() - watcher.askedAt >= FALLBACK_MS) ask(watcher, -1); // the server checks
  } finally {
    watcher.busy = false;
  }
}
