#!/usr/bin/env node
// validate.js - validates an OpenAPI 3.1 document (default: the repository's openapi.yaml).
//   1. @apidevtools/swagger-parser: the official OpenAPI 3.1 JSON Schema, and every $ref
//      resolves;
//   2. what that schema leaves out for 3.1: every Schema Object (components and inline, found
//      by walking the document) is a valid JSON Schema 2020-12 (ajv's meta-schema), operationIds
//      are unique, every {template} of a path has a path parameter and the reverse.
// usage: node tools/openapi/validate.js [openapi.yaml]; `npm ci` in tools/openapi first
// (tools/install-deps test does it).
'use strict';
const path = require('path');
let SwaggerParser, Ajv2020;
try {
  SwaggerParser = require('@apidevtools/swagger-parser');
  Ajv2020 = require('ajv/dist/2020');
} catch (e) {
  console.error('validate.js: @apidevtools/swagger-parser is missing; run tools/install-deps test ' +
                '(or `npm ci` in tools/openapi)');
  process.exit(2);
}
const file = process.argv[2] || path.join(__dirname, '..', '..', 'openapi.yaml');
const HTTP = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// Every Schema Object of the (not dereferenced) document, with its JSON pointer.
function schemas(api) {
  const out = [];
  const visit = (node, where, isSchema) => {
    if (!node || typeof node !== 'object') return;
    if (isSchema) {
      out.push([where, node]);
      return;
    }
    for (const [k, v] of Object.entries(node)) {
      const here = `${where}/${k}`;
      if (k === 'schema' || (where === '#/components/schemas')) visit(v, here, true);
      else if (k === 'properties' && where.endsWith('/content/multipart/form-data/schema')) {
        visit(v, here, false);
      } else visit(v, here, false);
    }
  };
  visit(api, '#', false);
  return out;
}

function checkSchemas(api, errors) {
  const ajv = new Ajv2020({strict: false, validateFormats: false});
  for (const [where, s] of schemas(api)) {
    if (!ajv.validateSchema(s)) {
      for (const e of ajv.errors) errors.push(`${where}${e.instancePath}: ${e.message}`);
    }
  }
}

function checkOperations(api, errors) {
  const seen = new Map();
  for (const [p, item] of Object.entries(api.paths)) {
    const templated = new Set([...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]));
    for (const verb of HTTP) {
      const op = item[verb];
      if (!op) continue;
      if (op.operationId) {
        if (seen.has(op.operationId)) {
          errors.push(`operationId ${op.operationId} on ${verb} ${p} and ${seen.get(op.operationId)}`);
        }
        seen.set(op.operationId, `${verb} ${p}`);
      }
      const params = [...(item.parameters || []), ...(op.parameters || [])]
        .filter((x) => x.in === 'path').map((x) => x.name);
      for (const t of templated) {
        if (!params.includes(t)) errors.push(`${verb} ${p}: no path parameter {${t}}`);
      }
      for (const n of params) {
        if (!templated.has(n)) errors.push(`${verb} ${p}: path parameter ${n} not in the path`);
      }
    }
  }
}

async function main() {
  let api;
  try {
    await SwaggerParser.validate(file);
    api = await SwaggerParser.parse(file);
  } catch (err) {
    console.error(`validate.js: ${file}: INVALID: ${err.message}`);
    process.exit(1);
  }
  const errors = [];
  checkSchemas(api, errors);
  // Path items and parameters may be $refs: check operations on the dereferenced document.
  const full = await SwaggerParser.dereference(file);
  checkOperations(full, errors);
  if (errors.length) {
    for (const e of errors) console.error(`validate.js: ${file}: INVALID: ${e}`);
    process.exit(1);
  }
  const ops = Object.entries(full.paths)
    .flatMap(([p, item]) => Object.keys(item).filter((k) => HTTP.includes(k))
      .map((k) => `${k.toUpperCase()} ${p}`));
  console.log(`validate.js: ${file}: valid OpenAPI ${api.openapi}, ` +
              `${Object.keys(api.paths).length} paths, ${ops.length} operations, ` +
              `${schemas(api).length} schemas`);
  if (process.env.VERBOSE) console.log(ops.join('\n'));
}
main();
