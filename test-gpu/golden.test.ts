/**
 * The reference fixtures of ../shared/golden/ on CUDA. Every golden model (CLIP text, Qwen2,
 * Florence-2, UNet, VAE) runs attention or conv2d, which are CUDA part 2, and the
 * conformance runner has no device option yet: recorded as todo until part 2 lands.
 */
import test from 'ava';

test.todo('golden conformance on CUDA (needs attention and conv2d on CUDA: part 2, and a device option in runConformance)');
