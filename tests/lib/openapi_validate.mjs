// node openapi_validate.mjs DOC ROUTES_C: the OpenAPI document is valid
// (two independent validators) and lists exactly the routes orchd's route
// table (tools/orchd/routes.c) serves. Exit 1 with every problem printed.
import { createRequire } from "module";
import fs from "fs";
const require = createRequire(process.env.NPM_TOOLS + "/node_modules/");
const SwaggerParser = require("@apidevtools/swagger-parser");
const { Validator } = require("@seriousme/openapi-schema-validator");
const YAML = require("yaml");

const [doc, routesC] = process.argv.slice(2);
const problems = [];
try {
  await SwaggerParser.validate(doc);
} catch (e) {
  problems.push("swagger-parser: " + e.message);
}
const r = await new Validator().validate(doc);
if (!r.valid) problems.push("openapi-schema-validator: " + JSON.stringify(r.errors, null, 1));

const api = YAML.parse(fs.readFileSync(doc, "utf8"));
const inDoc = new Set();
for (const [p, ops] of Object.entries(api.paths))
  for (const m of Object.keys(ops))
    if (["get", "post", "put", "delete", "patch"].includes(m)) inDoc.add(m.toUpperCase() + " " + p);
const inCode = new Set();
for (const m of fs.readFileSync(routesC, "utf8").matchAll(/\{"(GET|POST|PUT|DELETE|PATCH)", "([^"]+)"/g))
  inCode.add(m[1] + " " + m[2].replace(/\*\}/g, "}")); // a rest-of-path {x*} is {x}
for (const x of inCode) if (!inDoc.has(x)) problems.push("served but not documented: " + x);
for (const x of inDoc) if (!inCode.has(x)) problems.push("documented but not served: " + x);
if (inCode.size < 10) problems.push("found only " + inCode.size + " routes in " + routesC);
// Every operation answers with a documented body for each status.
for (const [p, ops] of Object.entries(api.paths))
  for (const [m, op] of Object.entries(ops))
    for (const [code, resp] of Object.entries(op.responses || {}))
      if (!resp.$ref && !resp.content) problems.push(`${m.toUpperCase()} ${p} ${code}: no content schema`);
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`ok: ${inCode.size} routes, documented and served`);
