#!/usr/bin/env node
// The installed `n8n-secrets` command. Plain JavaScript that any Node.js parses, so an older Node
// gets a sentence instead of ERR_UNKNOWN_BUILTIN_MODULE (the store needs node:sqlite, Node 24).
'use strict';

var major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
	process.stderr.write(
		'n8n-secrets needs Node.js 24 or later (this is Node ' +
			process.versions.node +
			' at ' +
			process.execPath +
			').\nRun it with Node.js 24, the version n8n 2.x runs on: <node 24> ' +
			__filename +
			' <command>\n',
	);
	process.exit(1);
}
require('../dist/src/cli/main.js');
