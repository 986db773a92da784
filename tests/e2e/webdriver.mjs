// A small W3C WebDriver client: just what the end-to-end suite needs to drive the real app
// through tauri-driver (which forwards to WebKitWebDriver on Linux). No dependencies.

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export const Keys = { CONTROL: "\uE009", ENTER: "\uE007", ESCAPE: "\uE00C", NULL: "\uE000", ALT: "\uE00A", TAB: "\uE004" };

export class WebDriverError extends Error {}

async function request(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    // No command of this suite takes long; a stuck one must fail the step, not the whole run.
    signal: AbortSignal.timeout(90000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WebDriverError(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  if (!res.ok || (json.value && json.value.error)) {
    const v = json.value ?? {};
    throw new WebDriverError(`${method} ${path}: ${v.error ?? res.status}: ${v.message ?? text.slice(0, 300)}`);
  }
  return json.value;
}

export class Session {
  static async start(base, capabilities) {
    const value = await request(base, "POST", "/session", { capabilities: { alwaysMatch: capabilities } });
    return new Session(base, value.sessionId);
  }

  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  cmd(method, path, body) {
    return request(this.base, method, `/session/${this.id}${path}`, body);
  }

  async find(css) {
    const v = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return new Element(this, v[ELEMENT]);
  }

  async findAll(css) {
    const v = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return v.map((e) => new Element(this, e[ELEMENT]));
  }

  /** Runs `script` (a function body) in the page and returns its value. */
  execute(script, ...args) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  async screenshot() {
    return Buffer.from(await this.cmd("GET", "/screenshot"), "base64");
  }

  setWindowRect(rect) {
    return this.cmd("POST", "/window/rect", rect);
  }

  end() {
    return this.cmd("DELETE", "");
  }

  /** Polls `probe` until it returns a truthy value (which is returned) or `timeoutMs` passes. */
  async waitFor(what, probe, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      try {
        const v = await probe();
        if (v) return v;
        last = v;
      } catch (e) {
        last = e;
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export class Element {
  constructor(session, id) {
    this.session = session;
    this.id = id;
  }
  click() {
    return this.session.cmd("POST", `/element/${this.id}/click`, {});
  }
  type(text) {
    return this.session.cmd("POST", `/element/${this.id}/value`, { text });
  }
  clear() {
    return this.session.cmd("POST", `/element/${this.id}/clear`, {});
  }
  text() {
    return this.session.cmd("GET", `/element/${this.id}/text`);
  }
  property(name) {
    return this.session.cmd("GET", `/element/${this.id}/property/${name}`);
  }
  attribute(name) {
    return this.session.cmd("GET", `/element/${this.id}/attribute/${name}`);
  }
  displayed() {
    return this.session.cmd("GET", `/element/${this.id}/displayed`);
  }
}
