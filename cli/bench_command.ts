/**
 * `alloy bench`: kernel and training benchmarks. With `--json`, exactly one JSON object on stdout (progress on
 * stderr): `{"adapter":{…},"results":[…]}`.
 * @module
 */
import type { Command } from "./args.ts";
import { openDevice } from "./device_flags.ts";
import { UserError } from "./errors.ts";
import { WebGpuBackend } from "../nn/webgpu_backend.ts";
import { benchKernels, type BenchResult } from "../bench/kernels.ts";
import { benchTrain } from "../bench/train.ts";
import { benchDesign } from "../bench/design.ts";
import { benchMd } from "../bench/md.ts";

/** The `bench` subcommand. */
export const benchCommand: Command = {
  name: "bench",
  summary: "benchmark the kernels, a training epoch and the design sampler (JSON with --json)",
  usage: "[--json] [--quick] [--suite kernels|train|design|md|hea|all]",
  flags: {
    json: { type: "boolean", help: "print exactly one JSON object on stdout" },
    quick: { type: "boolean", help: "a short run (≤ 2 min on a software adapter)" },
    suite: {
      type: "string",
      value: "kernels|train|design|md|hea|all",
      default: "all",
      help: "which suite to run (hea: HEA screening throughput; not part of all)",
    },
  },
  async run(flags) {
    const suite = flags.suite as string;
    if (suite === "hea") return await (await import("../bench/hea.ts")).runHeaBenchCommand(flags);
    if (!["kernels", "train", "design", "md", "all"].includes(suite)) {
      throw new UserError(`--suite: expected kernels, train, design, md, hea or all, got '${suite}'`);
    }
    const be = await openDevice(flags);
    if (!(be instanceof WebGpuBackend)) {
      throw new UserError("bench needs the WebGPU device (kernels are compared against the CPU backend)");
    }
    const progress = (l: string) => console.error(l);
    const quick = !!flags.quick;
    const results: BenchResult[] = [];
    if (suite === "kernels" || suite === "all") results.push(...await benchKernels(be, quick, progress));
    if (suite === "train" || suite === "all") results.push(...await benchTrain(be, quick, progress));
    if (suite === "design" || suite === "all") results.push(...await benchDesign(be, quick, progress));
    if (suite === "md" || suite === "all") results.push(...await benchMd(be, quick, progress));
    const report = { adapter: be.ctx.adapter, results };
    if (flags.json) console.log(JSON.stringify(report));
    else {
      console.log(`adapter: ${be.ctx.adapter.description} (fallback: ${be.ctx.adapter.isFallbackAdapter})`);
      for (const r of results) {
        console.log(
          `${r.suite.padEnd(8)} ${r.name.padEnd(18)} ${JSON.stringify(r.shape).padEnd(22)} ${
            r.median_ms.toFixed(3).padStart(10)
          } ms${r.gflops !== undefined ? `  ${r.gflops.toFixed(1).padStart(8)} GFLOP/s` : ""}${
            r.max_rel_err !== undefined ? `  err ${r.max_rel_err}` : ""
          }${r.atoms_per_s !== undefined ? `  ${r.atoms_per_s} atoms/s (${r.config})` : ""}`,
        );
      }
    }
    return 0;
  },
};
