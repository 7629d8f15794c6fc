// vae: diffusers AutoencoderKL. cases.json names the component 'autoencoder_kl' (the golden
// folder is vae/); both names load the engine's "vae" model. Besides the golden's calls,
// vae.encode_backward / vae.decode_backward check gradients w.r.t. the image / the latent
// (parameters frozen), as the folders of scripts/models/gen_vae.py record them.
import { backward } from '../autograd.js';
import { AutoencoderKL } from '../models/autoencoder-kl.js';
import type { Tensor } from '../tensor.js';
import { registerComponent, type ComponentLoader } from './registry.js';

function leaf(t: Tensor): Tensor {
  const x = t.detach();
  x.requiresGrad = true;
  return x;
}

const load: ComponentLoader = async (folder, options) => {
  const model = await AutoencoderKL.load(folder, { device: options.device ?? 'cpu' });
  return {
    runners: {
      'vae.encode': async (_spec, inputs) => {
        const out = await model.encode({ sample: inputs.sample!, noise: inputs.noise });
        return { mean: out.mean, logvar: out.logvar, ...(out.latentSample ? { latent_sample: out.latentSample } : {}) };
      },
      'vae.decode': async (_spec, inputs) => ({ ...(await model.decode({ latent: inputs.latent! })) }),
      'vae.encode_backward': async (_spec, inputs) => {
        const sample = leaf(inputs.sample!);
        const out = await model.encode({ sample, noise: inputs.noise });
        await backward(out.latentSample!, inputs.grad_output);
        return { grad_sample: sample.grad! };
      },
      'vae.decode_backward': async (_spec, inputs) => {
        const latent = leaf(inputs.latent!);
        const out = await model.decode({ latent });
        await backward(out.sample, inputs.grad_output);
        return { grad_latent: latent.grad! };
      },
    },
    dispose: () => model.dispose(),
  };
};

registerComponent('autoencoder_kl', load);
registerComponent('vae', load);
