// node validate.mjs FILE: parse an AsyncAPI document with the official parser; print every diagnostic, exit 1 on
// an error (severity 0) or when no document comes out. Offline: the document has no external references.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const { document, diagnostics } = await new Parser().parse(readFileSync(process.argv[2], "utf8"));
for (const d of diagnostics) console.log(`${d.severity} ${d.code} ${d.path.join(".")}: ${d.message}`);
const errors = diagnostics.filter((d) => d.severity === 0).length;
console.log(document && errors === 0 ? "valid" : `INVALID (${errors} error(s))`);
process.exit(document && errors === 0 ? 0 : 1);
