#!/usr/bin/env node
/* global fetch, window */
// Renders docs/img/dashboard.png: the panels of deploy/grafana/dockop-dashboard.json drawn from
// real metrics. It runs the real daemon (CLI bundle) against demo workloads on the local engine,
// with a restic backup every minute into a scratch local repository and some container churn,
// scrapes its /metrics every SCRAPE_S seconds for DURATION_S seconds, then draws each panel with
// scripts/dashboard/render.html (the panel queries evaluated by promql-lite.js) in headless
// Chromium (playwright-core, executablePath CHROMIUM or /usr/bin/chromium) and screenshots it.
// No Grafana and no Prometheus are involved: it is a rendering of the dashboard's panels.
//
//   npm run build && node scripts/render-dashboard.mjs        (DURATION_S=240 SCRAPE_S=5)
//   KEEP_SCRAPES=f.json keeps the scrapes; FROM_SCRAPES=f.json redraws from them (no daemon run).
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseExposition } from './dashboard/promql-lite.js';

const sh = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DURATION_S = Number(process.env.DURATION_S ?? 240);
const SCRAPE_S = Number(process.env.SCRAPE_S ?? 5);
const PORT = Number(process.env.METRICS_PORT ?? 19464);
const OUT = process.env.OUT ?? path.join(ROOT, 'docs', 'img', 'dashboard.png');
const IMAGE = process.env.SAMPLE_IMAGE ?? 'dockop/busybox:local';
const RESTIC_IMAGE = process.env.SAMPLE_RESTIC_IMAGE ?? 'dockop/restic:local';
const SEL = 'io.dockop.sample=dashboard';
const CLI = path.join(ROOT, 'packages', 'cli', 'bin', 'backrest-sidecar.js');

const work = await mkdtemp(path.join(tmpdir(), 'render-dashboard-'));
const containers = [];
const volumes = [];
let daemon;

async function docker(...args) {
  return (await sh('docker', args)).stdout.trim();
}

async function workload(name, service, labels = {}) {
  const volume = `dash_${service}`;
  await docker('volume', 'create', '--label', SEL, volume);
  volumes.push(volume);
  const l = Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  await docker(
    'run',
    '-d',
    '--name',
    name,
    '--network',
    'none',
    '--label',
    SEL,
    '--label',
    'com.docker.compose.project=dash',
    '--label',
    `com.docker.compose.service=${service}`,
    ...l,
    '-v',
    `${volume}:/data`,
    IMAGE,
    'sh',
    '-c',
    `head -c 200000 /dev/urandom > /data/${service}.dat && exec sleep 2147483647`,
  );
  containers.push(name);
}

async function cleanup() {
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
  }
  if (containers.length) await sh('docker', ['rm', '-f', ...containers]).catch(() => {});
  if (volumes.length) await sh('docker', ['volume', 'rm', ...volumes]).catch(() => {});
  await rm(work, { recursive: true, force: true });
}

