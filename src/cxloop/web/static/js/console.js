// Console behaviour: workspace switcher and charts. Data comes from JSON blocks (no inline code).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-autosubmit]")) {
    form.classList.add("js");
    form.querySelector("select").addEventListener("change", () => form.submit());
  }
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
