// The in-browser player: any button with data-play-channel="<id>" opens the
// player dialog (templates/player.html) on that channel. It asks
// /api/channels/{id}/player for the channel's HLS playlist, guide and stream URL,
// fetches the playlist itself first (starting a cold channel takes up to 45 s,
// and a channel a browser cannot decode answers 415 with a message), then plays
// it with hls.js (loaded on first use) or natively (Safari). Every failure ends
// in a plain message and the stream URL to copy for VLC, never a black box.
// Closing the dialog stops the player, so the server drops the HLS viewer.
'use strict';

(function () {
  const { api, el, clear, copy, safeUrl } = window.acx;

  // hls.js, loaded once when the first player opens (390 KB the other pages and
  // most visits never need). A <script src> from 'self' is within the CSP.
  let hlsLoading = null;
  function loadHls(src) {
    if (window.Hls) return Promise.resolve(window.Hls);
    if (!hlsLoading) {
      hlsLoading = new Promise((resolve, reject) => {
        const s = el('script', { src });
        s.addEventListener('load', () => (window.Hls ? resolve(window.Hls) : reject(new Error('hls.js did not load'))));
        s.addEventListener('error', () => { hlsLoading = null; reject(new Error('hls.js could not be loaded')); });
        document.head.append(s);
      });
    }
    return hlsLoading;
  }

  // The server waits for a cold channel up to 45 s before answering; past this
  // the request is given up.
  const START_TIMEOUT_MS = 60000;

  function hhmm(epoch) {
    const d = new Date(Number(epoch) * 1000);
    return isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  class Player {
    constructor(dialog) {
      this.dialog = dialog;
      this.video = dialog.querySelector('[data-player-video]');
      this.q = (sel) => dialog.querySelector(sel);
      this.run = 0; // which opening the callbacks in flight belong to
      this.hls = null;
      this.abort = null;
      this.timers = [];
      this.q('[data-player-copy]').addEventListener('click', () => this.copyUrl());
      this.q('[data-player-url]').addEventListener('focus', (e) => e.target.select());
      dialog.addEventListener('close', () => this.stop());
      this.video.addEventListener('playing', () => this.current(() => this.playing()));
      this.video.addEventListener('waiting', () => this.current(() => this.wait('Buffering…')));
      this.video.addEventListener('error', () => this.current(() => this.videoError()));
    }

    // Runs fn only while the opening that set up the listener is still shown.
    current(fn) {
      if (this.dialog.open && this.active) fn();
    }

    status(text) { this.q('[data-player-status]').textContent = text; }

    wait(text) {
      this.q('[data-player-wait-text]').textContent = text;
      this.q('[data-player-wait]').hidden = false;
    }

    playing() {
      this.q('[data-player-wait]').hidden = true;
      const v = this.video;
      this.status('Playing live' + (v.videoWidth ? ' · ' + v.videoWidth + '×' + v.videoHeight : ''));
      this.dialog.dataset.playerState = 'playing';
    }

    // Shows why the channel does not play; the VLC URL row stays visible.
    fail(title, text, hint) {
      this.teardown();
      this.q('[data-player-wait]').hidden = true;
      this.q('[data-player-error-title]').textContent = title;
      this.q('[data-player-error-text]').textContent = text || '';
      const h = this.q('[data-player-error-hint]');
      h.textContent = hint === undefined
        ? (this.streamUrl ? 'You can still watch it in VLC with the stream URL below.' : '')
        : hint;
      h.hidden = !h.textContent;
      this.q('[data-player-error]').hidden = false;
      this.status('Not playing');
      this.dialog.dataset.playerState = 'error';
    }

    async open(channelId, name) {
      this.stop();
      const run = ++this.run;
      this.active = true;
      this.streamUrl = null;
      this.video.muted = false;
      this.q('[data-player-title]').textContent = name || 'Channel ' + channelId;
      clear(this.q('[data-player-logo]'));
      this.q('[data-player-guide]').hidden = true;
      this.q('[data-player-url-row]').hidden = true;
      this.q('[data-player-error]').hidden = true;
      this.dialog.dataset.playerState = 'loading';
      this.dialog.dataset.channelId = String(channelId);
      this.status('Loading…');
      this.wait('Loading…');
      window.acx.openDialog(this.dialog);

      let info;
      try {
        info = await api('GET', '/api/channels/' + encodeURIComponent(channelId) + '/player');
      } catch (e) {
        if (run === this.run) this.fail('The player is unavailable', e.message, '');
        return;
      }
      if (run !== this.run || !info) return;
      this.show(info);
      if (!info.hls_url) {
        this.fail('This channel has no browser stream', '');
        return;
      }
      await this.start(run, info.hls_url);
    }

    // Name, logo, now/next and the VLC URL.
    show(info) {
      if (info.name) this.q('[data-player-title]').textContent = info.name;
      const logo = info.logo && safeUrl(info.logo);
      if (logo) {
        const img = el('img', { src: logo, alt: '', referrerpolicy: 'no-referrer' });
        img.addEventListener('error', () => img.remove());
        this.q('[data-player-logo]').append(img);
      }
      const prog = (box, p) => {
        box.hidden = !p;
        if (!p) return;
        box.querySelector('[data-prog-title]').textContent = p.title || '';
        box.querySelector('[data-prog-times]').textContent = hhmm(p.start) + '–' + hhmm(p.stop);
        const bar = box.querySelector('[data-prog-progress]');
        if (bar) {
          const span = Number(p.stop) - Number(p.start);
          const done = Date.now() / 1000 - Number(p.start);
          bar.value = span > 0 ? Math.min(1, Math.max(0, done / span)) : 0;
        }
      };
      prog(this.q('[data-player-now]'), info.now);
      prog(this.q('[data-player-next]'), info.next);
      this.q('[data-player-guide]').hidden = !info.now && !info.next;
      this.streamUrl = info.stream_url || null;
      this.q('[data-player-url]').value = this.streamUrl || '';
      this.q('[data-player-url-row]').hidden = !this.streamUrl;
    }

    // Fetches the playlist (which starts the channel), then plays it.
    async start(run, hlsUrl) {
      const started = Date.now();
      const tick = () => {
        const s = Math.round((Date.now() - started) / 1000);
        this.wait(s < 2 ? 'Starting the channel…' : 'Starting the channel… ' + s + ' s (a cold channel can take up to 45 s)');
      };
      tick();
      this.timers.push(setInterval(tick, 1000));
      this.abort = new AbortController();
      const giveUp = setTimeout(() => this.abort && this.abort.abort(), START_TIMEOUT_MS);
      this.timers.push(giveUp);
      let r;
      try {
        r = await fetch(hlsUrl, { credentials: 'same-origin', cache: 'no-store', signal: this.abort.signal });
      } catch (e) {
        if (run !== this.run) return;
        this.fail('The channel did not start', e.name === 'AbortError'
          ? 'No answer within ' + START_TIMEOUT_MS / 1000 + ' s.'
          : 'The server cannot be reached.');
        return;
      } finally {
        this.clearTimers();
      }
      if (run !== this.run) return;
      if (!r.ok) {
        let message = r.status + ' ' + r.statusText;
        try {
          const body = await r.json();
          if (body && body.error && body.error.message) message = body.error.message;
        } catch (e) { /* not JSON: keep the status line */ }
        if (run !== this.run) return;
        if (r.status === 415) this.fail('Your browser cannot play this channel', message);
        else this.fail('The channel did not start', message);
        return;
      }
      this.wait('Buffering…');
      this.status('Connecting…');
      let Hls = null;
      try {
        Hls = await loadHls(this.dialog.dataset.hlsSrc);
      } catch (e) { /* native HLS may still do */ }
      if (run !== this.run) return;
      if (Hls && Hls.isSupported()) this.playWithHls(Hls, hlsUrl);
      else if (this.video.canPlayType('application/vnd.apple.mpegurl')) {
        this.video.src = hlsUrl;
        this.play();
      } else {
        this.fail('This browser cannot play HLS', 'It has neither Media Source Extensions nor native HLS.');
      }
    }

    playWithHls(Hls, url) {
      // No worker: the CSP allows no blob: scripts, and one stream demuxes fine
      // on the page's thread.
      const hls = new Hls({ enableWorker: false, liveDurationInfinity: true });
      this.hls = hls;
      let mediaRecoveries = 0;
      hls.on(Hls.Events.ERROR, (event, data) => {
        if (this.hls !== hls || !data || !data.fatal) return;
        const details = String(data.details || '');
        // hls.js says why in `reason` or its error's message (URLs cut short).
        const why = String(data.reason || (data.error && data.error.message) || '').replace(/https?:\/\/\S+/g, '…').slice(0, 200);
        const said = details + (why ? ': ' + why : '');
        const code = data.response && data.response.code;
        if (/codec|incompatible/i.test(details)) {
          this.fail('Your browser cannot decode this channel',
            "Your browser cannot decode this channel's codecs (" + said + ').');
        } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR && mediaRecoveries < 1) {
          mediaRecoveries++;
          hls.recoverMediaError();
        } else if (data.type === Hls.ErrorTypes.NETWORK_ERROR && /load/i.test(details)) {
          this.fail('The stream stopped', 'The server stopped sending the channel (' + said + (code ? ', HTTP ' + code : '') + ').');
        } else {
          this.fail('Playback failed', 'The player could not follow the stream (' + said + ').');
        }
      });
      hls.on(Hls.Events.MANIFEST_PARSED, () => this.play());
      hls.loadSource(url);
      hls.attachMedia(this.video);
    }

    // Plays with sound when the browser allows it, else muted (autoplay rules).
    play() {
      const p = this.video.play();
      if (!p || !p.catch) return;
      p.catch((e) => {
        if (!this.active || e.name !== 'NotAllowedError') return;
        this.video.muted = true;
        this.video.play().then(() => this.status('Playing muted: unmute with the controls')).catch(() => {});
      });
    }

    videoError() {
      const err = this.video.error;
      if (!err || err.code === 1) return; // aborted: we stopped it
      if (err.code === 3 || err.code === 4) {
        this.fail('Your browser cannot decode this channel',
          "Your browser cannot decode this channel's codecs" + (err.message ? ' (' + err.message + ').' : '.'));
      } else {
        this.fail('The stream stopped', 'The video could not be loaded' + (err.message ? ': ' + err.message : '.'));
      }
    }

    copyUrl() {
      const input = this.q('[data-player-url]');
      if (!input.value) return;
      // Selected as well: a plain-http LAN page may refuse the clipboard, and
      // then the text is ready for Ctrl+C.
      input.focus();
      input.select();
      copy(input.value);
    }

    clearTimers() {
      for (const t of this.timers) { clearInterval(t); clearTimeout(t); }
      this.timers = [];
    }

    // Stops loading and decoding, but leaves the dialog as it is.
    teardown() {
      this.clearTimers();
      if (this.abort) { this.abort.abort(); this.abort = null; }
      if (this.hls) { const h = this.hls; this.hls = null; h.destroy(); }
      this.video.pause();
      this.video.removeAttribute('src');
      this.video.load();
    }

    // The dialog closed (or another channel opens): nothing may keep playing,
    // and every callback still in flight is ignored.
    stop() {
      this.run++;
      this.active = false;
      this.teardown();
      delete this.dialog.dataset.playerState;
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    const dialog = document.querySelector('[data-player-dialog]');
    if (!dialog) return;
    const player = new Player(dialog);
    document.addEventListener('click', (e) => {
      const button = e.target.closest('[data-play-channel]');
      if (!button) return;
      e.preventDefault();
      player.open(button.dataset.playChannel, button.dataset.playName || '');
    });
    window.acx.player = player;
  });
})();
