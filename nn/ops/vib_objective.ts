/**
 * The VIBANN training objective as one differentiable op: per-row stats (loss, weighted MSE, weighted
 * reconstruction KL, latent KL) from one forward kernel, gradients for the prediction, the reconstruction and the
 * latent KL from two (see kernels/vib_objective.ts).
 * @module
 */
import type { VibObjectiveInputs } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { record } from "../autodiff.ts";
import { sameShape, ShapeError, shapeStr } from "../shape.ts";
import { check } from "./_check.ts";

/**
 * Stats [..., 4] per row: (mse + ρ·recon + κ·kl, mse, recon, kl) with mse = w·Σ(pred − target)² and recon =
 * w·KL(comp ‖ recon) (both clipped to [1e-7, 1], as the `kl_categorical` loss). κ is per row or per leading entry.
 * A weighted row sum of column 0 is the step's loss; the other columns are its logged parts.
 * @example
 * ```ts
 * const stats = vibObjective({ pred, target, weight, recon, comp, kl, kappa }, 0.5); // [B, 4]
 * ```
 */
export function vibObjective(a: VibObjectiveInputs, reconWeight: number): Tensor {
  const be = check("vibObjective", [a.pred, a.target, a.weight, a.recon, a.comp, a.kl, a.kappa]);
  const lead = a.pred.shape.slice(0, -1);
  const bad = (what: string, t: Tensor, want: readonly number[]) =>
    new ShapeError(`vibObjective: ${what} ${shapeStr(t.shape)} should be ${shapeStr(want)}`);
  if (a.pred.rank < 1 || !sameShape(a.target.shape, a.pred.shape)) {
    throw bad("target", a.target, a.pred.shape);
  }
  if (!sameShape(a.weight.shape, lead)) throw bad("weight", a.weight, lead);
  if (!sameShape(a.kl.shape, lead)) throw bad("kl", a.kl, lead);
  if (a.recon.rank !== a.pred.rank || !sameShape(a.recon.shape.slice(0, -1), lead)) {
    throw bad("recon", a.recon, [...lead, a.recon.shape[a.recon.rank - 1] ?? 0]);
  }
  if (!sameShape(a.comp.shape, a.recon.shape)) throw bad("comp", a.comp, a.recon.shape);
  const rows = a.weight.size, b = lead[lead.length - 1] ?? 1;
  if (a.kappa.size !== rows && a.kappa.size * b !== rows) {
    throw new ShapeError(
      `vibObjective: kappa ${shapeStr(a.kappa.shape)} needs one value per row (${rows}) or per ${b} rows`,
    );
  }
  const stats = be.vibObjective(a, reconWeight);
  return record(stats, "vib_objective", [a.pred, a.recon, a.kl], (g) => {
    const { dpred, drecon, dkl } = be.vibObjectiveGrad(a, reconWeight, g);
    const ifWanted = (t: Tensor, wanted: boolean) => wanted ? t : (t.dispose(), null);
    return [
      ifWanted(dpred, a.pred.requiresGrad),
      ifWanted(drecon, a.recon.requiresGrad),
      ifWanted(dkl, a.kl.requiresGrad),
    ];
  });
}
