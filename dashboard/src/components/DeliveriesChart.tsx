// The stacked bar chart of deliveries by outcome (Chart.js, only the parts a bar chart needs). Its
// own chunk: loaded when an endpoint is opened, not with the dashboard.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from "chart.js";
import { useEffect, useRef } from "react";
import { type Buckets, type Outcome, OUTCOME_LABELS, OUTCOMES } from "../chart-data";
import { formatBucketStart } from "../format";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

/** Colours with at least 3:1 contrast against white (WCAG 1.4.11); the legend names each. */
export const OUTCOME_COLOURS: Record<Outcome, string> = {
  succeeded: "#1a7f37",
  pending: "#9a6700",
  failed: "#cf222e",
  exhausted: "#6e2a8c",
};

export default function DeliveriesChart({ buckets, label }: { buckets: Buckets; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, {
      type: "bar",
      data: {
        labels: buckets.starts.map(formatBucketStart),
        datasets: OUTCOMES.map((outcome) => ({
          label: OUTCOME_LABELS[outcome],
          data: buckets.counts[outcome],
          backgroundColor: OUTCOME_COLOURS[outcome],
        })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 6 } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
    return () => chart.destroy();
  }, [buckets]);
  return (
    <div className="cjh-chart">
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}
