// Console behaviour: workspace switcher and charts. Data comes from JSON blocks (no inline code).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-autosubmit]")) {
    form.classList.add("js");
    form.querySelector("select").addEventListener("change", () => form.submit());
  }
  // A segment's condition: its live count as one types (the server reads it).
  const condition = document.querySelector("textarea[data-count-url]");
  const shown = document.getElementById("segment-count");
  if (condition && shown) {
    let timer = null;
    condition.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const url = condition.dataset.countUrl + "?condition=" + encodeURIComponent(condition.value);
        const answer = await fetch(url, { credentials: "same-origin" });
        if (!answer.ok) return;
        const found = await answer.json();
        shown.textContent = found.error || (found.members === null ? "" :
          shown.dataset.template.replace("{n}", found.members.toLocaleString(document.documentElement.lang))
            .replace("{total}", found.customers.toLocaleString(document.documentElement.lang)));
      }, 400);
    });
  }
  // On a phone the main menu scrolls sideways: show where the reader is.
  const current = document.querySelector(".mainnav a[aria-current='page']");
  if (current) current.scrollIntoView({ block: "nearest", inline: "center" });
  const block = document.getElementById("revenue-data");
  if (block && window.Chart) {
    const data = JSON.parse(block.textContent);
    const money = new Intl.NumberFormat(data.locale, {
      style: "currency", currency: data.currency, maximumFractionDigits: 0,
    });
    const canvas = document.getElementById("revenue-chart");
    canvas.chart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: data.revenueLabel, data: data.revenue, backgroundColor: "#3b6fb6", yAxisID: "y" },
          { label: data.ordersLabel, data: data.orders, type: "line", borderColor: "#e0803a",
            backgroundColor: "#e0803a", yAxisID: "y1", tension: 0.25 },
        ],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: {
          y: { ticks: { callback: (v) => money.format(v) } },
          y1: { position: "right", grid: { drawOnChartArea: false } },
        },
        plugins: { tooltip: { callbacks: {
          label: (ctx) => ctx.dataset.yAxisID === "y"
            ? `${ctx.dataset.label}: ${money.format(ctx.parsed.y)}`
            : `${ctx.dataset.label}: ${ctx.parsed.y}`,
        } } },
      },
    });
    document.body.dataset.chartReady = "true";
  }
});

// NPS dashboard: the trend with its 95% interval band, and the 0–10 distribution.
document.addEventListener("DOMContentLoaded", () => {
  const block = document.getElementById("nps-data");
  if (!block || !window.Chart) return;
  const data = JSON.parse(block.textContent);
  const trend = document.getElementById("nps-trend");
  trend.chart = new window.Chart(trend, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [
        { label: data.intervalLabel, data: data.high, borderWidth: 0, pointRadius: 0,
          backgroundColor: "rgba(59,111,182,.15)", fill: "+1" },
        { label: data.intervalLabel, data: data.low, borderWidth: 0, pointRadius: 0, fill: false },
        { label: data.npsLabel, data: data.nps, borderColor: "#3b6fb6", backgroundColor: "#3b6fb6",
          tension: 0.2, pointRadius: data.significant.map((s) => (s ? 6 : 3)),
          pointStyle: data.significant.map((s) => (s ? "rectRot" : "circle")) },
      ],
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      scales: { y: { suggestedMin: -100, suggestedMax: 100 } },
      plugins: { legend: { labels: { filter: (item) => item.datasetIndex !== 1 } } },
    },
  });
  const dist = document.getElementById("nps-distribution");
  dist.chart = new window.Chart(dist, {
    type: "bar",
    data: {
      labels: [...Array(11).keys()],
      datasets: [{ label: data.answersLabel, data: data.distribution,
        backgroundColor: [...Array(11).keys()].map((n) => (n <= 6 ? "#c0392b" : n <= 8 ? "#e0a03a" : "#2e8b57")) }],
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { display: false } } },
  });
  const why = document.getElementById("nps-drivers");
  if (why && data.drivers) {
    why.chart = new window.Chart(why, {
      type: "bar",
      data: {
        labels: data.drivers.labels,
        datasets: [
          { label: data.drivers.impactLabel, data: data.drivers.impact, backgroundColor: "#c0392b" },
          { label: data.drivers.liftLabel, data: data.drivers.lift, backgroundColor: "#2e8b57" },
        ],
      },
      options: { indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { stacked: true }, y: { stacked: true } } },
    });
  }
  document.body.dataset.npsReady = "true";
});

// Segments page: customers per band of 12-month value.
document.addEventListener("DOMContentLoaded", () => {
  const block = document.getElementById("clv-data");
  if (!block || !window.Chart) return;
  const data = JSON.parse(block.textContent);
  const canvas = document.getElementById("clv-chart");
  canvas.chart = new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [{ label: data.countLabel, data: data.counts, backgroundColor: "#3b6fb6" }],
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { display: false } } },
  });
  document.body.dataset.clvReady = "true";
});

// Predictions page: the propensity model's calibration, the purchase model's holdout check.
document.addEventListener("DOMContentLoaded", () => {
  if (!window.Chart) return;
  const shares = new Intl.NumberFormat(document.documentElement.lang, { style: "percent" });
  const percent = (v) => shares.format(v);
  // Two series from a JSON block: [key, label key, colour] each.
  const pair = (blockId, canvasId, type, series, scales) => {
    const block = document.getElementById(blockId);
    if (!block) return;
    const data = JSON.parse(block.textContent);
    const canvas = document.getElementById(canvasId);
    canvas.chart = new window.Chart(canvas, {
      type,
      data: {
        labels: data.labels,
        datasets: series.map(([key, label, colour]) => ({
          label: data[label], data: data[key], borderColor: colour, backgroundColor: colour,
        })),
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false, scales },
    });
  };
  pair("calibration-data", "calibration-chart", "line",
    [["predicted", "predictedLabel", "#3b6fb6"], ["observed", "observedLabel", "#e0803a"]],
    { y: { min: 0, ticks: { callback: percent } } });
  pair("holdout-data", "holdout-chart", "bar",
    [["actual", "actualLabel", "#3b6fb6"], ["predicted", "predictedLabel", "#e0803a"]], {});
  document.body.dataset.modelsReady = "true";
});
