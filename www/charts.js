// The review page's pictures, drawn with Chart.js (bundled locally: vendor/chart.umd.min.js,
// copied from npm's chart.js by scripts/build.sh; it defines the global `Chart`). Every chart is
// fed from the engine's own responses:
//   - confidence histogram per tier:   planRound's `tiers.items` (tier, calibrated confidence)
//   - reliability before / after:      calibrationReport on the verified set, raw and with the
//                                      temperature the policy fitted (`tiers.fitted.temperature`)
//   - estimated errors left per class: planRound's `perClass` (expectedErrors, wrongFound)
//   - rounds' progress:                each plan's `estimate` (expected and certified error
//                                      rate) and its audit's `status` (sampled, wrong)
// Drawn without animation at a fixed size and pixel ratio, so a screenshot is reproducible.

export const TIER_COLORS = {
  autoAccept: "#1a7f37",
  lightReview: "#0969da",
  expertReview: "#bf8700",
  suspectedLabelError: "#cf222e",
  outlier: "#8250df",
  failed: "#6e7781",
};
export const HIST_BINS = 20; // confidence bins of width 0.05 over [0, 1]

/** Counts per tier and confidence bin (items without a confidence, failed ones, are left out). */
export function confidenceHistogram(items, bins = HIST_BINS) {
  const out = {};
  for (const it of items) {
    if (typeof it.confidence !== "number" || !Number.isFinite(it.confidence)) continue;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(it.confidence * bins)));
    (out[it.tier] ??= new Array(bins).fill(0))[b] += 1;
  }
  return out;
}

/** One round's point of the progress chart, from its plan (and the audit records so far). */
export function roundPoint(round, plan) {
  const e = plan.estimate;
  const st = plan.audit?.status;
  return {
    round,
    reviews: e.reviewed,
    estimatedAccuracy: 1 - e.expectedErrorRate,
    auditedAccuracy: st && st.sampled > 0 ? 1 - st.wrong / st.sampled : null,
    audited: st?.sampled ?? 0,
    certifiedAccuracy: typeof e.certifiedErrorRate === "number" ? 1 - e.certifiedErrorRate : null,
    stop: plan.stop,
  };
}

/** The data the charts draw, taken from the engine's responses (see the top of this file). */
export function chartData({ classes, plan, before, after, rounds }) {
  return {
    classes,
    tiers: plan.tiers.items.map((it) => ({ tier: it.tier, confidence: it.confidence ?? null })),
    temperature: plan.tiers.fitted.temperature,
    before: { ece: before.ece, bins: before.bins },
    after: { ece: after.ece, bins: after.bins },
    perClass: plan.perClass.map((c) => ({ class: c.class, expectedErrors: c.expectedErrors, wrongFound: c.wrongFound })),
    rounds,
  };
}

const pct = (v) => `${(100 * v).toFixed(0)}%`;

function base(title) {
  return {
    responsive: false,
    maintainAspectRatio: false,
    animation: false,
    devicePixelRatio: 1,
    plugins: { title: { display: true, text: title }, legend: { position: "bottom", labels: { boxWidth: 12 } } },
    // points at accuracy 1.0 sit on the chart's edge: drawn whole, not cut in half
    datasets: { scatter: { clip: 10 } },
  };
}

/**
 * Draw the four charts into the canvases of `el` (an object with `histogram`, `reliability`,
 * `perClass`, `progress`: canvas elements). Earlier charts on them are destroyed first.
 * Returns the Chart instances.
 */
