// Fails when the client generated from the committed OpenAPI document differs from the
// committed src/api/schema.ts (regenerate with `npm run gen:api`).
import { readFileSync, rmSync } from "node:fs";

const [fresh, committed] = process.argv.slice(2);
const a = readFileSync(fresh, "utf8");
const b = readFileSync(committed, "utf8");
rmSync(fresh);
if (a !== b) {
  console.error(`${committed} is out of date with ../api/openapi.json: run \`npm run gen:api\` and commit it.`);
  process.exit(1);
}
console.log(`${committed} matches ../api/openapi.json`);
