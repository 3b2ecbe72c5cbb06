// charts.html: draws the data handed to window.drawCharts(data) (see charts.html).
import { renderCharts, chartContent } from "./charts.js";
const $ = (id) => document.getElementById(id);
window.drawCharts = (data) =>
  chartContent(renderCharts({ histogram: $("chart-histogram"), reliability: $("chart-reliability"), perClass: $("chart-perclass"), progress: $("chart-progress") }, data));
window.__chartsReady = true;
