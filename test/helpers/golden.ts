/**
 * Where the project's shared folder is: `../shared` beside the checkout (its golden reference
 * fixtures in `golden/`), or VLV_SHARED_DIR when set (.ci/run sets it for a clone made away
 * from the project folder). Tests fail, never skip, when the folder is missing.
 */
import { join } from 'node:path';

export const sharedDir = process.env.VLV_SHARED_DIR ?? join(import.meta.dirname, '..', '..', '..', 'shared');

/** A path inside shared/golden. */
export const goldenPath = (...parts: string[]): string => join(sharedDir, 'golden', ...parts);
