#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm ci` (prepare), so no global install is needed.
import '../dist/cli/index.js';
