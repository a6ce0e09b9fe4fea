// e2e.mjs - the viewer end to end in a real browser: starts `xaid serve` on a free loopback
// port, drives Debian's Chromium (/usr/bin/chromium) headless with playwright-core, and checks
// what a user sees:
//   - the page loads under its Content-Security-Policy with no console error;
//   - every form control has a label, and Tab walks the form in reading order;
//   - uploading a sample image and running grad-CAM shows the overlay, the colour bar with its
//     scale, the scores and the timing; the opacity slider changes the overlay;
//   - "Make the report" gives a link that opens the report in a new tab, styled (its inline
//     stylesheet allowed by the policy's hash) and with its summary and disclaimer;
//   - bad input (a file that is not an image, a parameter out of range) shows the server's
//     error message, not a blank page;
// and saves screenshots of the page and the report under --out.
//   node e2e.mjs --xaid build/xaid --src . --out build/web
// Prints "N passed, N failed" and exits 1 on any failure. The server is stopped with SIGTERM
// at the end (and must exit 0); every wait is bounded.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const { xaid, src, out } = args;
if (!xaid || !src || !out) {
  console.error('usage: node e2e.mjs --xaid XAID --src SOURCE_DIR --out OUT_DIR');
  process.exit(2);
}
const modules = process.env.XAID_WEB_MODULES || join(src, 'tools/web/node_modules');
const require = createRequire(import.meta.url);
let chromium;
try {
  ({ chromium } = require(require.resolve('playwright-core', { paths: [modules] })));
} catch (e) {
  console.error(`e2e: playwright-core not found in ${modules}: run tools/install-deps test`);
  process.exit(1);
}
const browserPath = process.env.XAID_CHROMIUM || '/usr/bin/chromium';
mkdirSync(out, { recursive: true });

// ---- the server ----

function startServer() {
  return new Promise((resolve, reject) => {
    const proc = spawn(xaid, ['serve', '--listen', '127.0.0.1', '--port', '0', '--models',
      join(src, 'models'), '--workers', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error('the server did not start within 60 s:\n' + err));
    }, 60000);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/listening on (http:\/\/[0-9.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, base: m[1] });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before listening:\n${err}`));
    });
  });
}

function stopServer(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve(proc.exitCode);
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve('killed after 20 s');
    }, 20000);
    proc.removeAllListeners('exit');
    proc.on('exit', (code, sig) => {
      clearTimeout(timer);
      resolve(code !== null ? code : sig);
    });
    proc.kill('SIGTERM');
  });
}

// ---- checks ----

let passed = 0, failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n     ${String(e.message || e).split('\n').join('\n     ')}`);
  }
}
function expect(cond, what) {
  if (!cond) throw new Error(what);
}

const T = 60000; // ms: generous bound for one explanation on a shared 2-core machine

