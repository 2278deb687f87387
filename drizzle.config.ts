import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./schema/schema.ts",
  out: "./schema/migrations",
  strict: true,
});
