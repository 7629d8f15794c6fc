import { native } from './native.js';
import type { Tensor } from './tensor.js';
import { wrapAsync } from './errors.js';

export { noGrad, enableGrad, isGradEnabled } from './grad-mode.js';

/**
 * Back-propagates from `root` (a one-element loss, or any tensor with `grad` of its shape;
 * or several roots with one gradient each, summed) and adds the gradients into `.grad` of every leaf that requires grad.
 */
export async function backward(root: Tensor | Tensor[], grad?: Tensor | (Tensor | null)[]): Promise<void> {
  const roots = Array.isArray(root) ? root : [root];
  const grads = grad === undefined ? roots.map(() => null) : Array.isArray(grad) ? grad : [grad];
  await wrapAsync(() =>
    native.backward(
      roots.map((r) => r.native),
      grads.map((g) => (g ? g.native : null)),
    ),
  );
}
