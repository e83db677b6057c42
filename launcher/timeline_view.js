// raympi timeline page: reads the embedded Chrome trace (#trace) and draws it
// as SVG: a row per (pid, tid), a bar per "X" event, an arrow per "s"/"f" pair.
// Inlined into the page by launcher/CMakeLists.txt; no network, no libraries.
// When done it sets data-bars, data-flows, data-rows, data-errors and
// data-ready="1" on <body> (tests/timeline/view_test.sh reads them).
(function () {
  'use strict';
  var errors = 0;
  function reportError(message) {
    errors += 1;
    document.body.setAttribute('data-errors', String(errors));
    var banner = document.getElementById('banner');
    banner.hidden = false;
    banner.textContent = 'The timeline page hit ' + errors + ' error' + (errors === 1 ? '' : 's') +
        '; the view may be incomplete. Last: ' + message;
  }
  window.onerror = function (message, source, line) {
    reportError(String(message) + (line ? ' (line ' + line + ')' : ''));
    return false;
  };
  window.addEventListener('unhandledrejection', function (e) { reportError(String(e.reason)); });

  var LANE_H = 18, ROW_PAD = 3, PROC_H = 22, MAX_LANES = 12, TRANSPORT_TID = 999999;
  var GREYS = { transfer: '#8d939b', spill: '#a9aeb6', restore: '#c5c9cf' };
  var FUNCTION_CATS = { task: 'task', actor_create: 'actor creation', actor_call: 'actor call' };
  var $ = function (id) { return document.getElementById(id); };

  // ---- helpers --------------------------------------------------------------
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function cmpId(a, b) {
    if (isNum(a) && isNum(b)) return a - b;
    if (isNum(a) !== isNum(b)) return isNum(a) ? -1 : 1;
    return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  }
  function hash(s) {  // FNV-1a, 32 bits
    var h = 0x811c9dc5;
    for (var i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
    return h >>> 0;
  }
  var colourCache = {};
  function nameColour(name) {
    if (!(name in colourCache)) {
      var h = hash(name);
      colourCache[name] = 'hsl(' + (h % 360) + ',' + (52 + (h >>> 9) % 22) + '%,' + (60 + (h >>> 17) % 12) + '%)';
    }
    return colourCache[name];
  }
  function barColour(b) {
    if (GREYS[b.cat]) return GREYS[b.cat];
    if (b.tid === TRANSPORT_TID) return '#9ba1a9';
    return nameColour(b.name);
  }
  function fmtDur(us) {
    var a = Math.abs(us);
    if (a === 0) return '0';
    if (a < 1) return (us * 1000).toFixed(a < 0.01 ? 2 : 0) + ' ns';
    if (a < 1000) return +us.toFixed(a < 10 ? 2 : 1) + ' \u00b5s';
    if (a < 1e6) return +(us / 1000).toFixed(a < 1e4 ? 3 : 2) + ' ms';
    return +(us / 1e6).toFixed(a < 1e7 ? 3 : 2) + ' s';
  }
  function fmtBytes(n) {
    if (!isNum(n)) return String(n);
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0, v = n;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : 1)) + ' ' + units[i];
  }
  function fmtTick(rel, step) {  // an axis label: the unit follows the tick step
    var unit = step >= 1e5 ? ['s', 1e6] : step >= 100 ? ['ms', 1e3] : ['\u00b5s', 1];
    var digits = Math.max(0, Math.min(6, Math.ceil(-Math.log10(step / unit[1]) - 1e-9)));
    return (rel / unit[1]).toFixed(digits) + ' ' + unit[0];
  }
  function niceStep(raw) {
    var p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function truncate(s, chars) { return s.length <= chars ? s : s.slice(0, Math.max(1, chars - 1)) + '\u2026'; }

  // ---- the model: processes, rows, bars, flows ------------------------------
  function buildModel(trace) {
    var events = Array.isArray(trace) ? trace : (trace && Array.isArray(trace.traceEvents) ? trace.traceEvents : []);
    var procMeta = {}, threadMeta = {}, procs = {}, bars = [], flowEnds = {};
    function pm(pid) { var k = String(pid); return procMeta[k] || (procMeta[k] = {}); }
    function tm(pid, tid) { var k = pid + '/' + tid; return threadMeta[k] || (threadMeta[k] = {}); }
    events.forEach(function (ev) {
      if (!ev || typeof ev !== 'object' || ev.ph !== 'M') return;
      var a = ev.args || {}, pid = 'pid' in ev ? ev.pid : 0, tid = 'tid' in ev ? ev.tid : 0;
      if (ev.name === 'process_name' && a.name != null) pm(pid).name = String(a.name);
      else if (ev.name === 'process_sort_index' && isNum(a.sort_index)) pm(pid).sort = a.sort_index;
      else if (ev.name === 'thread_name' && a.name != null) tm(pid, tid).name = String(a.name);
      else if (ev.name === 'thread_sort_index' && isNum(a.sort_index)) tm(pid, tid).sort = a.sort_index;
    });
    function row(pid, tid) {
      var pk = String(pid), p = procs[pk];
      if (!p) {
        var m = procMeta[pk] || {};
        p = procs[pk] = { pid: pid, name: m.name || ('process ' + pid), sort: isNum(m.sort) ? m.sort : (isNum(pid) ? pid : 0), rows: {} };
      }
      var tk = String(tid), r = p.rows[tk];
      if (!r) {
        var t = threadMeta[pk + '/' + tk] || {};
        r = p.rows[tk] = { pid: pid, tid: tid, proc: p, name: t.name || ('thread ' + tid),
                           sort: isNum(t.sort) ? t.sort : (isNum(tid) ? tid : 0), bars: [], lanes: 1 };
      }
      return r;
    }
    var tMin = Infinity, tMax = -Infinity;
    events.forEach(function (ev, i) {
      if (!ev || typeof ev !== 'object' || !isNum(ev.ts)) return;
      var pid = 'pid' in ev ? ev.pid : 0, tid = 'tid' in ev ? ev.tid : 0;
      if (ev.ph === 'X') {
        var dur = isNum(ev.dur) && ev.dur > 0 ? ev.dur : 0;
        var b = { index: i, name: ev.name == null ? '(unnamed)' : String(ev.name), cat: ev.cat == null ? '' : String(ev.cat),
                  pid: pid, tid: tid, ts: ev.ts, dur: dur,
                  args: ev.args && typeof ev.args === 'object' ? ev.args : {}, lane: 0 };
        b.row = row(pid, tid);
        b.row.bars.push(b);
        b.colour = barColour(b);
        b.failed = b.args.error != null && b.args.error !== '';
        bars.push(b);
        tMin = Math.min(tMin, ev.ts); tMax = Math.max(tMax, ev.ts + dur);
      } else if ((ev.ph === 's' || ev.ph === 'f') && ev.id != null) {
        var key = (ev.cat == null ? '' : String(ev.cat)) + '\u001f' + String(ev.id);
        var ends = flowEnds[key] || (flowEnds[key] = { s: [], f: [] });
        ends[ev.ph].push({ ts: ev.ts, row: row(pid, tid) });
        tMin = Math.min(tMin, ev.ts); tMax = Math.max(tMax, ev.ts);
      }
    });
    var flows = [];
    Object.keys(flowEnds).forEach(function (key) {  // the i-th start (by time) with the i-th finish
      var e = flowEnds[key], byTs = function (a, b) { return a.ts - b.ts; };
      e.s.sort(byTs); e.f.sort(byTs);
      for (var i = 0; i < Math.min(e.s.length, e.f.length); i++) flows.push({ from: e.s[i], to: e.f[i] });
    });
    // Overlapping bars on one row (a task that ran another inline) stack in lanes.
    var procList = Object.keys(procs).map(function (k) { return procs[k]; });
    procList.sort(function (a, b) { return (a.sort - b.sort) || cmpId(a.pid, b.pid); });
    var rows = [];
    procList.forEach(function (p) {
      p.rowList = Object.keys(p.rows).map(function (k) { return p.rows[k]; });
      p.rowList.sort(function (a, b) { return (a.sort - b.sort) || cmpId(a.tid, b.tid); });
      p.rowList.forEach(function (r) {
        r.bars.sort(function (a, b) { return (a.ts - b.ts) || (b.dur - a.dur); });
        var stack = [];
        r.bars.forEach(function (b) {
          while (stack.length && stack[stack.length - 1] <= b.ts) stack.pop();
          b.lane = Math.min(stack.length, MAX_LANES - 1);
          r.lanes = Math.max(r.lanes, b.lane + 1);
          stack.push(b.ts + b.dur);
        });
        rows.push(r);
      });
    });
    if (!isFinite(tMin)) { tMin = 0; tMax = 1; }
    if (tMax <= tMin) tMax = tMin + 1;
    var y = 0;
    procList.forEach(function (p) {
      p.y = y; y += PROC_H;
      p.rowList.forEach(function (r) { r.y = y; r.h = r.lanes * LANE_H + 2 * ROW_PAD; y += r.h; });
    });
    return { bars: bars, flows: flows, procs: procList, rows: rows, tMin: tMin, tMax: tMax, height: y,
             other: (!Array.isArray(trace) && trace && trace.otherData) || {} };
  }

  // ---- drawing ----------------------------------------------------------------
  var model, view, plotW = 800;
  function fullView() {
    var pad = (model.tMax - model.tMin) * 0.01;
    return { t0: model.tMin - pad, t1: model.tMax + pad };
  }
  function setView(t0, t1) {
    var full = fullView(), fullSpan = full.t1 - full.t0;
    var span = Math.min(Math.max(t1 - t0, Math.max(0.01, fullSpan * 1e-9)), fullSpan);
    if (t0 < full.t0) t0 = full.t0;
    if (t0 + span > full.t1) t0 = full.t1 - span;
    view = { t0: t0, t1: t0 + span };
    scheduleRender();
  }
  function xOf(t) { return (t - view.t0) / (view.t1 - view.t0) * plotW; }
  function tOf(x) { return view.t0 + x / plotW * (view.t1 - view.t0); }
  function ticks() {
    var step = niceStep((view.t1 - view.t0) / Math.max(2, plotW / 110)), out = [];
    var first = Math.ceil((view.t0 - model.tMin) / step) * step;
    for (var rel = first; model.tMin + rel <= view.t1 && out.length < 200; rel += step) out.push({ rel: rel, x: xOf(model.tMin + rel) });
    return { step: step, list: out };
  }
  function laneY(r, lane) { return r.y + ROW_PAD + lane * LANE_H; }

  function drawLabels() {
    var w = $('labels').getBoundingClientRect().width || 220, chars = Math.floor((w - 20) / 6.6), s = [];
    model.procs.forEach(function (p) {
      s.push('<rect class="procband" x="0" y="' + p.y + '" width="' + w + '" height="' + PROC_H + '"></rect>',
             '<text class="proc" x="8" y="' + (p.y + 15) + '">' + esc(truncate(p.name, chars)) + '<title>' + esc(p.name + ' (pid ' + p.pid + ')') + '</title></text>');
      p.rowList.forEach(function (r) {
        s.push('<text x="18" y="' + (r.y + ROW_PAD + LANE_H / 2 + 4) + '">' + esc(truncate(r.name, chars - 2)) +
               '<title>' + esc(r.name + ' (tid ' + r.tid + ', ' + r.bars.length + ' bars)') + '</title></text>');
      });
    });
    $('labels').setAttribute('height', model.height);
    $('labels').innerHTML = s.join('');
  }

  function render() {
    var plot = $('plot');
    plotW = Math.max(100, plot.getBoundingClientRect().width || 800);
    var s = ['<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
             '<path class="arrowhead" d="M0,0 L10,5 L0,10 z"></path></marker></defs>'];
    var tk = ticks();
    model.procs.forEach(function (p) {
      s.push('<rect class="procband" x="0" y="' + p.y + '" width="' + plotW + '" height="' + PROC_H + '"></rect>');
      p.rowList.forEach(function (r) {
        s.push('<line class="rowline" x1="0" x2="' + plotW + '" y1="' + (r.y + r.h - 0.5) + '" y2="' + (r.y + r.h - 0.5) + '"></line>');
      });
    });
    tk.list.forEach(function (t) {
      s.push('<line class="grid" x1="' + t.x.toFixed(1) + '" x2="' + t.x.toFixed(1) + '" y1="0" y2="' + model.height + '"></line>');
    });
    var drawn = 0, labels = [];
    for (var i = 0; i < model.bars.length; i++) {
      var b = model.bars[i];
      if (b.ts > view.t1 || b.ts + b.dur < view.t0) continue;
      var x0 = xOf(b.ts), x1 = xOf(b.ts + b.dur);
      var x = Math.max(-2, x0), w = Math.max(1, Math.min(plotW + 2, x1) - x), y = laneY(b.row, b.lane);
      s.push('<rect class="bar" x="' + x.toFixed(2) + '" y="' + (y + 1) + '" width="' + w.toFixed(2) + '" height="' + (LANE_H - 2) +
             '" fill="' + b.colour + '" data-i="' + i + '" data-name="' + esc(b.name) + '" data-pid="' + esc(b.pid) +
             '" data-tid="' + esc(b.tid) + (b.failed ? '" data-err="1' : '') + '"></rect>');
      drawn++;
      if (w > 40) labels.push('<text class="blabel" x="' + (Math.max(x, 0) + 4).toFixed(1) + '" y="' + (y + LANE_H / 2 + 4) + '">' +
                              esc(truncate(b.name, Math.floor((w - 8) / 6.4))) + '</text>');
    }
    s.push(labels.join(''));
    var flows = 0, showFlows = $('showflows').checked;
    model.flows.forEach(function (f) {
      if (!showFlows) return;
      var xa = xOf(f.from.ts), xb = xOf(f.to.ts);
      if (Math.max(xa, xb) < 0 || Math.min(xa, xb) > plotW) return;
      var ya = laneY(f.from.row, 0) + LANE_H / 2, yb = laneY(f.to.row, 0) + LANE_H / 2, d;
      if (Math.abs(ya - yb) < 1) {  // same row: an arc above it
        var top = ya - LANE_H * 0.9;
        d = 'M' + xa.toFixed(1) + ',' + ya + ' C' + xa.toFixed(1) + ',' + top + ' ' + xb.toFixed(1) + ',' + top + ' ' + xb.toFixed(1) + ',' + yb;
      } else {
        var dx = Math.max(12, Math.abs(xb - xa) / 2);
        d = 'M' + xa.toFixed(1) + ',' + ya + ' C' + (xa + dx).toFixed(1) + ',' + ya + ' ' + (xb - dx).toFixed(1) + ',' + yb + ' ' + xb.toFixed(1) + ',' + yb;
      }
      s.push('<path class="flow" d="' + d + '" marker-end="url(#arrow)"></path>');
      flows++;
    });
    plot.setAttribute('height', Math.max(model.height, 1));
    plot.setAttribute('class', flows > 300 ? 'plot dense' : 'plot');
    plot.innerHTML = s.join('');
    drawAxis(tk);
    $('range').textContent = fmtTick(view.t0 - model.tMin, (view.t1 - view.t0) / 50) + ' \u2013 ' +
        fmtTick(view.t1 - model.tMin, (view.t1 - view.t0) / 50) + '  (' + fmtDur(view.t1 - view.t0) + ' shown, ' + drawn + ' bars)';
    return { bars: drawn, flows: flows };
  }
  function drawAxis(tk) {
    var s = [];
    tk.list.forEach(function (t) {
      var label = fmtTick(t.rel, tk.step);
      s.push('<line x1="' + t.x.toFixed(1) + '" x2="' + t.x.toFixed(1) + '" y1="20" y2="28"></line>');
      if (t.x + 3 + label.length * 6.2 < plotW) s.push('<text x="' + (t.x + 3).toFixed(1) + '" y="16">' + esc(label) + '</text>');
    });
    $('axis').innerHTML = s.join('');
  }
  var pending = false;
  function scheduleRender() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(flush);
  }
  function flush() {  // the pending render, now (also for the self-test)
    if (!pending) return;
    pending = false;
    try {
      var drawn = render();
      document.body.setAttribute('data-visible-bars', String(drawn.bars));
      rememberView();
    } catch (e) { reportError(e && e.message ? e.message : String(e)); }
  }
  // The shown range lives in the address (#zoom=START_MS,END_MS since the first
  // event), so a reload or a shared link shows the same range.
  function rememberView() {
    var f = fullView(), hash = '';
    if (Math.abs(view.t0 - f.t0) > 1e-9 || Math.abs(view.t1 - f.t1) > 1e-9)
      hash = '#zoom=' + +((view.t0 - model.tMin) / 1000).toFixed(6) + ',' + +((view.t1 - model.tMin) / 1000).toFixed(6);
    try { if (location.hash !== hash && !/selftest/.test(location.hash)) history.replaceState(null, '', hash || location.pathname + location.search); } catch (e) { /* file: URLs may refuse */ }
  }
  function viewFromHash() {
    var m = /zoom=(-?[\d.e+-]+),(-?[\d.e+-]+)/.exec(location.hash);
    if (m && isFinite(+m[1]) && isFinite(+m[2]) && +m[2] > +m[1]) setView(model.tMin + m[1] * 1000, model.tMin + m[2] * 1000);
  }

  // A check of the interactions, run when the address ends in #selftest (the
  // tests do, in headless Chromium): drag, wheel, reset, tooltip. The verdict
  // goes to <body data-selftest>: "ok" or what failed.
  function selfTest() {
    var plot = $('plot'), r = plot.getBoundingClientRect(), y = r.top + 30, problems = [];
    var bars = function () { return plot.querySelectorAll('rect.bar').length; }, full = bars(), span0 = view.t1 - view.t0;
    var mouse = function (target, type, x) {
      target.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, clientX: x, clientY: y, button: 0 }));
    };
    mouse(plot, 'mousedown', r.left + r.width * 0.25);
    mouse(document, 'mousemove', r.left + r.width * 0.5);
    mouse(document, 'mouseup', r.left + r.width * 0.5);
    flush();
    var span1 = view.t1 - view.t0;
    if (Math.abs(span1 / span0 - 0.25) > 0.01) problems.push('drag: span ' + span1 + ' after ' + span0);
    if (bars() > full) problems.push('drag: more bars than at full zoom');
    plot.dispatchEvent(new WheelEvent('wheel', { bubbles: true, cancelable: true, deltaY: -300, clientX: r.left + r.width / 2, clientY: y }));
    flush();
    if (!(view.t1 - view.t0 < span1 * 0.9)) problems.push('wheel: did not zoom in');
    $('reset').click();
    flush();
    if (bars() !== full || Math.abs(view.t1 - view.t0 - span0) > span0 * 1e-9) problems.push('reset: not back to the full view');
    var first = plot.querySelector('rect.bar');
    if (first) {
      first.dispatchEvent(new MouseEvent('mouseover', { bubbles: true, clientX: r.left + 10, clientY: y }));
      var tip = $('tooltip');
      if (tip.hidden || tip.textContent.indexOf(model.bars[+first.getAttribute('data-i')].name) < 0) problems.push('tooltip: not shown');
      first.dispatchEvent(new MouseEvent('mouseout', { bubbles: true }));
    }
    document.body.setAttribute('data-selftest', problems.length ? 'fail: ' + problems.join('; ') : 'ok');
  }

  // ---- tooltip ------------------------------------------------------------------
  function argValue(key, v) {
    if (isNum(v) && /_us$/.test(key)) return esc(fmtDur(v)) + ' <span style="color:#5b6573">(' + v + ')</span>';
    if (isNum(v) && /bytes$/.test(key)) return esc(fmtBytes(v)) + (v >= 1024 ? ' <span style="color:#5b6573">(' + v + ')</span>' : '');
    if (key === 'fetched' && Array.isArray(v)) {
      return v.map(function (f) {
        return f && typeof f === 'object' ? esc(fmtBytes(f.bytes) + ' from ' + f.from) : esc(JSON.stringify(f));
      }).join(', ') || 'nothing';
    }
    var text = typeof v === 'string' ? v : JSON.stringify(v);
    return esc(truncate(String(text), 400));
  }
  function showTooltip(b, e) {
    var rel = b.ts - model.tMin, rows = [
      ['cat', esc(b.cat || '(none)')],
      ['row', esc(b.row.proc.name + ' / ' + b.row.name)],
      ['start', esc('+' + fmtDur(rel)) + ' <span style="color:#5b6573">(ts ' + b.ts + ')</span>'],
      ['duration', esc(fmtDur(b.dur))]];
    Object.keys(b.args).forEach(function (k) {
      rows.push([esc(k), (k === 'error' ? '<span class="err">' : '<span>') + argValue(k, b.args[k]) + '</span>']);
    });
    var tip = $('tooltip');
    tip.innerHTML = '<div class="tname">' + esc(b.name) + '</div><table>' + rows.map(function (r) {
      return '<tr><td>' + r[0] + '</td><td>' + r[1] + '</td></tr>';
    }).join('') + '</table>';
    tip.hidden = false;
    moveTooltip(e);
  }
  function moveTooltip(e) {
    var tip = $('tooltip'), w = tip.offsetWidth, h = tip.offsetHeight;
    var x = e.clientX + 14, y = e.clientY + 14;
    if (x + w > window.innerWidth - 4) x = Math.max(4, e.clientX - w - 14);
    if (y + h > window.innerHeight - 4) y = Math.max(4, e.clientY - h - 14);
    tip.style.left = x + 'px'; tip.style.top = y + 'px';
  }

  // ---- zoom: drag a range, wheel, buttons, keys -----------------------------
  var drag = null;
  function plotX(e) { var r = $('plot').getBoundingClientRect(); return Math.min(Math.max(e.clientX - r.left, 0), r.width); }
  function startDrag(e) {
    if (e.button !== 0) return;
    drag = { x0: plotX(e), x1: plotX(e) };
    $('tooltip').hidden = true;
    e.preventDefault();
  }
  function moveDrag(e) {
    if (!drag) return;
    drag.x1 = plotX(e);
    var sel = $('selection'), offset = $('plot').getBoundingClientRect().left - $('panel').getBoundingClientRect().left;
    sel.style.left = (offset + Math.min(drag.x0, drag.x1)) + 'px';
    sel.style.width = Math.abs(drag.x1 - drag.x0) + 'px';
    sel.hidden = Math.abs(drag.x1 - drag.x0) < 4;
  }
  function endDrag() {
    if (!drag) return;
    var d = drag; drag = null;
    $('selection').hidden = true;
    if (Math.abs(d.x1 - d.x0) >= 4) setView(tOf(Math.min(d.x0, d.x1)), tOf(Math.max(d.x0, d.x1)));
  }
  function zoomAround(t, factor) { setView(t - (t - view.t0) * factor, t + (view.t1 - t) * factor); }
  function pan(fraction) { var span = view.t1 - view.t0; setView(view.t0 + span * fraction, view.t1 + span * fraction); }
  function onWheel(e) {
    var unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1, dx = e.deltaX * unit, dy = e.deltaY * unit;
    if (e.shiftKey) { $('scroller').scrollTop += dy || dx; e.preventDefault(); return; }
    e.preventDefault();
    if (Math.abs(dx) > Math.abs(dy)) pan(dx / plotW);
    else zoomAround(tOf(plotX(e)), Math.exp(Math.max(-300, Math.min(300, dy)) * 0.002));
  }
  function wire() {
    var plot = $('plot'), axis = $('axis');
    [plot, axis].forEach(function (el) {
      el.addEventListener('mousedown', startDrag);
      el.addEventListener('wheel', onWheel, { passive: false });
    });
    document.addEventListener('mousemove', moveDrag);
    document.addEventListener('mouseup', endDrag);
    plot.addEventListener('mouseover', function (e) {
      var t = e.target;
      if (drag || !t.classList || !t.classList.contains('bar')) return;
      var b = model.bars[+t.getAttribute('data-i')];
      if (b) showTooltip(b, e);
    });
    plot.addEventListener('mousemove', function (e) { if (!$('tooltip').hidden) moveTooltip(e); });
    plot.addEventListener('mouseout', function (e) {
      if (e.target.classList && e.target.classList.contains('bar')) $('tooltip').hidden = true;
    });
    $('showflows').addEventListener('change', scheduleRender);
    $('reset').addEventListener('click', function () { var f = fullView(); setView(f.t0, f.t1); });
    $('zoomout').addEventListener('click', function () { zoomAround((view.t0 + view.t1) / 2, 2); });
    $('zoomin').addEventListener('click', function () { zoomAround((view.t0 + view.t1) / 2, 0.5); });
    document.addEventListener('keydown', function (e) {
      if (e.target && /INPUT|TEXTAREA/.test(e.target.tagName)) return;
      if (e.key === '0' || e.key === 'Escape') { var f = fullView(); setView(f.t0, f.t1); }
      else if (e.key === '-') zoomAround((view.t0 + view.t1) / 2, 2);
      else if (e.key === '+' || e.key === '=') zoomAround((view.t0 + view.t1) / 2, 0.5);
      else if (e.key === 'ArrowLeft') pan(-0.2);
      else if (e.key === 'ArrowRight') pan(0.2);
    });
    var resizeTimer = 0;
    window.addEventListener('resize', function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(scheduleRender, 100); });
  }

  // ---- header, legend, function table ---------------------------------------
  function drawHeader(meta) {
    var count = function (cat) { return model.bars.filter(function (b) { return b.cat === cat; }).length; };
    var failed = model.bars.filter(function (b) { return b.failed; }).length;
    var parts = [['job span', fmtDur(model.tMax - model.tMin)], ['tasks', count('task')]];
    if (count('actor_create')) parts.push(['actors', count('actor_create')]);
    if (count('actor_call')) parts.push(['actor calls', count('actor_call')]);
    if (count('transfer')) parts.push(['transfers', count('transfer')]);
    if (count('spill') + count('restore')) parts.push(['spills/restores', count('spill') + count('restore')]);
    parts.push(['nodes', model.procs.length], ['rows', model.rows.length], ['dependencies', model.flows.length]);
    if (failed) parts.push(['failed', failed]);
    var other = model.other;
    if (isNum(other.clock_error_us)) parts.push(['clock error', '\u00b1' + fmtDur(other.clock_error_us)]);
    if (other.job != null) parts.push(['job', String(other.job)]);
    $('stats').innerHTML = parts.map(function (p) { return '<span>' + esc(p[0]) + ' <b>' + esc(p[1]) + '</b></span>'; }).join('');
    if (meta && meta.path) $('file').setAttribute('title', meta.path);
    $('corner').textContent = 'time since the first event';
  }
  function drawLegend() {
    var counts = {}, greys = {};
    model.bars.forEach(function (b) {
      if (GREYS[b.cat] || b.tid === TRANSPORT_TID) greys[b.cat || 'other'] = b.colour;
      else counts[b.name] = (counts[b.name] || 0) + 1;
    });
    var names = Object.keys(counts).sort(function (a, b) { return counts[b] - counts[a] || (a < b ? -1 : 1); });
    var shown = names.slice(0, 30), s = shown.map(function (n) {
      return '<span class="item"><span class="swatch" style="background:' + nameColour(n) + '"></span>' + esc(n) + ' (' + counts[n] + ')</span>';
    });
    if (names.length > shown.length) s.push('<span class="item more" title="' + esc(names.slice(30).join(', ')) + '">+' + (names.length - 30) + ' more</span>');
    Object.keys(greys).forEach(function (c) {
      s.push('<span class="item"><span class="swatch" style="background:' + greys[c] + '"></span>' + esc(c) + '</span>');
    });
    if (model.flows.length) s.push('<span class="item"><svg width="22" height="10"><path d="M1,5 L15,5" stroke="#5a4fcf" stroke-width="1.5"></path><path d="M14,1 L21,5 L14,9 z" fill="#5a4fcf"></path></svg>dependency</span>');
    $('legend').innerHTML = s.join('');
  }
  var tableSort = { key: 'total', asc: false };
  function drawTable() {
    var groups = {};
    model.bars.forEach(function (b) {
      if (!FUNCTION_CATS[b.cat]) return;
      var k = b.cat + '\u001f' + b.name;
      var g = groups[k] || (groups[k] = { name: b.name, kind: FUNCTION_CATS[b.cat], count: 0, total: 0, max: 0, failed: 0 });
      g.count++; g.total += b.dur; g.max = Math.max(g.max, b.dur); if (b.failed) g.failed++;
    });
    var list = Object.keys(groups).map(function (k) { var g = groups[k]; g.mean = g.total / g.count; return g; });
    var table = $('functions');
    if (!list.length) { table.innerHTML = '<tr><td class="empty">No tasks or actor calls in this trace.</td></tr>'; return; }
    var cols = [['name', 'function'], ['kind', 'kind'], ['count', 'count'], ['total', 'total'], ['mean', 'mean'], ['max', 'max'], ['failed', 'failed']];
    var k = tableSort.key, dir = tableSort.asc ? 1 : -1;
    list.sort(function (a, b) { return (a[k] < b[k] ? -1 : a[k] > b[k] ? 1 : 0) * dir || (a.name < b.name ? -1 : 1); });
    var head = '<thead><tr>' + cols.map(function (c) {
      return '<th data-key="' + c[0] + '" class="' + (c[0] === k ? 'sorted' + (tableSort.asc ? ' asc' : '') : '') + '">' + c[1] + '</th>';
    }).join('') + '</tr></thead>';
    var body = list.map(function (g) {
      return '<tr><td><span class="swatch" style="background:' + nameColour(g.name) + '"></span>' + esc(g.name) + '</td><td>' + esc(g.kind) +
             '</td><td>' + g.count + '</td><td>' + esc(fmtDur(g.total)) + '</td><td>' + esc(fmtDur(g.mean)) + '</td><td>' +
             esc(fmtDur(g.max)) + '</td><td>' + (g.failed || '') + '</td></tr>';
    }).join('');
    table.innerHTML = head + '<tbody>' + body + '</tbody>';
    Array.prototype.forEach.call(table.querySelectorAll('th'), function (th) {
      th.addEventListener('click', function () {
        var key = th.getAttribute('data-key');
        tableSort = { key: key, asc: key === tableSort.key ? !tableSort.asc : (key === 'name' || key === 'kind') };
        drawTable();
      });
    });
  }

  // ---- start ------------------------------------------------------------------
  var body = document.body, counts = { bars: 0, flows: 0 };
  try {
    var trace = JSON.parse($('trace').textContent);
    var meta = {};
    try { meta = JSON.parse($('meta').textContent); } catch (e) { meta = {}; }
    model = buildModel(trace);
    var f = fullView();
    view = { t0: f.t0, t1: f.t1 };
    drawHeader(meta);
    drawLegend();
    drawLabels();
    if (!model.bars.length && !model.flows.length) {
      $('scroller').innerHTML = '<div class="empty">This trace has no events to draw (no "X", "s" or "f" events).</div>';
    } else {
      counts = render();  // the full view first: data-bars counts every bar
      body.setAttribute('data-visible-bars', String(counts.bars));
      wire();
      viewFromHash();
      flush();
      if (/selftest/.test(location.hash)) selfTest();
    }
    drawTable();
  } catch (e) {
    reportError(e && e.message ? e.message : String(e));
  } finally {
    body.setAttribute('data-bars', String(counts.bars));
    body.setAttribute('data-flows', String(counts.flows));
    body.setAttribute('data-rows', String(model ? model.rows.length : 0));
    body.setAttribute('data-errors', String(errors));
    body.setAttribute('data-ready', '1');
  }
})();
