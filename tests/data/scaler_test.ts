import { StandardScaler } from "../../data/scaler.ts";
import { assertEquals, assertNear, assertUserError } from "./_helpers.ts";

Deno.test("scaler: population std, fit on training rows only, transform and inverse", () => {
  // two columns; rows 0..2 train, row 3 is a test outlier that must not affect the fit
  const x = Float64Array.from([1, 10, 2, 10, 3, 10, 100, -50]);
  const s = StandardScaler.fit(x, 2, [0, 1, 2]);
  assertEquals(Array.from(s.mean), [2, 10]);
  assertNear(s.scale[0], Math.sqrt(2 / 3), 1e-15); // ddof 0
  assertEquals(s.scale[1], 1); // constant column
  const z = s.transform(x);
  assertNear(z[0], -1 / Math.sqrt(2 / 3), 1e-12);
  assertEquals(z[1], 0);
  const back = s.inverseTransform(z);
  for (let i = 0; i < x.length; i++) assertNear(back[i], x[i], 1e-12);
  const e = StandardScaler.fit([1, 3], 1, undefined, 1e-8);
  assertNear(e.scale[0], 1 + 1e-8, 1e-15);
});

Deno.test("scaler: JSON round trip and validation", () => {
  const s = StandardScaler.fit([1, 2, 3, 4], 1);
  const again = StandardScaler.fromJSON(JSON.parse(JSON.stringify(s)));
  assertEquals(again.toJSON(), s.toJSON());
  assertEquals(s.toJSON().kind, "standard");
  assertUserError(
    () => StandardScaler.fromJSON({ mean: [1] }, "model.json scaler"),
    "model.json scaler: not a standard scaler",
  );
  assertUserError(
    () => StandardScaler.fromJSON({ kind: "standard", mean: [0], scale: [0] }, "m.json"),
    "m.json: scaler: column 0 has mean 0 and scale 0",
  );
  assertUserError(() => StandardScaler.fit([], 1), "cannot fit on 0 rows");
  assertUserError(() => StandardScaler.fit([1, 2, 3], 2), "3 values do not form rows of 2 column(s)");
  assertUserError(() => StandardScaler.fit([1, Infinity], 1), "row 1, column 0 is not a finite number");
  assertUserError(() => StandardScaler.fit([1, 2], 1, [5]), "row 5 is out of range 0..1");
  const two = StandardScaler.fit([1, 2, 3, 5], 2);
  assertUserError(() => two.transform([1, 2, 3]), "3 values do not form rows of 2 column(s)");
});
