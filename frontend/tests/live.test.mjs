// LiveSynthesis without a browser: the newest change always wins.

import { test } from "node:test";
import assert from "node:assert/strict";
import { LiveSynthesis } from "../src/live.js";

/** A fake server whose answers the test releases in any order. */
function harness(interval = 0, { ignoreAbort = false, previews } = {}) {
  const calls = [];
  const shown = [];
  const failures = [];
  let change = 0;
  const live = new LiveSynthesis({
    interval,
    previews,
    send: (signal, preview) =>
      new Promise((resolve, reject) => {
        const call = { change: ++change, signal, preview, resolve: () => resolve(call.change), reject };
        if (!ignoreAbort) signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
        calls.push(call);
      }),
    show: (result, _elapsed, preview) => shown.push(preview ? `preview ${result}` : result),
    fail: (e) => failures.push(e),
    busy: () => {},
  });
  return { live, calls, shown, failures };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

test("a settled change aborts the request in flight and its answer is never shown", async () => {
  const { live, calls, shown, failures } = harness();
  live.changed(false);
  live.changed(true);
  assert.equal(calls.length, 2);
  assert.equal(calls[0].signal.aborted, true);
  calls[0].resolve();
  calls[1].resolve();
  await tick();
  assert.deepEqual(shown, [2]);
  assert.deepEqual(failures, [], "an abort is not an error");
});

test("during a stroke one request is in flight; the latest change follows it", async () => {
  const { live, calls, shown } = harness();
  live.changed(false);
  live.changed(false);
  live.changed(false);
  assert.equal(calls.length, 1, "no second request while one is in flight");
  calls[0].resolve();
  await tick();
  assert.equal(calls.length, 2, "the waiting change is sent when the first answers");
  calls[1].resolve();
  await tick();
  assert.deepEqual(shown, [1, 2]);
  assert.equal(calls.length, 2);
});

test("an older answer arriving after a newer one is ignored", async () => {
  // As when the older response was already complete when the abort came.
  const { live, calls, shown } = harness(0, { ignoreAbort: true });
  live.changed(false);
  live.changed(true);
  calls[1].resolve();
  await tick();
  calls[0].resolve();
  await tick();
  assert.deepEqual(shown, [2]);
});

test("the interval spaces out requests during a stroke", async () => {
  const { live, calls } = harness(100);
  live.changed(false);
  calls[0].resolve();
  await tick();
  live.changed(false);
  assert.equal(calls.length, 1, "too soon after the last send");
  await new Promise((r) => setTimeout(r, 130));
  assert.equal(calls.length, 2);
});

test("failures other than aborts are reported", async () => {
  const { live, calls, failures } = harness();
  live.changed(true);
  calls[0].reject(new Error("503 overloaded"));
  await tick();
  assert.equal(failures.length, 1);
  assert.match(failures[0].message, /503/);
});

test("without previews every request asks for the final image", async () => {
  const { live, calls } = harness();
  live.changed(false);
  assert.deepEqual(calls.map((c) => c.preview), [false]);
});

test("an unsettled change asks for a preview and the settled one for the final image", async () => {
  let wanted = true;
  const { live, calls, shown } = harness(0, { previews: () => wanted });
  live.changed(false);
  calls[0].resolve();
  await tick();
  live.changed(true);
  calls[1].resolve();
  await tick();
  assert.deepEqual(calls.map((c) => c.preview), [true, false]);
  assert.deepEqual(shown, ["preview 1", 2]);
  wanted = false; // the painter turned previews off, or the model takes one size
  live.changed(false);
  assert.equal(calls[2].preview, false);
});

test("a preview answering after the final image is never shown", async () => {
  // The preview's response was complete when the stroke ended, so the abort came too late.
  const { live, calls, shown } = harness(0, { ignoreAbort: true, previews: () => true });
  live.changed(false);
  live.changed(true);
  assert.deepEqual(calls.map((c) => c.preview), [true, false]);
  calls[1].resolve();
  await tick();
  calls[0].resolve();
  await tick();
  assert.deepEqual(shown, [2]);
});

test("a change made while a preview is in flight waits for it and is sent as the newest", async () => {
  const { live, calls, shown } = harness(0, { previews: () => true });
  live.changed(false);
  live.changed(false);
  calls[0].resolve();
  await tick();
  assert.equal(calls.length, 2);
  assert.equal(calls[1].preview, true, "still unsettled");
  live.changed(true); // the pointer is up: the final aborts the second preview
  assert.equal(calls[1].signal.aborted, true);
  calls[2].resolve();
  await tick();
  assert.deepEqual(shown, ["preview 1", 3]);
});
