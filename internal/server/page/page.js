// braid's status page: rebuilds the server-rendered view from /status,
// /status/centralization and /status/disputes every few seconds. view()
// mirrors buildView in page_view.go (same documents, same view); render()
// mirrors page.html's "view" template. Text goes in with textContent only.
(function () {
  'use strict';

  const PAGE_ROWS = 10;

  function fixed(x, d) {
    const p = Math.pow(10, d);
    const v = Math.floor(Math.abs(x) * p + 0.5);
    let s = String(v);
    if (d > 0) {
      while (s.length <= d) s = '0' + s;
      s = s.slice(0, s.length - d) + '.' + s.slice(s.length - d);
    }
    return x < 0 && v !== 0 ? '-' + s : s;
  }
  const percent = (f) => fixed(100 * f, 1) + ' %';
  const pad2 = (v) => (v < 10 ? '0' : '') + v;
  function duration(sec) {
    if (sec < 60) return fixed(sec, 1) + ' s';
    const s = Math.floor(sec);
    if (s < 3600) return Math.floor(s / 60) + ' min ' + pad2(s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + pad2(Math.floor((s % 3600) / 60)) + ' min';
  }
  function plural(n, word) {
    if (n === 1) return '1 ' + word;
    return n + ' ' + word + (word.endsWith('s') ? 'es' : 's');
  }
  function blockNumber(b) {
    if (!b || typeof b.number !== 'string') return '—';
    const n = parseInt(b.number.replace(/^0x/, ''), 16);
    return Number.isFinite(n) ? String(n) : '—';
  }
  const shortHash = (h) => (!h || h.length <= 14 ? h || '' : h.slice(0, 8) + '…' + h.slice(-4));
  function timeText(s) {
    const d = new Date(s);
    return isNaN(d) ? '—' : d.toISOString().slice(0, 19).replace('T', ' ') + 'Z';
  }
  function windowText(w) {
    if (!w) return '—';
    if (w.endsWith('m0s')) w = w.slice(0, -2);
    if (w.endsWith('h0m')) w = w.slice(0, -2);
    return w;
  }
  const okIf = (ok) => (ok ? 'ok' : 'bad');
  function conditionClass(c) {
    if (c === 'healthy') return 'ok';
    if (c === 'degraded' || c === 'lagging' || c === 'throttled') return 'warn';
    return 'bad';
  }
  function anyText(v) {
    if (v === null || v === undefined) return '—';
    if (typeof v === 'string') return v;
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 1e15 ? String(v) : fixed(v, 2);
    if (Array.isArray(v)) return v.map(anyText).join(', ');
    if (typeof v === 'object') return Object.keys(v).sort().map((k) => k + ' ' + anyText(v[k])).join(', ');
    return '—';
  }
  function pick(p, ...keys) {
    for (const k of keys) if (p[k] !== undefined && p[k] !== null) return p[k];
    return null;
  }
  const cell = (t, cls) => ({ t: t, cls: cls || '' });
  const card = (label, value, note, cls) => ({ label: label, value: value, note: note || '', cls: cls || '' });

  function tipCards(n) {
    const tip = n.tip || {};
    const cards = [];
    cards.push(tip.known && tip.latest ? card('Served tip', blockNumber(tip.latest), shortHash(tip.latest.hash))
      : card('Served tip', 'unknown', '', 'warn'));
    cards.push(card('Tip age', duration(n.tip_age_seconds || 0), '', n.stalled ? 'bad' : ''));
    cards.push(card('Highest head', n.highest_head != null ? String(n.highest_head) : '—'));
    cards.push(card('Finalized', blockNumber(tip.finalized), 'safe ' + blockNumber(tip.safe)));
    const c = n.cache;
    if (c) {
      const rate = c.hits + c.misses > 0 ? percent(c.hit_rate) : '—';
      cards.push(card('Cache hit rate', rate, plural(c.hits, 'hit') + ' · ' + plural(c.misses, 'miss')));
    } else {
      cards.push(card('Cache hit rate', 'off'));
    }
    return cards;
  }

  function coefficientCards(c) {
    const a = c.availability || {};
    const req = c.require || {};
    const quorum = a.quorum_reads != null ? String(a.quorum_reads) : 'off';
    const avail = card('Availability', String(a.min || 0),
      'reads ' + (a.reads || 0) + ' · quorum ' + quorum + ' · txs ' + (a.transactions || 0));
    if (req.availability > 0) {
      avail.note += ' · need ' + req.availability;
      avail.cls = okIf((a.min || 0) >= req.availability);
    }
    const integrity = c.integrity || {};
    const integ = card('Integrity', String(integrity.value || 0), 'outside quorum ' + (integrity.reads_outside_quorum || 0));
    if (req.integrity > 0) {
      integ.note += ' · need ' + req.integrity;
      integ.cls = okIf((integrity.value || 0) >= req.integrity);
    }
    const hhi = card('Concentration (HHI)', fixed(c.hhi || 0, 0),
      plural(c.requests || 0, 'read') + ' in ' + windowText(c.window));
    return [avail, integ, hhi];
  }

  function operatorsTable(n, c) {
    const t = { id: 'ops-' + n.name, title: 'Operators',
      cols: ['Operator', 'Usable', 'Share of reads', 'Reads', 'Strikes', 'Quarantined until'],
      rows: [], empty: 'No operators.' };
    for (const op of n.operators || []) {
      let usable = '—', share = '—', reads = '—';
      for (const x of c.operators || []) {
        if (x.name !== op.name) continue;
        if (x.usable != null) usable = x.usable + '/' + (x.upstreams || []).length;
        share = percent(x.share || 0);
        reads = String(x.served || 0);
      }
      const strikes = cell(op.strikes + '/' + op.max_strikes, op.strikes > 0 ? 'warn' : '');
      const quarantined = op.quarantined_until ? cell(timeText(op.quarantined_until), 'bad') : cell('—');
      t.rows.push([cell(op.name), cell(usable), cell(share), cell(reads), strikes, quarantined]);
    }
    return t;
  }

  function upstreamsTable(n) {
    const t = { id: 'ups-' + n.name, title: 'Upstreams',
      cols: ['Upstream', 'Operator', 'Condition', 'Lag', 'Latency', 'Error rate', 'Share of attempts', 'Breaker', 'Endpoint'],
      rows: [], empty: 'No upstreams.' };
    const ups = n.upstreams || [];
    let total = 0;
    for (const u of ups) total += (u.successes || 0) + (u.failures || 0);
    for (const u of ups) {
      const cond = cell(u.condition, conditionClass(u.condition));
      if (u.quarantine) cond.t += ': ' + u.quarantine;
      const lag = u.lag_blocks != null ? cell(plural(u.lag_blocks, 'block'), u.lag_blocks > 0 ? 'warn' : '') : cell('—');
      const share = total > 0 ? percent(((u.successes || 0) + (u.failures || 0)) / total) : '—';
      const errs = cell(percent(u.error_rate || 0), (u.error_rate || 0) >= 0.05 ? 'warn' : '');
      const breaker = cell(u.breaker, u.breaker !== 'closed' ? 'warn' : '');
      t.rows.push([cell(u.name), cell(u.operator), cond, lag, cell(fixed(u.latency_ms || 0, 1) + ' ms'), errs,
        cell(share), breaker, cell(u.url)]);
    }
    return t;
  }

  function disputesTable(network, ds) {
    const t = { id: 'disputes-' + network, title: 'Recent disputes', cols: ['Time', 'Method', 'Block', 'Decision', 'Lost'],
      rows: [], empty: 'No disputes: the operators asked agreed.' };
    for (const d of (ds && ds.disputes) || []) {
      if (d.network !== network || t.rows.length === PAGE_ROWS) continue;
      const decision = cell(d.decision, d.decision === 'dispute' || d.decision === 'error' ? 'bad' : 'warn');
      const lost = d.losers && d.losers.length ? d.losers.join(', ') : '—';
      t.rows.push([cell(timeText(d.time)), cell(d.method), cell(String(d.block)), decision, cell(lost)]);
    }
    return t;
  }

  function liesTable(n) {
    const t = { id: 'lies-' + n.name, title: 'Recent lies (answers that failed verification)',
      cols: ['Time', 'Operator', 'Upstream', 'Method', 'Check'], rows: [], empty: 'No lies caught.' };
    for (const l of n.lies || []) {
      if (t.rows.length === PAGE_ROWS) break;
      t.rows.push([cell(timeText(l.time)), cell(l.operator, 'bad'), cell(l.upstream), cell(l.method), cell(l.reason)]);
    }
    return t;
  }

  function peersTable(id, peers) {
    const t = { id: id, title: 'Peers', cols: ['Peer', 'Addresses', 'Latency', 'Transfers', 'Lies'], rows: [],
      empty: 'No peers connected.' };
    for (const p of peers) {
      let latency = anyText(pick(p, 'latency'));
      if (typeof p.latency_ms === 'number') latency = fixed(p.latency_ms, 1) + ' ms';
      const lieValue = pick(p, 'lies', 'failed_verifications');
      const lies = cell(Array.isArray(lieValue) ? String(lieValue.length) : anyText(lieValue));
      if (lies.t !== '—' && lies.t !== '0') lies.cls = 'bad';
      t.rows.push([cell(anyText(pick(p, 'id', 'peer_id', 'name'))), cell(anyText(pick(p, 'addresses', 'addrs'))),
        cell(latency), cell(anyText(pick(p, 'transfers'))), lies]);
    }
    return t;
  }

  function networkView(n, c, ds) {
    const req = c.require || {};
    const unmet = req.unmet || [];
    const v = { name: n.name, anchor: 'net-' + n.name, chain: 'chain ' + n.chain_id, badges: [], stall: '',
      cards: [], lists: [], tables: [] };
    const tip = n.tip || {};
    if (!tip.known) v.badges.push({ text: 'no tip yet', cls: 'warn' });
    else if (n.stalled) v.badges.push({ text: 'stalled', cls: 'bad' });
    else v.badges.push({ text: 'live', cls: 'ok' });
    if (n.stalled) v.stall = 'The served tip cannot advance: ' + (n.stall_reason || '');
    if (req.availability > 0 || req.integrity > 0) {
      v.badges.push(unmet.length ? { text: 'require unmet', cls: 'bad' } : { text: 'require met', cls: 'ok' });
    }
    if (c.verify) v.badges.push({ text: 'verify ' + c.verify, cls: '' });
    v.cards = tipCards(n).concat(coefficientCards(c));
    if (unmet.length) v.lists.push({ title: 'Requirements not met', cls: 'bad', items: unmet });
    if (c.warnings && c.warnings.length) v.lists.push({ title: 'Warnings', cls: 'warn', items: c.warnings });
    v.tables = [operatorsTable(n, c), upstreamsTable(n), disputesTable(n.name, ds), liesTable(n)];
    if (n.peers != null) v.tables.push(peersTable('peers-' + n.name, n.peers));
    return v;
  }

  // view turns the three documents into what the page shows.
  function view(st, cz, ds) {
    const v = { replica: '', networks: [], peers: null };
    const r = st.replica;
    if (r) v.replica = 'replica ' + r.id + ' · Redis ' + r.redis + ' · ' + plural(r.replicas, 'replica') + ' live';
    for (const n of st.networks || []) {
      let c = {};
      for (const x of (cz && cz.networks) || []) if (x.name === n.name) c = x;
      v.networks.push(networkView(n, c, ds));
    }
    if (st.peers != null) v.peers = peersTable('peers', st.peers);
    return v;
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, val] of Object.entries(attrs || {})) e.setAttribute(k, val);
    for (const k of kids) e.append(k);
    return e;
  }

  function tableBlock(t) {
    const block = el('div', { class: 'block', id: t.id }, el('h3', null, t.title));
    if (!t.rows.length) {
      block.append(el('p', { class: 'empty muted' }, t.empty));
      return block;
    }
    const head = el('tr', null, ...t.cols.map((c) => el('th', null, c)));
    const body = el('tbody', null, ...t.rows.map((row) =>
      el('tr', null, ...row.map((c, i) => el('td', { 'data-label': t.cols[i], class: c.cls }, c.t)))));
    block.append(el('div', { class: 'scroll' }, el('table', null, el('thead', null, head), body)));
    return block;
  }

  function networkSection(n) {
    const h2 = el('h2', null, n.name + ' ', el('small', { class: 'muted' }, n.chain));
    for (const b of n.badges) h2.append(' ', el('span', { class: 'badge ' + b.cls }, b.text));
    const s = el('section', { class: 'net', id: n.anchor }, h2);
    if (n.stall) s.append(el('p', { class: 'alert bad' }, n.stall));
    s.append(el('div', { class: 'cards' }, ...n.cards.map((c) => {
      const d = el('div', { class: 'card ' + c.cls }, el('div', { class: 'label' }, c.label), el('div', { class: 'value' }, c.value));
      if (c.note) d.append(el('div', { class: 'note' }, c.note));
      return d;
    })));
    for (const l of n.lists) {
      s.append(el('div', { class: 'list ' + l.cls }, el('h3', null, l.title), el('ul', null, ...l.items.map((i) => el('li', null, i)))));
    }
    for (const t of n.tables) s.append(tableBlock(t));
    return s;
  }

  // render replaces the page's main content with v.
  function render(v) {
    const kids = [];
    if (v.replica) kids.push(el('p', { class: 'replica muted' }, v.replica));
    if (v.networks.length > 1) kids.push(el('nav', null, ...v.networks.map((n) => el('a', { href: '#' + n.anchor }, n.name))));
    for (const n of v.networks) kids.push(networkSection(n));
    if (v.peers) kids.push(el('section', { class: 'net', id: 'peers' }, tableBlock(v.peers)));
    document.getElementById('main').replaceChildren(...kids);
  }

  async function getJSON(path) {
    const res = await fetch(path, { cache: 'no-store', headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
    return res.json();
  }

  const updated = document.getElementById('updated');
  async function refresh() {
    try {
      const [st, cz, ds] = await Promise.all([getJSON('status'), getJSON('status/centralization'), getJSON('status/disputes')]);
      render(view(st, cz, ds));
      updated.className = 'muted';
      updated.textContent = 'Updated ' + new Date().toLocaleTimeString();
    } catch (e) {
      updated.className = 'bad';
      updated.textContent = 'Refresh failed (' + e.message + '); showing the last figures.';
    }
  }

  window.braidPage = { view: view, render: render, refresh: refresh };
  const every = Number(document.body.dataset.refresh) || 0;
  if (every > 0) setInterval(refresh, every * 1000);
})();
