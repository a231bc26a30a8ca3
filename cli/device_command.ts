/**
 * `alloy device`: shows which compute device would be used, the adapter and its limits.
 * @module
 */
import type { Command } from "./args.ts";
import { deviceLine, openDevice } from "./device_flags.ts";
import { WebGpuBackend } from "../nn/webgpu_backend.ts";

/** The `device` subcommand. */
export const deviceCommand: Command = {
  name: "device",
  summary: "show the compute device, its adapter and limits",
  flags: { json: { type: "boolean", help: "print one JSON object" } },
  async run(flags) {
    const be = await openDevice(flags);
    const info: Record<string, unknown> = { kind: be.kind, description: be.description };
    if (be instanceof WebGpuBackend) {
      info.adapter = be.ctx.adapter;
      const l = be.ctx.limits;
      info.limits = {
        maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      };
      info.features = [...be.ctx.features].sort();
    }
    if (flags.json) console.log(JSON.stringify(info));
    else {
      console.log(deviceLine(be));
      if (info.limits) { for (const [k, v] of Object.entries(info.limits)) console.log(`  ${k}: ${v}`); }
    }
    return 0;
  },
};
