/** Device layer: loss of the device surfaces as a clear error (never a hang); validation errors are reported. */
import { assert, assertMatch, HAS_GPU } from "../_helpers.ts";
import { createGpuContext, DeviceError } from "../../kernels/device.ts";
import { WebGpuBackend } from "../../nn/webgpu_backend.ts";

Deno.test({
  name: "device: a destroyed device makes read() and sync() reject with DeviceError instead of hanging",
  ignore: !HAS_GPU,
  async fn() {
    const ctx = await createGpuContext();
    const be = new WebGpuBackend(ctx);
    const x = be.fromData([1, 2, 3], [3]);
    assert((await x.read())[2] === 3);
    ctx.device.destroy();
    const y = be.unary("exp", x);
    let err: unknown = null;
    const t0 = performance.now();
    try {
      await y.read();
    } catch (e) {
      err = e;
    }
    assert(err instanceof DeviceError, `expected DeviceError, got ${err}`);
    assertMatch((err as Error).message, /lost|destroyed/i);
    assert(performance.now() - t0 < 5000, "rejected promptly");
    let err2: unknown = null;
    try {
      be.unary("exp", x);
      await be.sync();
    } catch (e) {
      err2 = e;
    }
    assert(err2 instanceof DeviceError);
  },
});

Deno.test({
  name: "device: adapter description and fallback flag are reported",
  ignore: !HAS_GPU,
  async fn() {
    const be = await WebGpuBackend.create();
    assert(be.ctx.adapter.description.length > 0);
    assert(typeof be.ctx.adapter.isFallbackAdapter === "boolean");
  },
});
