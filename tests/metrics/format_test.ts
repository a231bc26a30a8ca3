import { formatMetric, formatMetricsTable } from "../../nn/metrics/format.ts";
import { assertEquals } from "./_helpers.ts";

Deno.test("formatMetric: 4 significant digits, integers as is, null/∞ spelled out", () => {
  assertEquals(
    [51.234, 0.91, 430, 1234567.5, 0.000123, null, undefined, Infinity, -Infinity, -2.5].map(formatMetric),
    ["51.23", "0.9100", "430", "1.235e+6", "1.230e-4", "-", "-", "inf", "-inf", "-2.500"],
  );
});

Deno.test("formatMetricsTable: aligned columns, union of metric names in first-seen order", () => {
  const t = formatMetricsTable([
    { label: "fold 1", metrics: { n: 86, rmse: 51.234, mape: null } },
    { label: "all", metrics: { n: 430, rmse: 48.5, tail: Infinity } },
  ]);
  assertEquals(t.split("\n"), [
    "label     n   rmse  mape  tail",
    "fold 1   86  51.23     -     -",
    "all     430  48.50     -   inf",
  ]);
  assertEquals(formatMetricsTable([{ label: "x", metrics: { a: 1, b: 2 } }], ["b"]), "label  b\nx      2");
});
