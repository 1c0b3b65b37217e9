// cdktf's Jest matchers (toHaveResourceWithProperties, toHaveProviderWithProperties, ...).
import { Testing } from 'cdktf';
// Their type declarations, for `tsc --noEmit`.
import type {} from 'cdktf/lib/testing/adapters/jest';

Testing.setupJest();
