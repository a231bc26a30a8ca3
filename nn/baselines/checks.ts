/**
 * Small input and hyperparameter checks the baseline models share (ridge, Lasso, KNN, SVR). Each failure is a
 * one-line {@link UserError} that starts with the model's kind and names the row, column or parameter.
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import type { Matrix } from "./regressor.ts";

/** Checks a training set: matching sizes, at least one row and column, finite values. */
export function checkTrainingData(model: string, x: Matrix, y: Float64Array): void {
  if (x.rows !== y.length) throw new UserError(`${model}: ${x.rows} input rows but ${y.length} targets`);
  if (x.rows < 1 || x.cols < 1) throw new UserError(`${model}: needs at least one training row and column`);
  checkFinite(model, x);
  const bad = y.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new UserError(`${model}: target of training row ${bad} is ${y[bad]}`);
}

/** Checks that every input value is finite, naming the first bad row and column. */
export function checkFinite(model: string, x: Matrix): void {
  const bad = x.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new UserError(
      `${model}: input row ${Math.floor(bad / x.cols)}, column ${bad % x.cols} is ${x.data[bad]}`,
    );
  }
}

/** Checks that a hyperparameter is a finite number ≥ `min` (or > `min` when `strict`). */
export function checkNumber(model: string, name: string, v: unknown, min: number, strict = false): number {
  if (typeof v !== "number" || !Number.isFinite(v) || (strict ? v <= min : v < min)) {
    throw new UserError(`${model} ${name}: expected a number ${strict ? ">" : "≥"} ${min}, got ${v}`);
  }
  return v;
}

/** Checks that a hyperparameter is a boolean. */
export function checkBoolean(model: string, name: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new UserError(`${model} ${name}: expected true or false, got ${v}`);
  return v;
}
