/**
 * What the build hands the page's script: the sale as it was when the page was
 * pre-rendered, and where to find the API. Written into the HTML as JSON once, read by
 * the script once; the same type on both sides keeps them from drifting.
 */
export type PageItem = {
  sku_id: string;
  name: string;
  flash_price: string;
  original_price: string;
  total_stock: number;
  remaining: number;
  per_user_limit: number;
};

export type PageConfig = {
  sale_id: string;
  name: string;
  start_ms: number;
  end_ms: number;
  pre_queue_minutes: number;
  status: string;
  currency: string;
  /** Origin of the API ("" for the page's own origin). */
  api_base: string;
  /** "off": the server ignores captcha_token (local CAPTCHA_MODE=off); otherwise the Turnstile sitekey. */
  captcha: { mode: "off" } | { mode: "turnstile"; sitekey: string };
  items: PageItem[];
};

/** The id of the <script type="application/json"> element the config lives in. */
export const CONFIG_ELEMENT_ID = "sale-config";

/** Where the shopper's session JWT is kept between pages (see docs/page.md). */
export const SESSION_STORAGE_KEY = "flashsale.session";
