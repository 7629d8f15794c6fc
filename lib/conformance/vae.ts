// vae: diffusers AutoencoderKL. cases.json names the component 'autoencoder_kl' (the golden
// folder is vae/); both names load the engine's "vae" model.
import { Model } from '../models/model.js';
import { registerComponent, type ComponentLoader } from './registry.js';

const load: ComponentLoader = async (folder) => {
  const model = await Model.load('vae', folder);
  return {
    runners: {
      'vae.encode': (_spec, inputs) => model.run('encode', inputs),
      'vae.decode': (_spec, inputs) => model.run('decode', inputs),
    },
    dispose: () => model.dispose(),
  };
};

registerComponent('autoencoder_kl', load);
registerComponent('vae', load);