export function renderCharts(el, data) {
  const Chart = globalThis.Chart;
  if (!Chart) throw new Error("Chart.js is not loaded (vendor/chart.umd.min.js)");
  Chart.defaults.font.family = "sans-serif";
  Chart.defaults.font.size = 11;
  for (const c of Object.values(el)) Chart.getChart(c)?.destroy();
  const charts = {};

  // 1. confidence histogram per tier (stacked: one colour per tier)
  const hist = confidenceHistogram(data.tiers);
  const labels = Array.from({ length: HIST_BINS }, (_, b) => (b / HIST_BINS).toFixed(2));
  charts.histogram = new Chart(el.histogram, {
    type: "bar",
    data: {
      labels,
      datasets: Object.keys(TIER_COLORS)
        .filter((t) => hist[t])
        .map((t) => ({ label: t, data: hist[t], backgroundColor: TIER_COLORS[t], stack: "tiers" })),
    },
    options: {
      ...base("Calibrated confidence per tier"),
      scales: {
        x: { stacked: true, title: { display: true, text: "confidence (bin start)" } },
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "items" } },
      },
    },
  });

  // 2. reliability diagram before and after temperature scaling (non-empty bins)
  const pts = (bins) => bins.filter((b) => b.count > 0 && b.meanConfidence !== null).map((b) => ({ x: b.meanConfidence, y: b.accuracy }));
  charts.reliability = new Chart(el.reliability, {
    type: "scatter",
    data: {
      datasets: [
        { label: "perfect calibration", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, pointRadius: 0, borderColor: "#8c959f", borderDash: [4, 4] },
        { label: `before (T = 1, ECE ${data.before.ece.toFixed(3)})`, data: pts(data.before.bins), showLine: true, borderColor: "#cf222e", backgroundColor: "#cf222e" },
        {
          label: `after (T = ${data.temperature.toFixed(2)}, ECE ${data.after.ece.toFixed(3)})`,
          data: pts(data.after.bins),
          showLine: true,
          borderColor: "#0969da",
          backgroundColor: "#0969da",
          pointStyle: "rect",
        },
      ],
    },
    options: {
      ...base("Reliability on the verified set"),
      scales: {
        x: { min: 0, max: 1, title: { display: true, text: "mean confidence" } },
        y: { min: 0, max: 1, title: { display: true, text: "accuracy" } },
      },
    },
  });

  // 3. estimated wrong labels left per class (and the wrong labels found so far)
  charts.perClass = new Chart(el.perClass, {
    type: "bar",
    data: {
      labels: data.perClass.map((c) => data.classes[c.class] ?? String(c.class)),
      datasets: [
        { label: "estimated errors left", data: data.perClass.map((c) => c.expectedErrors), backgroundColor: "#bf8700" },
        { label: "wrong labels found", data: data.perClass.map((c) => c.wrongFound), backgroundColor: "#8250df" },
      ],
    },
    options: {
      ...base("Wrong labels per class (current label)"),
      scales: { y: { beginAtZero: true, title: { display: true, text: "items" } }, x: { title: { display: true, text: "class" } } },
    },
  });

  // 4. the rounds: estimated, audited and certified accuracy of the pool against reviews
  const r = data.rounds;
  charts.progress = new Chart(el.progress, {
    type: "scatter",
    data: {
      datasets: [
        { label: "estimated accuracy", data: r.map((p) => ({ x: p.reviews, y: p.estimatedAccuracy })), showLine: true, borderColor: "#0969da", backgroundColor: "#0969da" },
        {
          label: "audited accuracy",
          data: r.filter((p) => p.auditedAccuracy !== null).map((p) => ({ x: p.reviews, y: p.auditedAccuracy })),
          borderColor: "#bf8700",
          backgroundColor: "#bf8700",
          pointStyle: "triangle",
          pointRadius: 6,
        },
        {
          label: "certified (at least)",
          data: r.filter((p) => p.certifiedAccuracy !== null).map((p) => ({ x: p.reviews, y: p.certifiedAccuracy })),
          borderColor: "#1a7f37",
          backgroundColor: "#1a7f37",
          pointStyle: "star",
          pointRadius: 9,
        },
      ],
    },
    options: {
      ...base("Rounds: pool accuracy against reviews"),
      scales: {
        x: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "reviews" } },
        y: { suggestedMin: 0.8, max: 1, ticks: { callback: pct }, title: { display: true, text: "accuracy" } },
      },
    },
  });
  return charts;
}

/** What each chart drew (elements with a size), for tests and the page's status. */
export function chartContent(charts) {
  const count = (ch, pred) =>
    ch.data.datasets.map((_, i) => ch.getDatasetMeta(i).data.filter(pred).length);
  const bar = (e) => Math.abs(e.base - e.y) > 1e-6;
  const point = (e) => Number.isFinite(e.x) && Number.isFinite(e.y);
  return {
    histogramBars: count(charts.histogram, bar).reduce((a, b) => a + b, 0),
    reliabilityPoints: count(charts.reliability, point).slice(1),
    perClassBars: count(charts.perClass, bar),
    progressPoints: count(charts.progress, point),
  };
}

// ---- the reviewer team (www/team.js): quality on gold items and the calibration session.
// Fed from the engine's responses:
//   - accuracy per reviewer:         reviewerReport's `overall` (accuracy, Clopper-Pearson
//                                    interval as error bars) and the acceptable level
//                                    `1 - acceptableErrorRate` of the options it was given
//   - accuracy per class:            reviewerReport's `perClass`, `weakClasses` outlined
//   - drift:                         the CUSUM statistic after each of a reviewer's scored
//                                    decisions (`drift.statistic` of reviewerReport on every
//                                    prefix of them), its `threshold`, and `alarmsAt`
//   - deviations per class:          calibrationSession's `deviationsByClass`

