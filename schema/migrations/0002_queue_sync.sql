ALTER TABLE "flash_sales" ADD COLUMN "shards" integer;--> statement-breakpoint
ALTER TABLE "flash_sales" ADD COLUMN "queue_synced_at" timestamp with time zone;