async function run(base) {
  const browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const consoleErrors = [];
  const watch = (p) => p.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  watch(page);
  page.setDefaultTimeout(T);
  const image = join(src, 'examples/nodule-2.png');

  await check('GET / serves the viewer under a Content-Security-Policy', async () => {
    const res = await page.goto(base + '/');
    expect(res.status() === 200, `status ${res.status()}`);
    const h = res.headers();
    expect(/text\/html/.test(h['content-type']), `content-type ${h['content-type']}`);
    const csp = h['content-security-policy'] || '';
    expect(/default-src 'none'/.test(csp) && /script-src 'self'/.test(csp) && /img-src 'self' data:/.test(csp), `CSP "${csp}"`);
    await page.waitForSelector('#model option', { state: 'attached' });
    await page.waitForSelector('#method option[value="gradcam"]', { state: 'attached' });
    expect(await page.inputValue('#method') === 'gradcam', 'grad-CAM is not the default method');
    expect(await page.inputValue('#model') !== 'chest-ae', 'the autoencoder is the default model');
    await page.selectOption('#model', 'chest-demo'); /* the repository also holds chest-attention */
  });

  await check('every control has a label; Tab follows the form', async () => {
    const unlabelled = await page.$$eval('input, select, button', (els) => els
      .filter((e) => e.offsetParent !== null || e.type === 'file')
      .filter((e) => e.tagName !== 'BUTTON' ? !(e.labels && e.labels.length) : !e.textContent.trim())
      .map((e) => e.id || e.tagName));
    expect(!unlabelled.length, 'unlabelled: ' + unlabelled.join(', '));
    await page.focus('#model');
    const order = ['model'];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement.id));
    }
    expect(order.join(',') === 'model,image,method,target,layer', 'focus order ' + order.join(','));
  });

  await check('grad-CAM on a sample image shows overlay, colour bar, scores and timing', async () => {
    await page.setInputFiles('#image', image);
    await page.selectOption('#method', 'gradcam');
    await page.click('#run');
    await page.waitForSelector('#result:not([hidden])');
    const heat = await page.$eval('#heat', (e) => ({ src: e.src.slice(0, 22), w: e.naturalWidth, alt: e.alt, op: e.style.opacity }));
    expect(heat.src === 'data:image/png;base64,' && heat.w === 320, `overlay ${JSON.stringify(heat)}`);
    expect(/gradcam for nodule/.test(heat.alt), 'overlay alt ' + heat.alt);
    const base0 = await page.$eval('#base', (e) => e.naturalWidth);
    expect(base0 === 320, 'image width ' + base0);
    const bar = await page.$eval('#colorbar', (e) => e.naturalWidth);
    expect(bar === 256, 'colour bar width ' + bar);
    const scale = await page.$$eval('#scale span', (s) => s.map((e) => e.textContent));
    expect(scale.length === 2 && scale[0] === '0' && Number(scale[1]) > 0, 'scale ' + scale);
    const rows = await page.$$eval('#scores tbody tr', (r) => r.map((e) => e.textContent));
    expect(rows.length === 3 && /nodule/.test(rows[0]), 'scores ' + rows.join(' | '));
    const timing = await page.textContent('#timing');
    expect(/Time: [0-9.]+ ms/.test(timing) && /Request id [0-9a-f]+/.test(timing), 'timing ' + timing);
    const focused = await page.evaluate(() => document.activeElement.id);
    expect(focused === 'result-title', 'focus after the result: ' + focused);
  });

  await check('the opacity slider changes the overlay', async () => {
    await page.focus('#opacity');
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowLeft');
    const op = await page.$eval('#heat', (e) => e.style.opacity);
    expect(op === '0.5', 'opacity ' + op);
    expect(await page.textContent('#opacity-out') === '0.50', 'output ' + await page.textContent('#opacity-out'));
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.screenshot({ path: join(out, 'viewer.png'), fullPage: true });
  });

  await check('guided grad-CAM (a signed map) shows a scale with zero in the middle', async () => {
    await page.selectOption('#method', 'guided_gradcam');
    expect(await page.isVisible('#p-abs'), 'no field for the parameter abs');
    const before = await page.textContent('#timing');
    await page.click('#run');
    await page.waitForFunction((t) => document.getElementById('timing').textContent !== t, before);
    const scale = await page.$$eval('#scale span', (s) => s.map((e) => e.textContent));
    expect(scale.length === 3 && scale[1] === '0' && Number(scale[0]) === -Number(scale[2]), 'scale ' + scale);
    const alt = await page.getAttribute('#heat', 'alt');
    expect(/guided_gradcam for nodule/.test(alt), 'alt ' + alt);
  });

  await check('the report opens from the page, styled and complete', async () => {
    await page.click('#report');
    await page.waitForSelector('#report-open:not([hidden])');
    const [report] = await Promise.all([context.waitForEvent('page'), page.click('#report-open')]);
    watch(report);
    await report.waitForLoadState('load');
    const title = await report.title();
    expect(title === 'Explanation report: chest-demo 1.0.0, nodule', 'title ' + title);
    const summary = await report.textContent('.summary');
    expect(/^The model estimates a 9\d\u00a0% likelihood of nodule\. The highlighted region is where the evidence for nodule was strongest\.$/.test(summary), 'summary ' + summary);
    const border = await report.$eval('.summary', (e) => getComputedStyle(e).borderLeftWidth);
    expect(border === '4px', 'the report\'s stylesheet did not apply (border ' + border + ')');
    const text = await report.textContent('body');
    for (const need of ['it is not a diagnosis', 'NO clinical meaning', 'guided grad-CAM', 'Caveat', 'Relu_output_0'])
      expect(text.includes(need), 'the report lacks "' + need + '"');
    const pics = await report.$$eval('img.pic', (i) => i.map((e) => e.naturalWidth));
    expect(pics.length === 3 && pics.every((w) => w === 320), 'pictures ' + pics);
    await report.setViewportSize({ width: 1000, height: 1300 });
    await report.screenshot({ path: join(out, 'report.png') });
    await report.screenshot({ path: join(out, 'report-full.png'), fullPage: true });
    await report.pdf?.({ path: join(out, 'report.pdf'), format: 'A4' }).catch(() => {});
    await report.close();
  });

  await check('a file that is not an image shows the server\'s message', async () => {
    await page.setInputFiles('#image', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('these are not pixels') });
    await page.click('#run');
    await page.waitForSelector('#error:not([hidden])');
    const msg = await page.textContent('#error');
    expect(/The server refused the request/.test(msg) && /HTTP 4\d\d/.test(msg), 'error ' + msg);
    expect(/(unsupported_media_type|bad_image)/.test(msg), 'error code in ' + msg);
    expect(await page.getAttribute('#error', 'role') === 'alert', 'the error box is not an alert');
    await page.screenshot({ path: join(out, 'viewer-error.png') });
  });

  await check('a parameter out of range shows the server\'s message naming it', async () => {
    await page.setInputFiles('#image', image);
    await page.selectOption('#method', 'integrated_gradients');
    await page.fill('#p-steps', '100000');
    await page.click('#run');
    await page.waitForSelector('#error:not([hidden])');
    const msg = await page.textContent('#error');
    expect(/steps/.test(msg) && /HTTP 400/.test(msg) && /invalid_argument/.test(msg), 'error ' + msg);
  });

  await check('no console error on the page or the report', async () => {
    // the two refused requests above log their HTTP status; nothing else may
    const other = consoleErrors.filter((m) => !/status of 4\d\d/.test(m));
    expect(!other.length, other.join('\n'));
  });
  await browser.close();
}

let server;
try {
  server = await startServer();
  console.log(`server at ${server.base}`);
  await run(server.base);
} catch (e) {
  failed++;
  console.log('FAIL ' + (e.stack || e));
} finally {
  if (server) {
    const code = await stopServer(server.proc);
    if (code === 0) passed++;
    else {
      failed++;
      console.log(`FAIL the server's exit after SIGTERM: ${code}`);
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
