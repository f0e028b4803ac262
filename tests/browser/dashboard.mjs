// The dashboard in a real browser: Debian's Chromium driven by playwright-core, against a
// running `ztp serve` whose first run is on its way to prod (run by it_dashboard_browser_test).
//
// Environment:
//   ZTP_DASHBOARD_URL   the dashboard, e.g. http://127.0.0.1:7070/
//   ZTP_VIEWER_TOKEN    a viewer token
//   ZTP_DEPLOYER_TOKEN  a deployer token
//   ZTP_NEXT_COMMIT     a commit (off the watched branch) this script queues as the second run
//   ZTP_SCREENSHOT      where to save the screenshot (PNG)
//   CHROMIUM            the browser (default /usr/bin/chromium)
//
// It signs in as a viewer (no approve button), watches the first run reach prod's gate, signs
// in as a deployer and approves it from the page; then queues the second run, sees its stages
// advance, approves prod, sees the canary's weights change (prod never drawn unhealthy while
// canary replicas start) and the plots draw; then rolls prod back from the page and sees the
// run panel show the split prod serves after the rollback, and saves a screenshot. Exits
// non-zero with the reason (and a screenshot of the failure) otherwise.
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') throw new Error(`${name} is not set (see the top of dashboard.mjs)`);
  return v;
};

const url = env('ZTP_DASHBOARD_URL');
const viewerToken = env('ZTP_VIEWER_TOKEN');
const deployerToken = env('ZTP_DEPLOYER_TOKEN');
const nextCommit = env('ZTP_NEXT_COMMIT');
const screenshot = env('ZTP_SCREENSHOT');
const executablePath = env('CHROMIUM', '/usr/bin/chromium');
const RUN_TIMEOUT = 240_000;

const log = (line) => console.log(`[dashboard] ${line}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// Polls `probe` (async, returns a value or a falsy one) until it gives a truthy value.
async function until(what, probe, timeout = RUN_TIMEOUT, every = 200) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await sleep(every);
  }
  throw new Error(`timed out after ${timeout / 1000}s waiting for ${what}`);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => {
  if (m.type() === 'error') log(`console error: ${m.text()}`);
});
// Anything the page's Content-Security-Policy blocks is a bug of the page.
await page.addInitScript(() => {
  window.cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI}`);
  });
});

const byId = (id) => page.getByTestId(id);
const attr = (id, name) => byId(id).getAttribute(name, { timeout: 5000 });

// What the "Run" panel shows: the run's id and status, each stage's status, the split.
const liveRun = () => page.evaluate(() => {
  const section = document.querySelector('[data-testid="live-run"]');
  const stages = {};
  for (const li of document.querySelectorAll('[data-testid="stages"] li')) {
    stages[li.dataset.testid] = li.dataset.status;
  }
  return {
    id: section.dataset.runId,
    status: section.dataset.status,
    stages,
    weights: JSON.parse(document.querySelector('[data-testid="live-weights"]').dataset.weights),
  };
});

// Records every health badge prod's card is drawn with (the cards are redrawn on each refresh),
// so a badge shown for a moment between two samples is seen too.
const watchProdHealth = () => page.evaluate(() => {
  window.prodHealth = [];
  const note = () => {
    const badge = document.querySelector('[data-testid="env-health-prod"]');
    const text = badge ? badge.textContent : '';
    if (text && window.prodHealth[window.prodHealth.length - 1] !== text) window.prodHealth.push(text);
  };
  new MutationObserver(note).observe(document.querySelector('[data-testid="environments"]'),
    { childList: true, subtree: true, characterData: true });
  note();
});
const prodHealthSeen = () => page.evaluate(() => window.prodHealth);

// The releases with a share of traffic in a split, as [release, percent].
const serving = (w) => Object.entries(w).filter(([, p]) => p > 0);

async function signIn(token, role) {
  if (!(await byId('token-dialog').isVisible())) await byId('token-change').click();
  await byId('token-input').fill(token);
  await byId('token-save').click();
  await until(`the page to sign in as ${role}`, async () =>
    (await byId('whoami').textContent()).includes(`(${role})`), 15_000);
  check(!(await byId('token-dialog').isVisible()), 'the token dialog stayed open after signing in');
  log(`signed in as ${role}`);
}

async function approve(runId, comment) {
  await until(`run ${runId} to await approval`, async () => {
    const run = await liveRun();
    return run.id === String(runId) && run.status === 'awaiting_approval';
  });
  check(await attr('approval', 'data-env') === 'prod', 'the approval is not for prod');
  await byId('approval-comment').fill(comment);
  await byId('approve-button').click();
  log(`approved run ${runId} from the page`);
}

