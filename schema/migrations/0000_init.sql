CREATE TYPE "public"."order_status" AS ENUM('reserved', 'paid', 'cancelled', 'expired');--> statement-breakpoint
CREATE TYPE "public"."pre_queue_mode" AS ENUM('fifo', 'random');--> statement-breakpoint
CREATE TYPE "public"."sale_status" AS ENUM('scheduled', 'active', 'sold_out', 'ended', 'cancelled');--> statement-breakpoint
CREATE TABLE "flash_sale_items" (
	"sale_id" uuid NOT NULL,
	"sku_id" varchar(50) NOT NULL,
	"name" varchar(255) NOT NULL,
	"flash_price" numeric(10, 2) NOT NULL,
	"original_price" numeric(10, 2) NOT NULL,
	"total_stock" integer NOT NULL,
	"per_user_limit" integer DEFAULT 2 NOT NULL,
	"sold_count" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "flash_sale_items_sale_id_sku_id_pk" PRIMARY KEY("sale_id","sku_id"),
	CONSTRAINT "flash_sale_items_stock_positive" CHECK ("flash_sale_items"."total_stock" > 0),
	CONSTRAINT "flash_sale_items_prices" CHECK ("flash_sale_items"."flash_price" > 0 and "flash_sale_items"."flash_price" <= "flash_sale_items"."original_price"),
	CONSTRAINT "flash_sale_items_limit" CHECK ("flash_sale_items"."per_user_limit" >= 1)
);
--> statement-breakpoint
CREATE TABLE "flash_sale_orders" (
	"order_id" uuid PRIMARY KEY NOT NULL,
	"sale_id" uuid NOT NULL,
	"user_id" varchar(128) NOT NULL,
	"sku_id" varchar(50) NOT NULL,
	"quantity" integer NOT NULL,
	"price" numeric(10, 2) NOT NULL,
	"status" "order_status" DEFAULT 'reserved' NOT NULL,
	"reservation_token" varchar(64) NOT NULL,
	"idempotency_key" varchar(255),
	"device_fingerprint" varchar(255),
	"payment_deadline" timestamp with time zone NOT NULL,
	"reserved_at" timestamp with time zone NOT NULL,
	"paid_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	"expired_at" timestamp with time zone,
	"cancel_reason" varchar(64),
	"payment_method_fingerprint" varchar(255),
	"shipping_address" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "flash_sale_orders_quantity_positive" CHECK ("flash_sale_orders"."quantity" > 0)
);
--> statement-breakpoint
CREATE TABLE "flash_sales" (
	"sale_id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" varchar(255) NOT NULL,
	"start_time" timestamp with time zone NOT NULL,
	"end_time" timestamp with time zone NOT NULL,
	"status" "sale_status" DEFAULT 'scheduled' NOT NULL,
	"pre_queue_minutes" integer NOT NULL,
	"pre_queue_mode" "pre_queue_mode" NOT NULL,
	"admission_rate_per_second" integer NOT NULL,
	"expected_shoppers" integer NOT NULL,
	"safety_buffer_percent" numeric(5, 2) NOT NULL,
	"payment_deadline_seconds" integer NOT NULL,
	"prewarmed_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "flash_sales_window" CHECK ("flash_sales"."end_time" > "flash_sales"."start_time"),
	CONSTRAINT "flash_sales_rate_positive" CHECK ("flash_sales"."admission_rate_per_second" > 0)
);
--> statement-breakpoint
ALTER TABLE "flash_sale_items" ADD CONSTRAINT "flash_sale_items_sale_id_flash_sales_sale_id_fk" FOREIGN KEY ("sale_id") REFERENCES "public"."flash_sales"("sale_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flash_sale_orders" ADD CONSTRAINT "flash_sale_orders_sale_id_flash_sales_sale_id_fk" FOREIGN KEY ("sale_id") REFERENCES "public"."flash_sales"("sale_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "flash_sale_orders_reservation_token_idx" ON "flash_sale_orders" USING btree ("reservation_token");--> statement-breakpoint
CREATE INDEX "idx_sale_user" ON "flash_sale_orders" USING btree ("sale_id","user_id");--> statement-breakpoint
CREATE INDEX "flash_sale_orders_sale_status_idx" ON "flash_sale_orders" USING btree ("sale_id","status");--> statement-breakpoint
CREATE INDEX "flash_sale_orders_sale_reserved_at_idx" ON "flash_sale_orders" USING btree ("sale_id","reserved_at");--> statement-breakpoint
CREATE INDEX "flash_sales_start_time_idx" ON "flash_sales" USING btree ("start_time");