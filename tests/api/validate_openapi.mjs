// Run by validate_openapi.sh from its npm cache directory (so the imports resolve there).
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

const addFormats = addFormatsModule.default ?? addFormatsModule;
const pointer = (parts) => "#" + parts.map((p) => "/" + String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("");

let failed = false;
const validator = new Validator();  // one instance: the OpenAPI schema is compiled once
for (const file of process.argv.slice(2)) {
  const problems = [];
  const spec = JSON.parse(readFileSync(file, "utf8"));
  const res = await validator.validate(structuredClone(spec));
  if (!res.valid) {
    problems.push("not valid against the OpenAPI " + validator.version + " schema:\n" + JSON.stringify(res.errors, null, 2));
  } else if (validator.version !== "3.1") {
    problems.push("expected OpenAPI 3.1, found " + validator.version);
  }

  // Every schema object, compiled in the document's context; every example against its schema.
  const ajv = new Ajv2020({ strict: false, allErrors: true, formats: { password: true } });
  addFormats(ajv);
  const base = "plinth-openapi.json";
  ajv.addSchema(spec, base);
  const check = (label, parts, value) => {
    let validate;
    try {
      validate = ajv.getSchema(base + pointer(parts));  // compiled once, cached by Ajv
      if (!validate) throw new Error("no schema at " + pointer(parts));
    } catch (e) {
      problems.push(`${label}: the schema does not compile: ${e.message}`);
      return;
    }
    if (value !== undefined && !validate(value)) {
      problems.push(`${label}: the example does not match its schema: ${JSON.stringify(validate.errors)}`);
    }
  };
  let schemas = 0, examples = 0;
  for (const name of Object.keys(spec.components?.schemas ?? {})) {
    check(`components.schemas.${name}`, ["components", "schemas", name]);
    schemas++;
  }
  const media = (label, parts, m) => {
    if (!m.schema) return;
    check(label, [...parts, "schema"], undefined);
    schemas++;
    if ("example" in m) { check(label + " example", [...parts, "schema"], m.example); examples++; }
    for (const [k, ex] of Object.entries(m.examples ?? {})) {
      if ("value" in ex) { check(`${label} example ${k}`, [...parts, "schema"], ex.value); examples++; }
    }
  };
  const param = (label, parts, p) => {
    if (!p.schema) return;
    schemas++;
    let value = p.example;
    // Query parameters are strings on the wire; an integer schema's example may be a number.
    check(label, [...parts, "schema"], value);
    if (value !== undefined) examples++;
  };
  for (const [name, p] of Object.entries(spec.components?.parameters ?? {})) param(`parameter ${name}`, ["components", "parameters", name], p);
  for (const [name, r] of Object.entries(spec.components?.responses ?? {})) {
    for (const [type, m] of Object.entries(r.content ?? {})) media(`response ${name} ${type}`, ["components", "responses", name, "content", type], m);
  }
  for (const [path, item] of Object.entries(spec.paths ?? {})) {
    (item.parameters ?? []).forEach((p, i) => { if (!p.$ref) param(`${path} parameter ${p.name}`, ["paths", path, "parameters", i], p); });
    for (const method of ["get", "put", "post", "delete", "options", "head", "patch", "trace"]) {
      const op = item[method];
      if (!op) continue;
      const where = `${method.toUpperCase()} ${path}`;
      (op.parameters ?? []).forEach((p, i) => { if (!p.$ref) param(`${where} parameter ${p.name}`, ["paths", path, method, "parameters", i], p); });
      for (const [type, m] of Object.entries(op.requestBody?.content ?? {})) media(`${where} request ${type}`, ["paths", path, method, "requestBody", "content", type], m);
      for (const [code, r] of Object.entries(op.responses ?? {})) {
        for (const [type, m] of Object.entries(r.content ?? {})) media(`${where} ${code} ${type}`, ["paths", path, method, "responses", code, "content", type], m);
      }
    }
  }
  if (problems.length) {
    failed = true;
    console.error(`${file}: INVALID`);
    for (const p of problems) console.error("  " + p);
  } else {
    console.log(`${file}: valid OpenAPI ${spec.openapi}; ${schemas} schemas compiled, ${examples} examples checked`);
  }
}
process.exit(failed ? 1 : 0);