export const REVIEWER_COLORS = ["#0969da", "#1a7f37", "#bf8700", "#8250df", "#cf222e", "#1b7c83", "#6e7781", "#bc4c00"];
const WEAK_COLOR = "#cf222e";

/** The data the team charts draw (see above). `paths[r]`: [{ x: decision number, y: statistic }]. */
export function teamChartData({ classes, options, report, paths, session }) {
  return {
    classes,
    acceptable: 1 - options.acceptableErrorRate,
    minClassAccuracy: options.minClassAccuracy,
    reviewers: (report?.reviewers ?? []).map((r, i) => ({
      reviewer: r.reviewer,
      n: r.overall.n,
      accuracy: r.overall.accuracy,
      interval: r.overall.clopperPearson,
      perClass: r.perClass.map((a) => ({ n: a.n, accuracy: a.accuracy })),
      weakClasses: r.weakClasses,
      threshold: r.drift.threshold,
      alarmsAt: r.drift.alarmsAt,
      path: paths[i],
    })),
    session: (session?.reviewers ?? []).map((s) => ({ reviewer: s.reviewer, deviationsByClass: s.deviationsByClass })),
  };
}

// Chart.js has no error bars: whiskers drawn over the bars of a dataset that has `intervals`
// ([lo, hi] per bar, in the value scale); the number drawn is kept for chartContent-style counts.
const errorBars = {
  id: "medtriageErrorBars",
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    let drawn = 0;
    chart.data.datasets.forEach((ds, i) => {
      if (!ds.intervals || !chart.isDatasetVisible(i)) return;
      const y = chart.scales[chart.getDatasetMeta(i).yAxisID];
      chart.getDatasetMeta(i).data.forEach((bar, j) => {
        const iv = ds.intervals[j];
        if (!iv || !Number.isFinite(bar.x)) return;
        const [lo, hi] = iv.map((v) => y.getPixelForValue(v));
        const w = Math.min(10, bar.width / 4);
        ctx.save();
        ctx.strokeStyle = "#1b1f24";
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(bar.x, lo);
        ctx.lineTo(bar.x, hi);
        ctx.moveTo(bar.x - w, lo);
        ctx.lineTo(bar.x + w, lo);
        ctx.moveTo(bar.x - w, hi);
        ctx.lineTo(bar.x + w, hi);
        ctx.stroke();
        ctx.restore();
        drawn += 1;
      });
    });
    chart.$errorBars = drawn;
  },
};

/**
 * Draw the team's four charts into the canvases of `el` (`accuracy`, `perClass`, `drift`,
 * `deviations`); earlier charts on them are destroyed first. Returns the Chart instances.
 */
