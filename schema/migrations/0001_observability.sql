ALTER TABLE "flash_sale_orders" ADD COLUMN "request_id" varchar(64);--> statement-breakpoint
ALTER TABLE "flash_sales" ADD COLUMN "admission_paused_at" timestamp with time zone;