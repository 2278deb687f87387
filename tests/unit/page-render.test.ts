import { describe, expect, it } from "vitest";
import { headersFile } from "../../static-site/headers";
import { escapeHtml, jsonForScript, renderSalePage } from "../../static-site/render";
import { pageConfigFor } from "../../static-site/sale-definition";

const sale = {
  sale_id: "7b0c5a3e-0000-4000-8000-000000000001",
  name: "Phones <half> price",
  start_time: "2026-03-14T11:00:00Z",
  end_time: "2026-03-14T12:00:00Z",
  items: [
    {
      sku_id: "SKU-FLASH-1",
      name: "iPhone 16",
      flash_price: "499.00",
      original_price: "999.00",
      total_stock: 1000,
      per_user_limit: 2,
    },
  ],
};
const assets = { js: "/assets/sale-abc.js", css: "/assets/sale-def.css" };

describe("the sale page is pre-rendered: the first paint needs no API call", () => {
  const config = pageConfigFor(sale, { apiBase: "", currency: "USD", captcha: { mode: "off" } });
  const html = renderSalePage(config, assets);

  it("carries the sale's name, items, prices, stock and start time in the HTML", () => {
    expect(html).toContain("Phones &lt;half&gt; price");
    expect(html).toContain("iPhone 16");
    expect(html).toContain("$499.00");
    expect(html).toContain("$999.00");
    expect(html).toContain("50% off");
    expect(html).toContain("1,000</span> of 1,000 left");
    expect(html).toContain('datetime="2026-03-14T11:00:00.000Z"');
    expect(html).toContain("14 Mar 2026, 11:00 UTC");
  });

  it("labels every control and has live regions for queue changes", () => {
    expect(html).toMatch(/<label for="item-0-qty">Quantity<\/label>\s*<select id="item-0-qty"/);
    expect(html).toContain('aria-live="polite"');
    expect(html).toContain('role="alert"');
    expect(html).toContain('role="timer"');
  });

  it("pre-renders the captcha flag the script obeys", () => {
    expect(html).toContain('data-captcha="off"');
    const withTurnstile = renderSalePage(
      pageConfigFor(sale, {
        apiBase: "",
        currency: "USD",
        captcha: { mode: "turnstile", sitekey: "1x00000000000000000000AA" },
      }),
      assets,
    );
    expect(withTurnstile).not.toContain('data-captcha="off"');
    expect(withTurnstile).toContain("1x00000000000000000000AA");
  });

  it("cannot be broken out of by a sale name", () => {
    const evil = pageConfigFor(
      { ...sale, name: "</script><script>alert(1)</script>" },
      { apiBase: "", currency: "USD", captcha: { mode: "off" } },
    );
    const page = renderSalePage(evil, assets);
    expect(page).not.toContain("<script>alert(1)");
    expect(jsonForScript({ a: "</script>" })).not.toContain("</");
    expect(escapeHtml(`"'&`)).toBe("&quot;&#39;&amp;");
  });

  it("refuses a sale id that cannot be a safe path, and a sale without items", () => {
    const opts = { apiBase: "", currency: "USD", captcha: { mode: "off" } as const };
    expect(() => pageConfigFor({ ...sale, sale_id: "../../etc" }, opts)).toThrow();
    expect(() => pageConfigFor({ ...sale, items: [] }, opts)).toThrow();
  });
});

describe("cache rules: HTML short-cached, hashed assets immutable", () => {
  it("caches hashed assets for a year and sale pages briefly", () => {
    const h = headersFile();
    expect(h).toMatch(/\/assets\/\*\n\s+Cache-Control: public, max-age=31536000, immutable/);
    expect(h).toMatch(/\/sales\/\*\n\s+Cache-Control: public, max-age=30,/);
  });
});
