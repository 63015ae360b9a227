/**
 * Every operation's implementation, by the name the operation table declares it under: the compiler
 * checks that each declared operation has exactly one.
 */
import type { Implementations } from '../runner';
import { ARCHIVE } from './archive';
import { AUDIT } from './audit';
import { KEYS } from './keys';
import { LISTING } from './listing';
import { REPORTS } from './reports';
import { RESOLVE } from './resolve';
import { SECRETS } from './secrets';
import { TOKENS } from './tokens';
import { VERSIONS } from './versions';

export const IMPLEMENTATIONS: Implementations = {
	...SECRETS,
	...LISTING,
	...VERSIONS,
	...RESOLVE,
	...REPORTS,
	...AUDIT,
	...ARCHIVE,
	...TOKENS,
	...KEYS,
};
