#!/usr/bin/env bash
# The dashboard in a real browser: starts acestream-sim and acextream on free
# loopback ports with a temporary database, imports a playlist of the simulator's
# demo channels, keeps one viewer streaming, then drives Debian's headless
# Chromium with playwright-core (from npm; it uses /usr/bin/chromium, it never
# downloads a browser) to sign in through the form, visit every page, add a
# channel, add a user, stop a stream, and play channels in the dashboard's
# player: an H.264 one must play for 10 s (the video's currentTime advances, no
# error shown, the live page counts its HLS viewer, closing stops all requests)
# and an MPEG-2 one must show its message and the VLC URL. Those two are the
# simulator's catalogue channels with "video": "h264" and "mpeg2". Screenshots
# of every page and of the player at 1366×900 and 390×844 go to
# target/screenshots/. Exits non-zero when any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}
shots=$root/target/screenshots
nodedir=$root/target/browser-test

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium fonts-dejavu-core)
command -v curl >/dev/null || need_apt+=(curl)
command -v node >/dev/null || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing ${need_apt[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}") >/dev/null
fi
if [ ! -d "$nodedir/node_modules/playwright-core" ]; then
    mkdir -p "$nodedir"
    (cd "$nodedir" && npm install --silent --no-audit --no-fund --no-save playwright-core@1 >/dev/null)
fi

cargo build --quiet --bin acextream -p acextream
cargo build --quiet --bin acestream-sim -p acestream-sim

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ENGINE_PORT=$(free_port); PUBLIC_PORT=$(free_port); MUX_PORT=$(free_port)
SIM=http://127.0.0.1:$ENGINE_PORT
BASE=http://127.0.0.1:$PUBLIC_PORT
curl() { command curl --noproxy '*' "$@"; }

"$target/debug/acestream-sim" --port "$ENGINE_PORT" > "$work/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do curl -sf "$SIM/sim/catalogue" >/dev/null && break; sleep 0.2; done

export ACEXTREAM_CONFIG=
export ACEXTREAM_ADMIN__PASSWORD=browser-admin-pw
export ACEXTREAM_SERVER__BIND=127.0.0.1:$PUBLIC_PORT
export ACEXTREAM_MUX__BIND=127.0.0.1:$MUX_PORT
export ACEXTREAM_ENGINE__URL=$SIM
export ACEXTREAM_DATABASE__PATH=$work/acextream.db

# A playlist of the simulator's demo channels, imported through the CLI.
cat > "$work/m3u.py" <<'PY'
import json, sys
print("#EXTM3U")
for i, c in enumerate(json.load(sys.stdin)):
    group = "Sports" if "Sport" in c["name"] else "Entertainment"
    print('#EXTINF:-1 tvg-id="demo%d.sim" group-title="%s",%s' % (i, group, c["name"]))
    print("acestream://" + c["content_id"])
PY
curl -s "$SIM/sim/catalogue" > "$work/catalogue.json"
python3 "$work/m3u.py" < "$work/catalogue.json" > "$work/demo.m3u"
# The player's channels: the first of each video codec (empty when none).
by_video() {
    python3 -c 'import json, sys
print(next((c["name"] for c in json.load(sys.stdin) if str(c.get("video", "")).lower() == sys.argv[1]), ""))' "$1" < "$work/catalogue.json"
}
H264_NAME=$(by_video h264)
MPEG2_NAME=$(by_video mpeg2)
echo "player channels: h264 '${H264_NAME}', mpeg2 '${MPEG2_NAME}'"
"$target/debug/acextream" channel import "$work/demo.m3u"
# A guide for them: "<name> live" on the air for the next 40 min, then "<name>
# later" (the channel list's "On now" and the player's now/next).
cat > "$work/xmltv.py" <<'PY'
import json, sys, time
from xml.sax.saxutils import escape, quoteattr
now = int(time.time())
fmt = lambda t: time.strftime("%Y%m%d%H%M%S +0000", time.gmtime(t))
print('<?xml version="1.0" encoding="UTF-8"?>\n<tv>')
channels = json.load(sys.stdin)
for i, c in enumerate(channels):
    print('<channel id="demo%d.sim"><display-name>%s</display-name></channel>' % (i, escape(c["name"])))
for i, c in enumerate(channels):
    for start, stop, what in ((now - 1200, now + 2400, "live"), (now + 2400, now + 6000, "later")):
        print('<programme channel="demo%d.sim" start=%s stop=%s><title>%s</title></programme>'
              % (i, quoteattr(fmt(start)), quoteattr(fmt(stop)), escape(c["name"] + " " + what)))
print("</tv>")
PY
python3 "$work/xmltv.py" < "$work/catalogue.json" > "$work/guide.xml"
"$target/debug/acextream" epg import "$work/guide.xml" >/dev/null
"$target/debug/acextream" user add viewer --password viewer-pw-1 --max-connections 2 >/dev/null
FIRST_ID=$(sed -n 's|^acestream://||p' "$work/demo.m3u" | head -n1)

"$target/debug/acextream" serve > "$work/acextream.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    curl -s "$BASE/health" 2>/dev/null | grep -q '"engine":{"ok":true' && break
    sleep 0.2
done

# A viewer watching the first channel, so the live page has something to show.
curl -s -A "VLC/3.0.20 LibVLC/3.0.20" -o /dev/null --max-time 600 \
    "$BASE/ace/getstream?id=$FIRST_ID&username=viewer&password=viewer-pw-1" &
pids+=($!)

rm -rf "$shots"
mkdir -p "$shots"
cat > "$work/drive.mjs" <<'JS'
import { createRequire } from 'node:module';
const require = createRequire(process.env.NODE_DIR + '/');
const { chromium } = require('playwright-core');

const base = process.env.BASE;
const shots = process.env.SHOTS;
const pages = [
  ['overview', '/dashboard/'], ['live', '/dashboard/live'], ['channels', '/dashboard/channels'],
  ['categories', '/dashboard/categories'], ['users', '/dashboard/users'], ['sources', '/dashboard/sources'],
  ['settings', '/dashboard/settings'], ['logs', '/dashboard/logs'],
];
const failures = [];
let current = null; // the page a failing step is shown from
const step = async (name, fn) => {
  try { await fn(); console.log('ok   ' + name); }
  catch (e) {
    failures.push(name);
    console.log('FAIL ' + name + ': ' + String(e.message || e).split('\n')[0]);
    if (current) await current.screenshot({ path: `${shots}/FAILED-${name.replace(/\W+/g, '-')}.png` }).catch(() => {});
  }
};

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function session(label, options) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  current = page;
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('dialog', (d) => d.accept());

  await step(label + ': sign in through the form', async () => {
    await page.goto(base + '/dashboard/channels');
    if (!page.url().includes('/dashboard/login')) throw new Error('not sent to the login page: ' + page.url());
    await page.screenshot({ path: `${shots}/login-${label}.png` });
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 'wrong-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('.alert-error');
    await page.fill('input[name=password]', process.env.ADMIN_PASSWORD);
    await Promise.all([page.waitForURL('**/dashboard/channels'), page.click('button[type=submit]')]);
  });

  for (const [name, path] of pages) {
    await step(`${label}: ${name} page`, async () => {
      const r = await page.goto(base + path);
      if (r.status() !== 200) throw new Error('status ' + r.status());
      if (name === 'live') await page.waitForSelector('.stream-card', { timeout: 20000 });
      else await page.waitForTimeout(1200); // let the page's first fetches land
      if (label === 'phone') {
        await page.click('[data-nav-toggle]');
        await page.screenshot({ path: `${shots}/${name}-${label}-menu.png` });
        await page.click('[data-nav-toggle]');
      }
      await page.screenshot({ path: `${shots}/${name}-${label}.png`, fullPage: true });
    });
  }
  const csp = problems.filter((p) => /Content Security Policy|Refused to/.test(p));
  await step(`${label}: no script errors or CSP violations`, async () => {
    const real = problems.filter((p) => !/Failed to load resource/.test(p));
    if (csp.length || real.length) throw new Error([...csp, ...real].join(' | '));
  });
  return { context, page };
}