export function renderTeamCharts(el, data) {
  const Chart = globalThis.Chart;
  if (!Chart) throw new Error("Chart.js is not loaded (vendor/chart.umd.min.js)");
  Chart.defaults.font.family = "sans-serif";
  Chart.defaults.font.size = 11;
  for (const c of Object.values(el)) Chart.getChart(c)?.destroy();
  const rs = data.reviewers;
  const color = (i) => REVIEWER_COLORS[i % REVIEWER_COLORS.length];
  const charts = {};

  // 1. accuracy on gold per reviewer, Clopper-Pearson error bars, the acceptable level across
  // (a line on a hidden 0-1 axis of its own, so it spans the chart whatever the reviewers)
  charts.accuracy = new Chart(el.accuracy, {
    type: "bar",
    data: {
      labels: rs.map((r) => `${r.reviewer} (n=${r.n})`),
      datasets: [
        {
          label: "accuracy on gold, Clopper-Pearson interval",
          data: rs.map((r) => (r.n > 0 ? r.accuracy : null)),
          intervals: rs.map((r) => (r.n > 0 ? r.interval : null)),
          backgroundColor: rs.map((_, i) => color(i)),
        },
        {
          type: "line",
          label: `acceptable (${(100 * data.acceptable).toFixed(0)}%)`,
          data: [{ x: 0, y: data.acceptable }, { x: 1, y: data.acceptable }],
          xAxisID: "level",
          borderColor: WEAK_COLOR,
          backgroundColor: WEAK_COLOR,
          borderDash: [6, 4],
          pointRadius: 0,
        },
      ],
    },
    options: {
      ...base("Reviewer accuracy on gold items"),
      scales: {
        x: { title: { display: true, text: "reviewer (scored decisions)" } },
        level: { type: "linear", display: false, min: 0, max: 1 },
        y: { beginAtZero: false, suggestedMin: 0.5, max: 1, ticks: { callback: pct }, title: { display: true, text: "accuracy" } },
      },
    },
    plugins: [errorBars],
  });

  // 2. accuracy per true class, one bar per reviewer; a class the reviewer is weak on outlined
  charts.perClass = new Chart(el.perClass, {
    type: "bar",
    data: {
      labels: data.classes,
      datasets: rs.map((r, i) => {
        const weak = new Set(r.weakClasses);
        return {
          label: r.reviewer,
          data: r.perClass.map((a) => (a.n > 0 ? a.accuracy : null)),
          backgroundColor: color(i),
          borderColor: r.perClass.map((_, c) => (weak.has(c) ? WEAK_COLOR : color(i))),
          borderWidth: r.perClass.map((_, c) => (weak.has(c) ? 2 : 0)),
        };
      }),
    },
    options: {
      ...base(`Accuracy per class on gold (outlined: weak, lower bound < ${(100 * data.minClassAccuracy).toFixed(0)}%)`),
      scales: {
        x: { title: { display: true, text: "true class" } },
        y: { beginAtZero: false, suggestedMin: 0.5, max: 1, ticks: { callback: pct }, title: { display: true, text: "accuracy" } },
      },
    },
  });

  // 3. the drift alarm: each reviewer's CUSUM statistic over their scored decisions, the
  // threshold, and a marker where the alarm fired (the statistic restarts from 0 there)
  const threshold = rs[0]?.threshold ?? 0;
  const last = Math.max(1, ...rs.map((r) => r.path.at(-1)?.x ?? 0));
  charts.drift = new Chart(el.drift, {
    type: "scatter",
    data: {
      datasets: [
        ...rs.map((r, i) => ({ label: r.reviewer, data: r.path, showLine: true, pointRadius: 0, borderWidth: 1.5, borderColor: color(i), backgroundColor: color(i) })),
        { label: "threshold", data: [{ x: 0, y: threshold }, { x: last, y: threshold }], showLine: true, pointRadius: 0, borderColor: "#57606a", borderDash: [6, 4] },
        {
          label: "alarm",
          data: rs.flatMap((r) => r.alarmsAt.map((a) => ({ x: a + 1, y: threshold }))),
          pointStyle: "triangle",
          pointRadius: 7,
          borderColor: WEAK_COLOR,
          backgroundColor: WEAK_COLOR,
        },
      ],
    },
    options: {
      ...base("Drift alarm: CUSUM of each reviewer's errors on gold"),
      scales: {
        x: { min: 0, max: last, ticks: { precision: 0 }, title: { display: true, text: "the reviewer's scored decision" } },
        y: { beginAtZero: true, suggestedMax: threshold * 1.1, title: { display: true, text: "CUSUM statistic" } },
      },
    },
  });

  // 4. the calibration session: each reviewer's deviations from the others, by their consensus class
  charts.deviations = new Chart(el.deviations, {
    type: "bar",
    data: {
      labels: data.classes,
      datasets: data.session.map((s, i) => ({ label: s.reviewer, data: s.deviationsByClass, backgroundColor: color(i) })),
    },
    options: {
      ...base("Calibration session: deviations from the others' consensus"),
      scales: {
        x: { title: { display: true, text: "the others' consensus class" } },
        y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "deviations" } },
      },
    },
  });
  return charts;
}

/** What each team chart drew (elements with a size; per dataset where there are several). */
export function teamChartContent(charts) {
  const count = (ch, pred) => ch.data.datasets.map((_, i) => ch.getDatasetMeta(i).data.filter(pred).length);
  const bar = (e) => Math.abs(e.base - e.y) > 1e-6;
  const point = (e) => Number.isFinite(e.x) && Number.isFinite(e.y);
  const drift = charts.drift;
  return {
    accuracyBars: count(charts.accuracy, bar)[0],
    errorBars: charts.accuracy.$errorBars ?? 0,
    acceptable: charts.accuracy.getDatasetMeta(1).data.map((e) => charts.accuracy.scales.y.getValueForPixel(e.y)),
    perClassBars: count(charts.perClass, bar),
    driftPoints: count(drift, point),
    // where the statistics, the threshold and the alarms were drawn, read back from the drawn
    // elements' pixels into data units
    driftPaths: drift.data.datasets.map((_, i) => drift.getDatasetMeta(i).data.map((e) => [drift.scales.x.getValueForPixel(e.x), drift.scales.y.getValueForPixel(e.y)])),
    deviationBars: count(charts.deviations, bar),
  };
}
