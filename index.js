// n8n loads nodes and credentials from the paths in package.json's "n8n" field; this entry exists for
// tools that require the package itself.
module.exports = {};
