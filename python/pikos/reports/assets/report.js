(function () {
  "use strict";
  var MB = 1048576;
  var COLOURS = { rss: "RSS_COLOUR", vms: "VMS_COLOUR" };
  var PAD = { left: 64, right: 18, top: 10, bottom: 42 };
  var data = JSON.parse(document.getElementById("pikos-data").textContent);
  var canvas = document.getElementById("chart");
  var vmsBox = document.getElementById("show-vms");
  var readout = document.getElementById("readout");
  var frame = null;

  function niceStep(span, count) {
    var raw = span / count;
    var magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    var norm = raw / magnitude;
    var nice = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
    return nice * magnitude;
  }

  function ticks(low, high, count, whole) {
    var step = niceStep(high - low, count);
    if (whole) { step = Math.max(1, Math.round(step)); }
    var values = [];
    for (var k = Math.ceil(low / step); k * step <= high + step * 1e-9; k++) {
      values.push(k * step);
    }
    return { step: step, values: values };
  }

  function grouped(value) {
    return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function mib(bytes) { return (bytes / MB).toFixed(2); }

  function shown() {
    var list = [["rss", data.rss]];
    if (vmsBox && vmsBox.checked) { list.unshift(["vms", data.vms]); }
    return list;
  }

  function draw() {
    var series = shown();
    var width = canvas.clientWidth, height = canvas.clientHeight;
    var ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    var ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    var x0 = data.xmin, x1 = data.xmax;
    if (x1 <= x0) { x0 -= 0.5; x1 += 0.5; }
    var low = Infinity, high = -Infinity;
    series.forEach(function (s) {
      s[1].y.forEach(function (v) {
        if (v < low) { low = v; }
        if (v > high) { high = v; }
      });
    });
    low /= MB; high /= MB;
    if (high - low < 1e-3) { low -= 0.5; high += 0.5; }
    var margin = (high - low) * 0.06;
    low = low >= 0 ? Math.max(0, low - margin) : low - margin;
    high += margin;

    var left = PAD.left, right = width - PAD.right;
    var top = PAD.top, bottom = height - PAD.bottom;
    function X(v) {
      return Math.round(left + (v - x0) / (x1 - x0) * (right - left));
    }
    function Y(m) {
      return Math.round(bottom - (m - low) / (high - low) * (bottom - top));
    }

    ctx.font = "12px system-ui, sans-serif";
    ctx.lineWidth = 1;
    var yt = ticks(low, high, 7, false);
    var digits = Math.max(0, Math.min(3, -Math.floor(Math.log10(yt.step) + 1e-9)));
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    yt.values.forEach(function (m) {
      var y = Y(m) + 0.5;
      ctx.strokeStyle = "#e8e8e8";
      ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(right, y); ctx.stroke();
      ctx.fillStyle = "#444";
      ctx.fillText(m.toFixed(digits), left - 6, y);
    });
    var xt = ticks(x0, x1, Math.max(2, Math.floor((right - left) / 110)), true);
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    xt.values.forEach(function (v) {
      var x = X(v) + 0.5;
      ctx.strokeStyle = "#f0f0f0";
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
      ctx.strokeStyle = "#888";
      ctx.beginPath(); ctx.moveTo(x, bottom); ctx.lineTo(x, bottom + 4); ctx.stroke();
      ctx.fillStyle = "#444";
      ctx.fillText(grouped(v), x, bottom + 6);
    });
    ctx.strokeStyle = "#888";
    ctx.strokeRect(left + 0.5, top + 0.5, right - left, bottom - top);
    ctx.fillStyle = "#333";
    ctx.fillText("record index", (left + right) / 2, bottom + 24);
    ctx.save();
    ctx.translate(14, (top + bottom) / 2); ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle";
    ctx.fillText("MiB", 0, 0);
    ctx.restore();

    ctx.save();
    ctx.beginPath(); ctx.rect(left, top, right - left, bottom - top); ctx.clip();
    ctx.lineWidth = 2; ctx.lineJoin = "miter";
    series.forEach(function (s) {
      var xs = s[1].x, ys = s[1].y;
      ctx.strokeStyle = ctx.fillStyle = COLOURS[s[0]];
      if (xs.length === 1) {
        ctx.fillRect(X(xs[0]) - 3, Y(ys[0] / MB) - 3, 6, 6);
        return;
      }
      ctx.beginPath();
      var py = Y(ys[0] / MB);
      ctx.moveTo(X(xs[0]), py);
      for (var i = 1; i < xs.length; i++) {
        var px = X(xs[i]);
        ctx.lineTo(px, py);
        py = Y(ys[i] / MB);
        ctx.lineTo(px, py);
      }
      ctx.stroke();
    });
    ctx.restore();

    frame = { left: left, right: right, x0: x0, x1: x1, series: series };
    var box = canvas.getBoundingClientRect();
    canvas.setAttribute("data-box", [
      Math.round(box.left + window.scrollX), Math.round(box.top + window.scrollY),
      Math.round(box.width), Math.round(box.height)].join(","));
    canvas.setAttribute("data-rendered", "true");
  }

  function valueAt(s, v) {
    var xs = s.x, lo = 0, hi = xs.length - 1;
    if (v < xs[0]) { return null; }
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (xs[mid] <= v) { lo = mid; } else { hi = mid - 1; }
    }
    return s.y[lo];
  }

  canvas.addEventListener("mousemove", function (event) {
    if (!frame) { return; }
    var px = event.clientX - canvas.getBoundingClientRect().left;
    if (px < frame.left || px > frame.right) { readout.textContent = ""; return; }
    var v = Math.round(frame.x0 + (px - frame.left) / (frame.right - frame.left) *
      (frame.x1 - frame.x0));
    var text = "record " + grouped(v);
    frame.series.slice().reverse().forEach(function (s) {
      var y = valueAt(s[1], v);
      if (y !== null) {
        text += " \u00b7 " + s[0].toUpperCase() + " " + mib(y) + " MiB";
      }
    });
    readout.textContent = text + (data.bucket > 1 ? " (bucket extremes)" : "");
  });
  canvas.addEventListener("mouseleave", function () { readout.textContent = ""; });
  if (vmsBox) { vmsBox.addEventListener("change", draw); }
  var pending = false;
  window.addEventListener("resize", function () {
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () { pending = false; draw(); });
  });
  draw();
})();