try {
  let scrapes = [];
  // FROM_SCRAPES: redraw from a KEEP_SCRAPES file of an earlier run (the render changed, not the run).
  if (process.env.FROM_SCRAPES)
    scrapes = JSON.parse(await readFile(process.env.FROM_SCRAPES, 'utf8'));
  else {
    await workload('dash-db-1', 'db', { 'backrest.enable': 'true', 'backrest.keep': 'last=5' });
    await workload('dash-web-1', 'web', { 'backrest.enable': 'true' });
    // A named volume no plan covers (the "Uncovered volumes" stat), and an invalid label.
    await workload('dash-cache-1', 'cache', {
      'backrest.enable': 'true',
      'backrest.keep': 'daily=seven',
    });
    const repo = path.join(work, 'repo');
    await mkdir(repo);
    await sh('restic', ['init'], {
      env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: 'dashboard-demo-pw' },
    });
    await writeFile(
      path.join(work, 'restic.env'),
      'RESTIC_REPOSITORY=/repo\nRESTIC_PASSWORD=dashboard-demo-pw\n',
    );
    await writeFile(
      path.join(work, 'config.json'),
      JSON.stringify({
        repos: [{ id: 'default', type: 'local', url: '/srv/restic-repo', env: {} }],
        plans: [],
      }),
    );
    daemon = spawn(
      process.execPath,
      [
        CLI,
        'daemon',
        '--config',
        path.join(work, 'config.json'),
        '--with-events',
        '--interval',
        '15s',
        '--http-addr',
        `127.0.0.1:${PORT}`,
        '--selector',
        SEL,
        '--backup-schedule',
        '* * * * *',
        '--engine',
        'restic',
        '--rcb-env-file',
        path.join(work, 'restic.env'),
        '--restic-image',
        RESTIC_IMAGE,
        '--restic-volume',
        `${repo}:/repo`,
        '--restic-host',
        'demo-host',
        '--state-dir',
        path.join(work, 'state'),
        '--quiesce-label',
        'io.dockop.sample.quiesce=true',
        '--progress',
        'none',
        '--log-format',
        'json',
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );

    const started = Date.now();
    let churn = 0;
    while (Date.now() - started < DURATION_S * 1000) {
      await new Promise((r) => setTimeout(r, SCRAPE_S * 1000));
      try {
        const res = await fetch(`http://127.0.0.1:${PORT}/metrics`);
        scrapes.push({ t: Date.now() / 1000, samples: parseExposition(await res.text()) });
      } catch {
        // not listening yet
      }
      // Churn: a short-lived labeled container every ~20 s (events, reconciles, queue adds).
      if (scrapes.length % 4 === 2) {
        const name = `dash-job-${churn++}`;
        await workload(name, `job${churn}`, { 'backrest.enable': 'true' });
        setTimeout(() => docker('rm', '-f', name).catch(() => {}), 12_000);
      }
      process.stderr.write(`render-dashboard: ${scrapes.length} scrapes\r`);
    }
  }
  if (scrapes.length < 3)
    throw new Error('fewer than 3 scrapes of /metrics: did the daemon start?');
  const dashboard = JSON.parse(
    await readFile(path.join(ROOT, 'deploy', 'grafana', 'dockop-dashboard.json'), 'utf8'),
  );
  const first = new Date(scrapes[0].t * 1000).toISOString().slice(0, 16).replace('T', ' ');
  const note =
    process.env.NOTE ??
    `${scrapes.length} scrapes of a real backrest-sidecar daemon's /metrics, every ${SCRAPE_S} s from ${first} UTC ` +
      `(3 demo workloads, container churn, a restic backup every minute); panels drawn by scripts/render-dashboard.mjs`;

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1420, height: 900 } });
    await page.addInitScript(
      (data) => {
        window.DASHBOARD_DATA = data;
      },
      { dashboard, scrapes, note },
    );
    // ES modules don't load from file:// in Chromium: serve the two files from a tiny server.
    const { createServer } = await import('node:http');
    const server = createServer(async (req, res) => {
      const file = path.join(
        ROOT,
        'scripts',
        'dashboard',
        path.basename(new URL(req.url, 'http://x').pathname),
      );
      try {
        const body = await readFile(file);
        res.writeHead(200, {
          'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html',
        });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${server.address().port}/render.html`;
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('body[data-ready="yes"]', { timeout: 30_000 }).catch(() => {
      throw new Error(`render.html failed: ${errors.join('; ')}`);
    });
    await mkdir(path.dirname(OUT), { recursive: true });
    await page.screenshot({ path: OUT, fullPage: true });
    server.close();
    process.stderr.write(`\nrender-dashboard: wrote ${OUT}\n`);
    if (process.env.KEEP_SCRAPES)
      await writeFile(process.env.KEEP_SCRAPES, JSON.stringify(scrapes));
  } finally {
    await browser.close();
  }
} finally {
  await cleanup();
}
