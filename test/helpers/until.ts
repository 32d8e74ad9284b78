// Waits for a condition the system reaches eventually, with a generous deadline: a test asserts behaviour, not speed.

import * as assert from 'uvu/assert';

/** `what` names the condition in the failure; a function is asked at the time-out (to say what was seen last). */
export async function until(condition: () => boolean | Promise<boolean>, what: string | (() => string), timeoutMs = 60_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.unreachable(`timed out waiting until ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