const desk = await session('desktop', { viewport: { width: 1366, height: 900 } });
const page = desk.page;

await step('add a channel', async () => {
  await page.goto(base + '/dashboard/channels');
  await page.click('[data-add-channel]');
  await page.fill('[data-channel-form] input[name=name]', 'Browser Test Channel');
  await page.fill('[data-channel-form] input[name=stream]', 'acestream://' + 'c0ffee'.padEnd(40, '0'));
  await page.fill('[data-channel-form] input[name=category]', 'Sports');
  await page.fill('[data-channel-form] input[name=logo]', 'https://example.invalid/logo.png');
  await Promise.all([page.waitForEvent('load'), page.click('[data-channel-form] button[type=submit]')]);
  await page.waitForSelector('tr[data-channel][data-name="Browser Test Channel"]');
  await page.screenshot({ path: `${shots}/channels-after-add-desktop.png`, fullPage: true });
});

await step('edit a channel', async () => {
  await page.click('tr[data-channel][data-name="Browser Test Channel"] [data-edit]');
  await page.fill('[data-channel-form] input[name=name]', 'Browser Test Channel HD');
  await Promise.all([page.waitForEvent('load'), page.click('[data-channel-form] button[type=submit]')]);
  await page.waitForSelector('tr[data-channel][data-name="Browser Test Channel HD"]');
});