// Samples the panel until run `runId` ends; returns every distinct stage map and split seen.
async function follow(runId) {
  const stages = [];
  const splits = [];
  const final = await until(`run ${runId} to finish`, async () => {
    const run = await liveRun();
    if (run.id !== String(runId)) return null;
    const s = JSON.stringify(run.stages);
    if (stages[stages.length - 1] !== s) stages.push(s);
    const w = JSON.stringify(run.weights);
    if (splits[splits.length - 1] !== w) splits.push(w);
    return ['succeeded', 'failed', 'rolled_back', 'cancelled'].includes(run.status) ? run : null;
  }, RUN_TIMEOUT, 100);
  return { final, stages: stages.map((s) => JSON.parse(s)), splits: splits.map((w) => JSON.parse(w)) };
}

async function main() {
  await page.goto(url);
  check(await byId('token-dialog').isVisible(), 'a first visit does not ask for a token');
  await signIn(viewerToken, 'viewer');

  // Run 1, started by the controller's poll of the repository, goes to prod's gate.
  await until('the first run to await approval', async () => (await liveRun()).status === 'awaiting_approval');
  const first = await liveRun();
  log(`run ${first.id} awaits approval of prod`);
  check(await byId('approval').isHidden(), 'a viewer is shown the approve button');
  check(await byId('rollback-qa').count() === 0, 'a viewer is shown a rollback button');

  // The token persists in localStorage: a reload signs in again by itself.
  await page.reload();
  await until('the saved token to sign in after a reload', async () =>
    (await byId('whoami').textContent()).includes('(viewer)'), 15_000);

  await signIn(deployerToken, 'deployer');
  await until('the rollback button of a deployer', () => byId('rollback-qa').isVisible(), 15_000);
  await approve(first.id, 'first release');
  const firstEnd = await follow(first.id);
  check(firstEnd.final.status === 'succeeded', `run ${first.id} ended ${firstEnd.final.status}`);
  const firstSha = (await byId('env-sha-prod').textContent()).trim();
  log(`run ${first.id} succeeded; prod runs ${firstSha}`);

  // Run 2: queued through the API while the page watches.
  const queued = await page.evaluate(async (commit) => {
    const res = await fetch('/api/v1/runs', {
      method: 'POST',
      headers: { Authorization: `Bearer ${localStorage.getItem('ztp.token')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ commit }),
    });
    return { status: res.status, body: await res.json() };
  }, nextCommit);
  check(queued.status === 202 && queued.body.run_id, `queueing the second run: ${JSON.stringify(queued)}`);
  const second = queued.body.run_id;
  log(`queued run ${second}`);

  const stagesSeen = [];
  await until(`run ${second} to reach prod's gate`, async () => {
    const run = await liveRun();
    if (run.id !== String(second)) return false;
    const s = JSON.stringify(run.stages);
    if (stagesSeen[stagesSeen.length - 1] !== s) stagesSeen.push(s);
    return run.status === 'awaiting_approval';
  }, RUN_TIMEOUT, 100);
  // Advancing: some stage was seen unfinished, then succeeded, without reloading the page.
  const maps = stagesSeen.map((s) => JSON.parse(s));
  const advanced = Object.keys(maps[maps.length - 1]).filter((k) =>
    maps[maps.length - 1][k] === 'succeeded' && maps.some((m) => m[k] !== undefined && m[k] !== 'succeeded'));
  check(advanced.length >= 2, `the stages did not advance on the page: ${JSON.stringify(maps)}`);
  log(`stages advanced on the page: ${advanced.join(', ')} (${maps.length} states seen)`);

  const firstRelease = (await byId('env-release-prod').textContent()).trim().split(' ')[0];
  await watchProdHealth();
  await approve(second, 'canary it');
  const secondEnd = await follow(second);
  check(secondEnd.final.status === 'succeeded', `run ${second} ended ${secondEnd.final.status}`);
  // The canary: a split of two releases, then the new one alone, and more than two splits seen.
  const releases = serving;
  const canary = secondEnd.splits.filter((w) => releases(w).length === 2);
  const last = secondEnd.splits[secondEnd.splits.length - 1];
  check(canary.length >= 1, `no canary split was shown: ${JSON.stringify(secondEnd.splits)}`);
  check(releases(last).length === 1 && releases(last)[0][1] === 100,
    `the split did not end on the new release alone: ${JSON.stringify(last)}`);
  check(secondEnd.splits.length >= 3, `the weights did not change step by step: ${JSON.stringify(secondEnd.splits)}`);
  log(`canary weights seen: ${secondEnd.splits.map((w) => JSON.stringify(w)).join(' -> ')}`);
  // Replicas of the canary starting are a rollout in progress, not an unhealthy prod.
  const healthDuringCanary = await prodHealthSeen();
  log(`prod's health during the canary: ${healthDuringCanary.join(' -> ')}`);
  check(!healthDuringCanary.includes('unhealthy'),
    `prod was drawn unhealthy while the canary's replicas started: ${healthDuringCanary.join(' -> ')}`);
  // The environment cards refresh on the stream's next event or poll, not with the run's end.
  await until(`prod's card to show run ${second}'s commit instead of ${firstSha}`, async () => {
    const shown = (await byId('env-sha-prod').textContent()).trim();
    return shown !== '' && shown !== firstSha;
  }, 30000);

  // The plots of prod: lines with data and a marker for each deployment.
  check(await byId('plot-env').inputValue() === 'prod', 'the plots do not show prod by default');
  const plot = await until('the request-rate plot to draw', async () => {
    const p = await page.evaluate(() => {
      const svg = document.querySelector('[data-testid="plot-requests"]');
      const paths = [...svg.querySelectorAll('path.series')];
      return {
        points: Number(svg.dataset.points),
        segments: paths.reduce((n, p) => n + (p.getAttribute('d').match(/L/g) || []).length, 0),
        width: Math.max(0, ...paths.map((p) => p.getBBox().width)),
        markers: svg.querySelectorAll('[data-testid="deploy-marker"]').length,
      };
    });
    return p.points >= 3 && p.segments >= 2 && p.width > 0 && p.markers >= 2 ? p : null;
  }, 60_000, 500);
  log(`request-rate plot: ${plot.points} points, ${plot.segments} segments, ${plot.markers} deployment markers`);
  for (const id of ['plot-errors', 'plot-p95']) {
    check(Number(await attr(id, 'data-points')) >= 3, `${id} drew no data`);
  }

  // Roll prod back from the page: the run panel (still run 2, ended) then shows the split prod
  // serves now, the first release alone, not run 2's last weights.
  const secondSha = (await byId('env-sha-prod').textContent()).trim();
  await watchProdHealth();
  page.on('dialog', (dialog) => dialog.accept());
  for (let attempt = 1; ; attempt += 1) {
    await until('the page to show no notice', () => byId('notice').isHidden(), 15_000);
    await byId('rollback-prod').click();
    log(`asked for a rollback of prod (attempt ${attempt})`);
    const outcome = await until('prod to be rolled back from the page', async () => {
      if ((await byId('env-sha-prod').textContent()).trim() === firstSha) return 'done';
      return (await byId('notice').isVisible()) && `refused: ${await byId('notice').textContent()}`;
    }, 120_000, 250);
    if (outcome === 'done') break;
    // Another holder of prod's lock (the drift check) refuses a rollback for a moment: retry.
    check(attempt < 3, `the rollback of prod was ${outcome}`);
    log(`the rollback was ${outcome}; retrying`);
  }
  log(`prod rolled back from ${secondSha} to ${firstSha}`);
  const afterRollback = await until('the run panel to show the split after the rollback', async () => {
    const run = await liveRun();
    const split = serving(run.weights);
    return run.id === String(second) && split.length === 1 && `r${split[0][0]}` === firstRelease
      ? run : null;
  }, 15_000).catch(async (e) => {
    const run = await liveRun();
    throw new Error(`${e.message}: run ${run.id}'s panel shows ${JSON.stringify(run.weights)}, prod `
      + `runs ${firstRelease} again`);
  });
  log(`run ${second}'s panel shows ${JSON.stringify(afterRollback.weights)} after the rollback`);
  const healthDuringRollback = await prodHealthSeen();
  log(`prod's health during the rollback: ${healthDuringRollback.join(' -> ')}`);
  check(!healthDuringRollback.includes('unhealthy'),
    `prod was drawn unhealthy while the rollback's replicas started: ${healthDuringRollback.join(' -> ')}`);

  const violations = await page.evaluate(() => window.cspViolations);
  check(violations.length === 0, `the Content-Security-Policy blocked: ${violations.join('; ')}`);
  check(problems.length === 0, problems.join('\n'));
  await page.screenshot({ path: screenshot, fullPage: true });
  log(`screenshot: ${screenshot}`);
}

try {
  await main();
  await browser.close();
} catch (e) {
  const failed = screenshot.replace(/\.png$/, '') + '-failed.png';
  await page.screenshot({ path: failed, fullPage: true }).catch(() => {});
  console.error(`[dashboard] FAILED: ${e.stack || e.message}\n[dashboard] screenshot of the failure: ${failed}`);
  await browser.close();
  process.exit(1);
}