await step('search channels', async () => {
  await page.fill('input[name=search]', 'Demo');
  await Promise.all([page.waitForURL('**search=Demo**'), page.press('input[name=search]', 'Enter')]);
  const n = await page.locator('tr[data-channel]').count();
  if (n < 1) throw new Error('no channel found');
});

await step('add a user', async () => {
  await page.goto(base + '/dashboard/users');
  await page.click('[data-add-user]');
  await page.fill('[data-user-form] input[name=username]', 'kitchen-tv');
  await page.fill('[data-user-form] input[name=password]', 'kitchen-pw-123');
  await page.fill('[data-user-form] input[name=notes]', 'Added by the browser test');
  await page.click('[data-user-form] button[type=submit]');
  await page.waitForSelector('[data-creds-dialog][open]', { timeout: 10000 });
  await page.screenshot({ path: `${shots}/users-created-desktop.png` });
  await Promise.all([page.waitForEvent('load'), page.click('[data-close-reload]')]);
  await page.waitForSelector('tr[data-user][data-username="kitchen-tv"]');
  await page.click('tr[data-user][data-username="kitchen-tv"] [data-details]');
  await page.screenshot({ path: `${shots}/users-details-desktop.png`, fullPage: true });
});

await step('stop a stream', async () => {
  await page.goto(base + '/dashboard/live');
  await page.waitForSelector('.stream-card', { timeout: 20000 });
  await page.click('.stream-card [data-stop]');
  await page.waitForSelector('[data-no-streams]:not([hidden])', { timeout: 15000 });
  await page.screenshot({ path: `${shots}/live-after-stop-desktop.png`, fullPage: true });
});

// The player. A channel is found on the channels page by its name, played from
// its row's Play button, and waited for until it plays or shows a message (the
// server starts a cold channel within 45 s).
const players = { h264: process.env.H264_NAME, mpeg2: process.env.MPEG2_NAME };
const playerCsp = [];
async function openPlayer(p, name) {
  await p.goto(base + '/dashboard/channels');
  const id = await p.evaluate((n) => {
    const row = [...document.querySelectorAll('tr[data-channel]')].find((r) => r.dataset.name === n);
    return row ? row.dataset.id : null;
  }, name);
  if (!id) throw new Error('no channel named "' + name + '" on the channels page');
  await p.click(`tr[data-channel][data-id="${id}"] .btn-play`);
  await p.waitForSelector('[data-player-dialog][open]');
  await p.waitForFunction(() => ['playing', 'error'].includes(
    document.querySelector('[data-player-dialog]').dataset.playerState), null, { timeout: 75000 });
  return id;
}
const playerError = (p) => p.evaluate(() => {
  const d = document.querySelector('[data-player-dialog]');
  if (d.querySelector('[data-player-error]').hidden) return null;
  return d.querySelector('[data-player-error-title]').textContent + ': ' + d.querySelector('[data-player-error-text]').textContent;
});
// A failed step must not leave the modal dialog over the page for the next one.
const closePlayer = async (p) => {
  if (await p.isVisible('[data-player-dialog][open]')) await p.click('[data-player-dialog] [data-close]');
};
const video = (p) => p.evaluate(() => {
  const v = document.querySelector('[data-player-video]');
  return { t: v.currentTime, w: v.videoWidth, h: v.videoHeight, src: v.getAttribute('src'), hls: !!(window.acx.player && window.acx.player.hls) };
});
page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) playerCsp.push(m.text()); });

await step('the channel list shows what is on now', async () => {
  await page.goto(base + '/dashboard/channels');
  await page.waitForFunction(() => [...document.querySelectorAll('tr[data-channel] [data-now] .now-title')]
    .some((n) => n.textContent === n.closest('tr').dataset.name + ' live'), null, { timeout: 10000 });
});

await step('player plays an H.264 channel for 10 s', async () => {
  if (!players.h264) throw new Error('the simulator\'s catalogue has no channel with "video": "h264"');
  await openPlayer(page, players.h264);
  const guide = await page.evaluate(() => [...document.querySelectorAll('[data-player-dialog] [data-prog-title]')].map((n) => n.textContent));
  if (guide[0] !== players.h264 + ' live' || guide[1] !== players.h264 + ' later') throw new Error('now/next not shown: ' + JSON.stringify(guide));
  const times = [];
  for (let s = 0; s <= 10; s++) {
    const err = await playerError(page);
    if (err) throw new Error(`after ${s} s the player shows "${err}"`);
    times.push((await video(page)).t);
    if (s < 10) await page.waitForTimeout(1000);
  }
  const v = await video(page);
  console.log(`     currentTime each second: ${times.map((t) => t.toFixed(1)).join(' ')}; picture ${v.w}x${v.h}`);
  // Still advancing in the second half: playing, not stalled after one segment.
  if (!(times[5] > times[0] && times[10] > times[5])) throw new Error('currentTime did not advance: ' + times.join(', '));
  if (!(v.w > 0 && v.h > 0)) throw new Error('no decoded picture (videoWidth 0)');
  await page.screenshot({ path: `${shots}/player-h264-desktop.png` });
});
if (await page.isVisible('[data-player-error]:not([hidden])')) await closePlayer(page);

await step('the live page counts the HLS viewer', async () => {
  const live = await desk.context.newPage();
  try {
    await live.goto(base + '/dashboard/live');
    await live.waitForSelector('.stream-card [data-hls-viewers]:not([data-hls-viewers="0"])', { timeout: 20000 });
    await live.waitForSelector('.stream-card tr[data-via=hls]');
    await live.screenshot({ path: `${shots}/live-hls-viewer-desktop.png`, fullPage: true });
  } finally { await live.close(); }
});

await step('closing the player stops it', async () => {
  const after = [];
  const seen = (r) => { if (r.url().includes('/hls/')) after.push(r.url()); };
  if (!(await page.isVisible('[data-player-dialog][open]'))) throw new Error('no player open (it did not play)');
  await page.click('[data-player-dialog] [data-close]');
  await page.waitForSelector('[data-player-dialog]:not([open])', { state: 'attached' });
  page.on('request', seen);
  await page.waitForTimeout(8000); // longer than a playlist reload or a segment
  page.off('request', seen);
  const v = await video(page);
  if (v.src || v.hls) throw new Error('the player still holds the stream: ' + JSON.stringify(v));
  if (after.length) throw new Error(after.length + ' HLS request(s) after closing, e.g. ' + after[0]);
});

await step('player explains an MPEG-2 channel', async () => {
  if (!players.mpeg2) throw new Error('the simulator\'s catalogue has no channel with "video": "mpeg2"');
  await openPlayer(page, players.mpeg2);
  const err = await playerError(page);
  if (!err) throw new Error('the MPEG-2 channel shows no message');
  console.log('     message: ' + err);
  if (!/mpeg-?2|codec|decode|H\.264/i.test(err)) throw new Error('the message does not say why: ' + err);
  const url = await page.inputValue('[data-player-url]');
  if (!/\/ace\/getstream\?id=[0-9a-f]{40}/.test(url)) throw new Error('no stream URL for VLC: "' + url + '"');
  if (!(await page.isVisible('[data-player-copy]'))) throw new Error('no Copy stream URL button');
  await page.screenshot({ path: `${shots}/player-mpeg2-desktop.png` });
});
await closePlayer(page);

await step('player: no CSP violations', async () => {
  if (playerCsp.length) throw new Error(playerCsp.join(' | '));
});

await step('sign out', async () => {
  await Promise.all([page.waitForURL('**/dashboard/login'), page.click('.logout button')]);
  await page.goto(base + '/dashboard/');
  if (!page.url().includes('/dashboard/login')) throw new Error('still signed in');
});
await desk.context.close();

// The phone pass: a new viewer (read here) so the live page has a stream again.
const viewer = new AbortController();
(async () => {
  try {
    const r = await fetch(process.env.VIEW_URL, { headers: { 'User-Agent': 'Kodi/20.2 (Linux; Android 12)' }, signal: viewer.signal });
    const reader = r.body.getReader();
    while (!(await reader.read()).done) { /* discard */ }
  } catch (e) { /* aborted at the end */ }
})();
const phone = await session('phone', { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
viewer.abort();
await step('phone: player', async () => {
  if (!players.h264) throw new Error('no H.264 channel in the catalogue');
  await openPlayer(phone.page, players.h264);
  const err = await playerError(phone.page);
  if (err) throw new Error('the player shows "' + err + '"');
  await phone.page.waitForTimeout(2000);
  await phone.page.screenshot({ path: `${shots}/player-h264-phone.png` });
});
await closePlayer(phone.page);

await browser.close();
if (failures.length) {
  console.log(`${failures.length} step(s) failed: ${failures.join(', ')}`);
  process.exit(1);
}
console.log('all browser steps passed');
JS

status=0
H264_NAME=$H264_NAME MPEG2_NAME=$MPEG2_NAME \
VIEW_URL="$BASE/ace/getstream?id=$FIRST_ID&username=viewer&password=viewer-pw-1" \
NODE_DIR=$nodedir/node_modules BASE=$BASE SHOTS=$shots ADMIN_PASSWORD=$ACEXTREAM_ADMIN__PASSWORD \
    node "$work/drive.mjs" || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- acextream log (last 40 lines)"; tail -n 40 "$work/acextream.log"
fi
echo "screenshots in $shots"
exit "$status"
